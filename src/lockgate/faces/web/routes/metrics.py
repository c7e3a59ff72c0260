"""The metrics catalog and a metric's page: search, create (through the metrics domain, as
``POST /console/v1/metrics``), the daily value chart (as ``GET /console/v1/metrics/values``
computes each day), the experiments using a metric, and archiving with a warning that names
them (as ``PUT /console/v1/metrics/{id}/schedule_archive``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lockgate.domains.experiments import service as experiments_service
from lockgate.domains.experiments.repository import ExperimentFilter
from lockgate.domains.metrics import lifecycle, values
from lockgate.domains.metrics import service as metrics_service
from lockgate.domains.metrics.schemas import MetricCreate
from lockgate.errors import LockgateError
from lockgate.faces.web import figures
from lockgate.faces.web.pages import PAGE_SIZE, WebRoute, pager, render, when
from lockgate.faces.web.session import Web, WebContext

router = APIRouter(route_class=WebRoute)

# What the create form offers: metrics defined on one logged event. A created count is an
# ``event_count_custom`` metric: ``event_count`` is the automatic metric every event has.
FORM_TYPES = {
    "event_count_custom": "Event count",
    "event_user": "Event users",
    "sum": "Sum of the event's value",
}
ID_TYPES = ("userID", "stableID")


def metric_href(metric_id: str) -> str:
    return f"/ui/metrics/{quote(metric_id, safe='')}"


def _status(metric: dict[str, Any]) -> str:
    if metric.get("isArchived"):
        return "Archived"
    if metric.get("scheduledArchiveTime") is not None:
        return f"Archives {when(int(metric['scheduledArchiveTime']))}"
    return "Active"


def _catalog(
    request: Request,
    ctx: WebContext,
    *,
    q: str,
    page: int,
    event: str = "",
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    now = ctx.clock.now_ms()
    found = metrics_service.list_(ctx.session, ctx.project_id, now, show_hidden=False, tags=[])
    needle = q.strip().lower()
    if needle:
        found = [m for m in found if needle in f"{m['id']} {m.get('description') or ''}".lower()]
    found.sort(key=lambda m: str(m["id"]).lower())
    page = max(1, page)
    shown = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    rows = [
        {
            "href": metric_href(m["id"]),
            "name": m["name"],
            "type": m["type"],
            "events": ", ".join(e.get("name", "") for e in m.get("metricEvents") or [])
            or figures.MISSING,
            "unit_types": ", ".join(m.get("unitTypes") or []) or figures.MISSING,
            "status": _status(m),
        }
        for m in shown
    ]
    return render(
        request,
        "metrics.html",
        ctx,
        title="Metrics catalog",
        section="metrics",
        status_code=status_code,
        q=q,
        rows=rows,
        pager=pager(request, page, len(found)),
        form_types=FORM_TYPES,
        id_types=ID_TYPES,
        event=event,
        open_create=bool(event) or status_code != 200,
        can_create=ctx.member.can("metric_management"),
        **extra,
    )


@router.get("/ui/metrics", include_in_schema=False)
def catalog(request: Request, ctx: Web, q: str = "", page: int = 1, event: str = "") -> Response:
    return _catalog(request, ctx, q=q, page=page, event=event)


@router.post("/ui/metrics", include_in_schema=False)
def create_metric(
    request: Request,
    ctx: Web,
    name: str = Form(""),
    type: str = Form(""),
    event: str = Form(""),
    id_type: str = Form("userID"),
    description: str = Form(""),
) -> Response:
    ctx.require("metric_management")
    metric_event: dict[str, Any] = {"name": event.strip()}
    if type == "sum":
        metric_event["type"] = "value"
    body = {
        "name": name.strip(),
        "type": type,
        "description": description,
        "unitTypes": [id_type],
        "metricEvents": [metric_event] if event.strip() else [],
    }
    try:
        created = metrics_service.create(ctx.session, ctx.change, MetricCreate.model_validate(body))
    except LockgateError as exc:
        ctx.session.rollback()
        return _catalog(request, ctx, q="", page=1, event=event, status_code=422, error=exc.message)
    return RedirectResponse(metric_href(str(created["id"])), status_code=303)


def _using(ctx: WebContext, metric_id: str) -> list[dict[str, Any]]:
    using, _ = experiments_service.list_using_metric(
        ctx.session, ctx.project_id, metric_id, ExperimentFilter(), offset=0, limit=100
    )
    return [
        {"name": e["name"], "status": e["status"], "href": f"/ui/experiments/{quote(e['id'])}"}
        for e in using
    ]


def _metric_page(
    request: Request, ctx: WebContext, metric_id: str, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    metric = metrics_service.read(ctx.session, ctx.project_id, metric_id, ctx.clock.now_ms())
    series = values.daily_series(ctx.session, ctx.project_id, metric_id, ctx.clock.now_ms())
    title = f"{metric['name']}: value per day (UTC)"
    return render(
        request,
        "metric.html",
        ctx,
        title=f"Metric {metric['name']} ({metric['type']})",
        section="metrics",
        status_code=status_code,
        metric=metric,
        status=_status(metric),
        events=[e.get("name", "") for e in metric.get("metricEvents") or []],
        using=_using(ctx, metric_id),
        series=series,
        chart=figures.series_chart(series.days, series.values, title, y_title="Value"),
        custom=not metric.get("isAutomatic", False) and "::" in metric["id"],
        can_archive=ctx.member.can("metric_management"),
        **extra,
    )


@router.get("/ui/metrics/{metric_id}", include_in_schema=False)
def metric_page(request: Request, ctx: Web, metric_id: str) -> HTMLResponse:
    return _metric_page(request, ctx, metric_id)


@router.post("/ui/metrics/{metric_id}/archive", include_in_schema=False)
def archive_metric(request: Request, ctx: Web, metric_id: str) -> Response:
    ctx.require("metric_management")
    try:
        at = lifecycle.schedule_archive(ctx.session, ctx.change, metric_id)
    except LockgateError as exc:
        ctx.session.rollback()
        return _metric_page(request, ctx, metric_id, status_code=422, error=exc.message)
    return _metric_page(request, ctx, metric_id, notice=f"Archive scheduled for {when(at)} UTC.")
