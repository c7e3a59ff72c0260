"""The Metrics resource: ``/console/v1/metrics`` (definitions, archive lifecycle, lineage,
daily values).

Literal paths (``/metrics/list``, ``/metrics/values``) are declared before ``/metrics/{id}``,
and ``/metrics/{id}/experiments`` before ``/metrics/{name}/{type}``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from lockgate.domains.experiments import service as experiments_service
from lockgate.domains.experiments.repository import ExperimentFilter
from lockgate.domains.metrics import lifecycle, service, values
from lockgate.domains.metrics.definitions import metric_id
from lockgate.domains.metrics.schemas import MetricCreate, MetricUpdate
from lockgate.domains.pulse import metric_loads
from lockgate.errors import InvalidInput
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

router = APIRouter(tags=["Metrics"])

READ = "Metric read successfully."
LISTED = "Metrics listed successfully."


def _flag(name: str, raw: str | None) -> bool:
    if raw is None or raw == "":
        return False
    if raw not in ("true", "false"):
        raise InvalidInput.field(name, f"must be 'true' or 'false', got {raw!r}", location="query")
    return raw == "true"


@router.get("/metrics")
def read_metric_values(
    ctx: Console, request: Request, id: str, date: str, page: Page = Depends(page_params)
) -> dict[str, Any]:
    found = values.read(ctx.session, ctx.project_id, id, date)
    items = found[page.offset : page.offset + page.limit]
    return paginated(READ, items, len(found), page, request)


@router.post("/metrics", status_code=201)
def create_metric(ctx: Console, body: MetricCreate) -> dict[str, Any]:
    return single("Metric created successfully.", service.create(ctx.session, ctx.change, body))


@router.get("/metrics/list")
def list_metrics(
    ctx: Console,
    request: Request,
    page: Page = Depends(page_params),
    showHiddenMetrics: str | None = None,
    filters: str | None = None,
) -> dict[str, Any]:
    tags = multi_value(request, "tags") + service.filter_tags(filters)
    found = service.list_(
        ctx.session,
        ctx.project_id,
        ctx.now_ms(),
        show_hidden=_flag("showHiddenMetrics", showHiddenMetrics),
        tags=tags,
    )
    items = found[page.offset : page.offset + page.limit]
    return paginated(LISTED, items, len(found), page, request)


@router.get("/metrics/values")
def list_metric_values(
    ctx: Console,
    request: Request,
    date: str,
    page: Page = Depends(page_params),
    metricName: str | None = None,
    metricType: str | None = None,
) -> dict[str, Any]:
    found, total = values.list_(
        ctx.session,
        ctx.project_id,
        date,
        ctx.now_ms(),
        metric_name=metricName,
        metric_type=metricType,
        offset=page.offset,
        limit=page.limit,
    )
    return paginated("Metric values listed successfully.", found, total, page, request)


@router.get("/metrics/{id}")
def read_metric(ctx: Console, id: str) -> dict[str, Any]:
    return single(READ, service.read(ctx.session, ctx.project_id, id, ctx.now_ms()))


@router.post("/metrics/{id}")
def update_metric(ctx: Console, id: str, body: MetricUpdate) -> dict[str, Any]:
    return single("Metric updated successfully.", service.patch(ctx.session, ctx.change, id, body))


@router.delete("/metrics/{id}")
def delete_metric(ctx: Console, id: str) -> dict[str, Any]:
    service.delete(ctx.session, ctx.change, id)
    return message_only("Metric deleted successfully.")


@router.put("/metrics/{id}/schedule_archive")
def schedule_archive(ctx: Console, id: str) -> dict[str, Any]:
    at = lifecycle.schedule_archive(ctx.session, ctx.change, id)
    # The spec's answer is message-only; the scheduled time is added for clients that want it.
    response = message_only("Metric archive scheduled successfully for next day.")
    return response | {"data": {"id": id, "scheduledArchiveTime": at}}


@router.put("/metrics/{id}/cancel_archive")
def cancel_archive(ctx: Console, id: str) -> dict[str, Any]:
    lifecycle.cancel_archive(ctx.session, ctx.change, id)
    return message_only("Metric archival cancelled successfully.")


@router.put("/metrics/{id}/unarchive")
def unarchive(ctx: Console, id: str) -> dict[str, Any]:
    lifecycle.unarchive(ctx.session, ctx.change, id)
    return message_only("Metric unarchived successfully.")


@router.post("/metrics/{id}/reload", tags=["Metrics (Warehouse Native)"])
def reload_metric(ctx: Console, id: str, incremental: str | None = None) -> dict[str, Any]:
    metric_loads.reload(ctx.session, ctx.change, id, incremental)
    return message_only("Metric data reloaded successfully.")


@router.get("/metrics/{id}/experiments")
def metric_experiments(
    ctx: Console,
    request: Request,
    id: str,
    page: Page = Depends(page_params),
    flt: ExperimentFilter = Depends(experiment_filter),
) -> dict[str, Any]:
    data, total = experiments_service.list_using_metric(
        ctx.session, ctx.project_id, id, flt, offset=page.offset, limit=page.limit
    )
    return paginated("Experiments listed successfully.", data, total, page, request)


@router.get("/metrics/{name}/{type}")
def read_metric_by_name(ctx: Console, name: str, type: str) -> dict[str, Any]:
    return single(
        READ, service.read(ctx.session, ctx.project_id, metric_id(name, type), ctx.now_ms())
    )
