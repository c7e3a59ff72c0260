"""Experiments: the catalog, Create, and the experiment page (setup, diagnostics with the
exposure stream, JSON). Every change goes through the experiments domain, as the Console API's
do, under the review rules; the setup forms (overrides and significance among them) are in
``experiment_setup.py``, the lifecycle bar in ``experiment_lifecycle.py``."""

from __future__ import annotations

import json
from typing import Any, Final
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lockgate.domains.environments import service as environments_service
from lockgate.domains.events import catalog as events_catalog
from lockgate.domains.experiments import exposures, overrides, service
from lockgate.domains.experiments.repository import ExperimentFilter
from lockgate.domains.experiments.schemas import ExperimentCreate
from lockgate.domains.gates import repository as gates_repository
from lockgate.domains.gates import service as gates_service
from lockgate.domains.layers import service as layers_service
from lockgate.domains.metrics import service as metrics_service
from lockgate.domains.metrics.sql import DAY_MS
from lockgate.errors import InvalidInput, LockgateError
from lockgate.faces.web import figures
from lockgate.faces.web.changes import REVIEW_NOTICE
from lockgate.faces.web.forms import disabled
from lockgate.faces.web.pages import (
    CHOICES_LIMIT,
    PAGE_SIZE,
    Filter,
    WebRoute,
    filter_bar,
    render,
    render_catalog,
    tag_filter,
    when,
)
from lockgate.faces.web.session import Web, WebContext

router = APIRouter(route_class=WebRoute)

STATUS_LABELS: Final = {
    "setup": "Setup",
    "active": "Active",
    "decision_made": "Decision made",
    "abandoned": "Abandoned",
    "archived": "Archived",
}
CHECK_LABELS: Final = {
    "WAITING": "Waiting",
    "PASSED": "Passed",
    "WARNING": "Warning",
    "FAILED": "Failed",
}
TABS: Final = ("setup", "diagnostics", "json")
PARAMETER_TYPES: Final = (
    ("string", "Text"),
    ("number", "Number"),
    ("boolean", "Boolean"),
    ("json", "JSON (object or array)"),
)
CONFIDENCE_LEVELS: Final = ("80", "90", "95", "98", "99")
ANALYTICS_TYPES: Final = (
    ("frequentist", "Frequentist"),
    ("bayesian", "Bayesian"),
    ("sprt", "Sequential probability ratio test (SPRT)"),
)
# The significance switches of the experiment entity, as (field, label).
SIGNIFICANCE_SWITCHES: Final = (
    ("sequentialTesting", "Sequential testing (valid confidence intervals while it runs)"),
    ("bonferroniCorrection", "Bonferroni correction across test groups"),
    ("bonferroniCorrectionPerMetric", "Bonferroni correction across primary metrics"),
    ("benjaminiHochbergPerVariant", "Benjamini-Hochberg across test groups"),
    ("benjaminiHochbergPerMetric", "Benjamini-Hochberg across metrics"),
    ("benjaminiPrimaryMetricsOnly", "Benjamini-Hochberg on primary metrics only"),
)
STREAM_ROWS: Final = 50
NEEDS_PRIMARY: Final = "Add a primary metric before starting: results are judged by it."
ARCHIVED_REFUSAL: Final = "An archived experiment is read-only: unarchive it first"


def href(experiment_id: str, suffix: str = "") -> str:
    return f"/ui/experiments/{quote(experiment_id, safe='')}{suffix}"


def back(experiment_id: str, reviewed: bool = False, dialog: str = "") -> RedirectResponse:
    """Back to the experiment page (with ``dialog`` open again, where the change was made)."""
    query = urlencode(
        {k: v for k, v in (("submitted", "review" if reviewed else ""), ("dialog", dialog)) if v}
    )
    return RedirectResponse(href(experiment_id, f"?{query}" if query else ""), status_code=303)


# --- catalog --------------------------------------------------------------------------------


