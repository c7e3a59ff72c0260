"""The Experiments resource (``/console/v1/experiments``) and ``GET /exposure_count``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request

from lockgate.domains.experiments import documents, exposures, lifecycle, overrides, service
from lockgate.domains.experiments.repository import ExperimentFilter
from lockgate.domains.experiments.schemas import (
    AbandonIn,
    ArchiveIn,
    DecisionIn,
    ExperimentCreate,
    ExperimentFullUpdate,
    ExperimentPartialUpdate,
    GroupNamesIn,
    NameIn,
    OverridesIn,
    ResolveAlertIn,
    ScheduleIn,
    StartIn,
)
from lockgate.domains.pulse import service as pulse_service
from lockgate.domains.pulse.schemas import LoadPulseIn
from lockgate.domains.pulse.warehouse_loads import is_bound
from lockgate.domains.reviews.service import with_active_review, with_active_reviews
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import (
    Page,
    message_only,
    multi_value,
    page_params,
    paginated,
    single,
)
from lockgate.faces.console.filters import experiment_filter

router = APIRouter(tags=["Experiments"])

BASE = "/experiments"
READ = "Experiment read successfully."
UPDATED = "Experiment updated successfully."
OVERRIDES_READ = "Experiment Overrides read successfully."
OVERRIDES_UPDATED = "Experiment Overrides updated successfully."
PULSE_FLAGS = (
    "control",
    "test",
    "cuped",
    "confidence",
    "applyBonferroniPerVariant",
    "applyBonferroniPerMetric",
    "bonferroniPrimaryMetricWeight",
    "applyBenjaminiHochbergPerMetric",
    "applyBenjaminiHochbergPerVariant",
    "date",
    "view",  # Lockgate: cumulative (default), daily, days_since_exposure or rolling
    "day",  # Lockgate: the day of the days_since_exposure view (0 by default)
    "window",  # Lockgate: the days of the rolling view: 7 (default), 14 or 28
    "bayesian",  # Lockgate: the Bayesian view; by default on for Bayesian experiments
)


@router.get(BASE)
def list_experiments(
    ctx: Console,
    request: Request,
    page: Page = Depends(page_params),
    flt: ExperimentFilter = Depends(experiment_filter),
) -> dict[str, Any]:
    data, total = service.list_(
        ctx.session, ctx.project_id, flt, offset=page.offset, limit=page.limit
    )
    data = with_active_reviews(ctx.session, ctx.project_id, "experiment", data)
    return paginated("Experiments listed successfully.", data, total, page, request)


@router.post(BASE, status_code=201)
def create_experiment(ctx: Console, body: ExperimentCreate) -> dict[str, Any]:
    return single("Experiment created successfully.", service.create(ctx.session, ctx.change, body))


@router.get(BASE + "/{id}")
def read_experiment(ctx: Console, id: str) -> dict[str, Any]:
    return single(
        READ,
        with_active_review(
            ctx.session, ctx.project_id, "experiment", service.read(ctx.session, ctx.project_id, id)
        ),
    )


@router.post(BASE + "/{id}")
def full_update_experiment(ctx: Console, id: str, body: ExperimentFullUpdate) -> dict[str, Any]:
    return single(UPDATED, service.replace(ctx.session, ctx.change, id, body))


@router.patch(BASE + "/{id}")
def partial_update_experiment(
    ctx: Console, id: str, body: ExperimentPartialUpdate
) -> dict[str, Any]:
    return single(UPDATED, service.patch(ctx.session, ctx.change, id, body))


@router.delete(BASE + "/{id}")
def delete_experiment(ctx: Console, id: str) -> dict[str, Any]:
    return single("Experiment deleted successfully.", service.delete(ctx.session, ctx.change, id))


@router.put(BASE + "/{id}/start")
def start_experiment(ctx: Console, id: str, body: StartIn | None = None) -> dict[str, Any]:
    lifecycle.start(ctx.session, ctx.change, id, body)
    return message_only("Experiment successfully started.")


@router.post(BASE + "/{id}/schedule_start")
def schedule_experiment_start(ctx: Console, id: str, body: ScheduleIn) -> dict[str, Any]:
    lifecycle.schedule_start(ctx.session, ctx.change, id, body)
    return message_only("Successfully scheduled experiment start")


@router.put(BASE + "/{id}/make_decision")
def make_decision(ctx: Console, id: str, body: DecisionIn) -> dict[str, Any]:
    lifecycle.make_decision(ctx.session, ctx.change, id, body)
    return message_only("Decision made for Experiment.")


@router.put(BASE + "/{id}/abandon")
def abandon_experiment(ctx: Console, id: str, body: AbandonIn) -> dict[str, Any]:
    lifecycle.abandon(ctx.session, ctx.change, id, body)
    return message_only("Experiment successfully abandoned.")


@router.put(BASE + "/{id}/reset")
def reset_experiment(ctx: Console, id: str) -> dict[str, Any]:
    lifecycle.reset(ctx.session, ctx.change, id)
    return message_only("Experiment successfully restarted.")


@router.post(BASE + "/{id}/restart_as_new")
def restart_as_new(ctx: Console, id: str, body: NameIn) -> dict[str, Any]:
    data = lifecycle.restart_as_new(ctx.session, ctx.change, id, body)
    return single("Restart As New Experiment Success", data)


@router.put(BASE + "/{id}/archive")
def archive_experiment(ctx: Console, id: str, body: ArchiveIn | None = None) -> dict[str, Any]:
    lifecycle.archive(ctx.session, ctx.change, id, body or ArchiveIn())
    return message_only("Experiment successfully archived.")


@router.put(BASE + "/{id}/unarchive")
def unarchive_experiment(ctx: Console, id: str) -> dict[str, Any]:
    lifecycle.unarchive(ctx.session, ctx.change, id)
    return message_only("Experiment successfully unarchived.")


@router.post(BASE + "/{id}/enable_groups", status_code=201)
def enable_groups(ctx: Console, id: str, body: GroupNamesIn) -> dict[str, Any]:
    data = lifecycle.enable_groups(ctx.session, ctx.change, id, body)
    return single("Experiment groups enabled successfully.", data)


@router.post(BASE + "/{id}/disable_groups", status_code=201)
def disable_groups(ctx: Console, id: str, body: GroupNamesIn) -> dict[str, Any]:
    data = lifecycle.disable_groups(ctx.session, ctx.change, id, body)
    return single("Experiment groups disabled successfully.", data)


@router.get(BASE + "/{id}/overrides")
def read_overrides(ctx: Console, id: str) -> dict[str, Any]:
    return single(OVERRIDES_READ, overrides.read(ctx.session, ctx.project_id, id))


@router.post(BASE + "/{id}/overrides")
def replace_overrides(ctx: Console, id: str, body: OverridesIn) -> dict[str, Any]:
    return single(OVERRIDES_UPDATED, overrides.replace(ctx.session, ctx.change, id, body))


@router.patch(BASE + "/{id}/overrides")
def add_overrides(ctx: Console, id: str, body: OverridesIn) -> dict[str, Any]:
    return single(OVERRIDES_UPDATED, overrides.add(ctx.session, ctx.change, id, body))


@router.delete(BASE + "/{id}/overrides")
def delete_overrides(
    ctx: Console, id: str, body: OverridesIn | None = Body(None)
) -> dict[str, Any]:
    data = overrides.remove(ctx.session, ctx.change, id, body)
    return single("Experiment Overrides deleted successfully.", data)


@router.get(BASE + "/{id}/cumulative_exposures")
def cumulative_exposures(ctx: Console, id: str) -> dict[str, Any]:
    data = exposures.cumulative_exposures(ctx.session, ctx.project_id, id)
    return single("Successfully loaded Cumulative Exposures", data)


@router.get(BASE + "/{id}/pulse_results")
def pulse_results(ctx: Console, id: str, request: Request) -> dict[str, Any]:
    query = {name: request.query_params.get(name) for name in PULSE_FLAGS}
    document = documents.load(ctx.session, ctx.project_id, id).document
    data = pulse_service.experiment_results(
        ctx.session, ctx.project_id, document, query, ctx.now_ms()
    )
    return single("Successfully loaded Pulse Results", data)


@router.post(BASE + "/{id}/load_pulse", tags=["Experiments (Warehouse Native)"])
def load_pulse(
    ctx: Console, id: str, request: Request, body: LoadPulseIn | None = Body(None)
) -> dict[str, Any]:
    document = documents.load(ctx.session, ctx.project_id, id).document
    refresh = pulse_service.refresh_type(request.query_params.get("refresh"))
    sent = pulse_service.turbo_flag(request.query_params.get("turboMode"))
    if sent is None and body is not None:
        sent = body.turbo_mode
    turbo = lifecycle.turbo_mode(ctx.session, ctx.change, id, sent)
    pulse_service.load(
        ctx.session,
        ctx.change,
        "experiment",
        id,
        body,
        refresh=refresh,
        metric_ids=request.query_params.getlist("metricIDs"),
        analysed=pulse_service.analysed_metrics(document, "primaryMetrics", "secondaryMetrics"),
        turbo=turbo and is_bound(document),
    )
    return message_only("Experiment is loading.")


@router.get(BASE + "/{id}/pulse_load_history", tags=["Experiments (Warehouse Native)"])
def pulse_load_history(
    ctx: Console, id: str, request: Request, page: Page = Depends(page_params)
) -> dict[str, Any]:
    documents.load(ctx.session, ctx.project_id, id)
    data, total = pulse_service.list_loads(
        ctx.session, ctx.project_id, "experiment", id, offset=page.offset, limit=page.limit
    )
    return paginated("Pulse load history listed successfully.", data, total, page, request)


@router.get(BASE + "/{id}/pulse_load_history/{dagID}", tags=["Experiments (Warehouse Native)"])
def pulse_load_details(ctx: Console, id: str, dagID: str) -> dict[str, Any]:
    documents.load(ctx.session, ctx.project_id, id)
    data = pulse_service.load_details(ctx.session, ctx.project_id, "experiment", id, dagID)
    return single("Pulse load history read successfully.", data)


@router.post(
    BASE + "/{id}/pulse_load_history/{dagID}/cancel", tags=["Experiments (Warehouse Native)"]
)
def cancel_pulse_load(ctx: Console, id: str, dagID: str) -> dict[str, Any]:
    row = documents.load(ctx.session, ctx.project_id, id)
    answer = pulse_service.cancel_load(
        ctx.session, ctx.change, "experiment", id, dagID, name=row.document["name"]
    )
    return message_only(answer)


@router.post(BASE + "/{id}/alerts/{metricId}/resolve")
def resolve_alert(ctx: Console, id: str, metricId: str, body: ResolveAlertIn) -> dict[str, Any]:
    data = exposures.resolve_alert(ctx.session, ctx.change, id, metricId, body)
    return single("Metric rollout alert resolved successfully.", data)


@router.get("/exposure_count", tags=["Configs"])
def exposure_count(ctx: Console, request: Request) -> dict[str, Any]:
    data = exposures.exposure_count(
        ctx.session,
        ctx.project_id,
        ctx.now_ms(),
        experiments=multi_value(request, "experiments"),
        gates=multi_value(request, "gates"),
        dynamic_configs=multi_value(request, "dynamicConfigs"),
    )
    return single("Exposure count fetched successfully.", data)