def duration(experiment: dict[str, Any], now_ms: int) -> str:
    """Days running (to its end, once it ended) against the target duration."""
    start, target = experiment.get("startTime"), experiment.get("duration")
    if not start:
        return f"Target {target} days" if target else "No target"
    days = (int(experiment.get("endTime") or now_ms) - int(start)) // DAY_MS
    return f"{days} of {target} days" if target else f"{days} days"


def _catalog_filters(ctx: WebContext) -> list[Filter]:
    layers, _ = layers_service.list_(ctx.session, ctx.project_id, offset=0, limit=CHOICES_LIMIT)
    return [
        Filter("status", "Status", list(STATUS_LABELS.items())),
        Filter("layerID", "Layer", [(la["id"], la["name"]) for la in layers]),
        tag_filter(ctx),
        Filter("creatorName", "Owner"),
    ]


def _catalog_filter(request: Request) -> ExperimentFilter:
    """The experiment list filter of the query string, with the Console API's names; an unknown
    status is refused, as an unknown value of any closed vocabulary is."""
    query = request.query_params
    statuses = tuple(v for v in query.getlist("status") if v)
    unknown = [v for v in statuses if v not in STATUS_LABELS]
    if unknown:
        raise InvalidInput.field(
            "status",
            f"{unknown[0]!r} is not one of {', '.join(STATUS_LABELS)}",
            location="query",
        )
    return ExperimentFilter(
        name_contains=query.get("q", "").strip() or None,
        statuses=statuses,
        layer_id=query.get("layerID") or None,
        tags=tuple(v for v in query.getlist("tags") if v),
        creator_name=query.get("creatorName", "").strip() or None,
    )


def _catalog(
    request: Request,
    ctx: WebContext,
    page: int,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    page = max(1, page)
    try:
        flt = _catalog_filter(request)
    except InvalidInput as exc:
        flt, page, status_code, extra["error"] = ExperimentFilter(), 1, 422, exc.message
    found, total = service.list_(
        ctx.session, ctx.project_id, flt, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    trends = events_catalog.exposure_trends(
        ctx.session, ctx.project_id, "config", [e["id"] for e in found], ctx.clock.now_ms()
    )
    now_ms = ctx.clock.now_ms()
    rows = [
        {
            "href": href(e["id"]),
            "spark": figures.checks_sparkline(trends[e["id"]], "Exposures"),
            "cells": [
                e["name"],
                STATUS_LABELS.get(e["status"], e["status"]),
                e.get("layerID") or "",
                f"{e.get('allocation', 0):g}%",
                when(int(e["startTime"])) if e.get("startTime") else "Not started",
                duration(e, now_ms),
            ],
        }
        for e in found
    ]
    return render_catalog(
        request,
        ctx,
        title="Experiments",
        section="experiments",
        status_code=status_code,
        columns=[
            "Name",
            "Status",
            "Layer",
            "Allocation",
            "Started",
            "Duration",
            "Exposures (14 days)",
        ],
        rows=rows,
        page=page,
        total=total,
        filters=filter_bar(request, _catalog_filters(ctx)),
        create_action="/ui/experiments",
        create_what="experiment",
        create_fields=[
            {"name": "hypothesis", "label": "Hypothesis", "value": extra.pop("form_hypothesis", "")}
        ],
        **extra,
    )


@router.get("/ui/experiments", include_in_schema=False)
def catalog(request: Request, ctx: Web, page: int = 1) -> HTMLResponse:
    return _catalog(request, ctx, page)


@router.post("/ui/experiments", include_in_schema=False)
def create(
    request: Request, ctx: Web, name: str = Form(""), hypothesis: str = Form("")
) -> Response:
    ctx.require("create_configs")
    try:
        body = ExperimentCreate.model_validate({"name": name.strip(), "hypothesis": hypothesis})
        created = service.create(ctx.session, ctx.change, body)
    except LockgateError as exc:
        ctx.session.rollback()
        return _catalog(
            request,
            ctx,
            1,
            status_code=422,
            error=exc.message,
            form_name=name,
            form_hypothesis=hypothesis,
        )
    return back(str(created["id"]))


# --- the experiment page --------------------------------------------------------------------


def parameter_names(groups: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(p for g in groups for p in g.get("parameterValues") or {}))


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _metric_label(metric: dict[str, Any]) -> str:
    return f"{metric['name']} ({metric['type']})"


def metric_choices(ctx: WebContext) -> list[tuple[str, str]]:
    """The metrics catalog as a picker's options: ``(metric id, label)``."""
    catalog = metrics_service.list_(
        ctx.session, ctx.project_id, ctx.clock.now_ms(), show_hidden=False, tags=[]
    )[:CHOICES_LIMIT]
    return [(m["id"], _metric_label(m)) for m in catalog]


def chosen_metrics(refs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """A list of metric references (``{name, type}``) as the picker shows what is chosen."""
    return [(f"{m['name']}::{m['type']}", _metric_label(m)) for m in refs]


def _group_names(groups: list[dict[str, Any]]) -> dict[str, str]:
    return {g["id"]: g["name"] for g in groups}


def override_rows(
    stored: dict[str, Any], groups: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The experiment's ID overrides and gate or segment overrides, as the page lists them."""
    names = _group_names(groups)
    by_ids = [
        {
            "group_id": o["groupID"],
            "group": names.get(o["groupID"], o["groupID"]),
            "ids": o["ids"],
            "environment": o.get("environment") or "Every environment",
            "unit_type": o.get("unitType") or "",
        }
        for o in stored.get("userIDOverrides") or []
    ]
    conditional = [
        {
            "type": o["type"],
            "id": o["id"],
            "group_id": o["groupID"],
            "group": names.get(o["groupID"], o["groupID"]),
            "environment": o.get("environment") or "Every environment",
        }
        for o in stored.get("overrides") or []
    ]
    return by_ids, conditional


def exposure_stream(ctx: WebContext, experiment_id: str) -> dict[str, Any]:
    """The diagnostics tab's exposure stream (``_log_stream.html`` with exposure rows)."""
    id_type, rows = exposures.recent(ctx.session, ctx.project_id, experiment_id, limit=STREAM_ROWS)
    return {
        "id": "exposure-stream",
        "heading": "Exposure stream",
        "partial": "_exposure_rows.html",
        "url": href(experiment_id, "/exposure_stream"),
        "refresh": href(experiment_id, "?tab=diagnostics#exposure-stream-h"),
        "id_type": id_type,
        "rows": [
            {"when": when(r["time"]), "unit": r["unitID"], "group": r["groupName"] or r["groupID"]}
            for r in rows
        ],
    }


def target_progress(experiment: dict[str, Any], now_ms: int) -> str:
    """Where a running experiment stands against its target duration, in a sentence."""
    end = service.target_end_ms(experiment)
    if end is None:
        return ""
    if end <= now_ms:
        return f"Target duration reached on {when(end)[:10]}: time to make a decision."
    day = (now_ms - int(experiment["startTime"])) // DAY_MS + 1
    return f"Day {day} of {experiment['duration']}: the target is reached on {when(end)[:10]}."


def experiment_page(
    request: Request,
    ctx: WebContext,
    experiment_id: str,
    *,
    tab: str = "setup",
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    experiment = service.read(ctx.session, ctx.project_id, experiment_id)
    tab = tab if tab in TABS else "setup"
    status = experiment["status"]
    groups = experiment["groups"]
    names = parameter_names(groups)
    grid = [
        {"name": p, "values": [_shown((g.get("parameterValues") or {}).get(p, "")) for g in groups]}
        for p in names
    ]
    layers, _ = layers_service.list_(ctx.session, ctx.project_id, offset=0, limit=CHOICES_LIMIT)
    gates, _ = gates_service.list_(
        ctx.session,
        ctx.project_id,
        gates_repository.ColumnFilter(),
        gates_service.DocumentFilter(),
        offset=0,
        limit=CHOICES_LIMIT,
    )
    has_primary = bool(experiment.get("primaryMetrics") or experiment.get("primaryMetricTags"))
    launched = next((g for g in groups if g["id"] == experiment.get("launchedGroupID")), None)
    may_edit = ctx.member.can("edit_or_delete_configs")
    can_edit = may_edit and status != "archived"
    edit_refusal = "Your role cannot edit experiments" if not may_edit else ARCHIVED_REFUSAL
    checks = [
        dict(c, label=CHECK_LABELS.get(c["status"], c["status"]))
        for c in experiment.get("healthChecks") or []
    ]
    id_overrides, conditional_overrides = override_rows(
        dict(overrides.read(ctx.session, ctx.project_id, experiment_id)), groups
    )
    if tab == "diagnostics":
        extra.setdefault("stream", exposure_stream(ctx, experiment_id))
    dialog = extra.pop("open_dialog", "") or request.query_params.get("dialog", "")
    if request.query_params.get("submitted") == "review":
        extra.setdefault("notice", REVIEW_NOTICE)
    return render(
        request,
        "experiment.html",
        ctx,
        title=f"Experiment {experiment['name']}",
        section="experiments",
        status_code=status_code,
        experiment=experiment,
        href=href(experiment_id),
        tab=tab,
        status=status,
        status_label=STATUS_LABELS.get(status, status),
        launched=launched,
        decided_on=when(int(experiment["decisionTime"]))[:10]
        if experiment.get("decisionTime")
        else "",
        groups=groups,
        grid=grid,
        parameter_types=PARAMETER_TYPES,
        metric_choices=metric_choices(ctx),
        primary=chosen_metrics(experiment.get("primaryMetrics") or []),
        secondary=chosen_metrics(experiment.get("secondaryMetrics") or []),
        layers=[(layer["id"], layer["name"]) for layer in layers],
        gate_names=[g["id"] for g in gates],
        checks=checks,
        target=target_progress(experiment, ctx.clock.now_ms()),
        id_overrides=id_overrides,
        conditional_overrides=conditional_overrides,
        override_count=sum(len(o["ids"]) for o in id_overrides) + len(conditional_overrides),
        environments=[
            e["name"]
            for e in environments_service.read(ctx.session, ctx.project_id)["environments"]
        ],
        dialog=dialog,
        confidence_levels=CONFIDENCE_LEVELS,
        analytics_types=ANALYTICS_TYPES,
        switches=[(key, label, bool(experiment.get(key))) for key, label in SIGNIFICANCE_SWITCHES],
        json_text=json.dumps(experiment, indent=2, sort_keys=True),
        start_reason="" if has_primary else NEEDS_PRIMARY,
        deciding=request.query_params.get("decide") == "1" and status == "active",
        disabled_edit=disabled(can_edit, edit_refusal),
        disabled_setup=disabled(
            can_edit and status == "setup",
            "Only an experiment in setup can change this" if can_edit else edit_refusal,
        ),
        disabled_start=disabled(
            ctx.member.can("start_experiments") and has_primary,
            "Your role cannot start experiments" if has_primary else NEEDS_PRIMARY,
        ),
        disabled_unarchive=disabled(may_edit, "Your role cannot edit experiments"),
        disabled_reset=disabled(
            ctx.member.can("reset_experiments"), "Your role cannot reset experiments"
        ),
        **extra,
    )


@router.get("/ui/experiments/{experiment_id}", include_in_schema=False)
def page(request: Request, ctx: Web, experiment_id: str, tab: str = "setup") -> HTMLResponse:
    return experiment_page(request, ctx, experiment_id, tab=tab)


@router.get("/ui/experiments/{experiment_id}/exposure_stream", include_in_schema=False)
def exposure_stream_rows(request: Request, ctx: Web, experiment_id: str) -> HTMLResponse:
    """The exposure stream's rows alone: what the diagnostics tab's poll swaps in."""
    return render(
        request,
        "_exposure_rows.html",
        ctx,
        title="Exposure stream",
        stream=exposure_stream(ctx, experiment_id),
    )
