"""The events explorer: every logged event name with its 14-day trend and count, a log stream
of the newest events that refreshes itself (production events only unless asked), an event's
page with the metrics defined on it and its value breakdown, and a link that starts a metric
from an event."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lockgate.domains.events import catalog
from lockgate.domains.metrics import service as metrics_service
from lockgate.faces.web import figures
from lockgate.faces.web.pages import PAGE_SIZE, WebRoute, pager, render, when
from lockgate.faces.web.routes.metrics import metric_href
from lockgate.faces.web.session import Web, WebContext

router = APIRouter(route_class=WebRoute)

STREAM_ROWS = 50


def _tier(user: dict[str, Any]) -> str:
    environment = user.get("statsigEnvironment")
    tier = environment.get("tier") if isinstance(environment, dict) else None
    return str(tier or "production")


def _stream(ctx: WebContext, name: str | None, non_production: bool) -> dict[str, Any]:
    rows = catalog.log_stream(
        ctx.session, ctx.project_id, name=name, non_production=non_production, limit=STREAM_ROWS
    )
    query = {"nonprod": "1" if non_production else "", "name": name or ""}
    page = _event_href(name) if name else "/ui/events"
    return {
        "id": "log-stream",
        "heading": "Log stream",
        "partial": "_log_rows.html",
        "filter": True,
        "refresh": f"{page}?nonprod=1#log-stream-h" if non_production else f"{page}#log-stream-h",
        "rows": [
            {
                "when": when(int(r["timestamp"])),
                "name": r["name"],
                "user": r["userID"],
                "tier": _tier(r["user"]),
                "value": r["value"],
                "metadata": r["metadata"],
            }
            for r in rows
        ],
        "url": f"/ui/event_stream?{urlencode({k: v for k, v in query.items() if v})}",
        "non_production": non_production,
    }


def _trend(counts: list[int], name: str) -> dict[str, Any]:
    return {
        "points": figures.sparkline(counts),
        "label": f"{name}: {sum(counts)} events in the last {len(counts)} days, "
        f"{counts[-1] if counts else 0} today",
        "width": figures.SPARK_WIDTH,
        "height": figures.SPARK_HEIGHT,
    }


def _shares(found: list[catalog.ValueCount], scanned: int) -> list[dict[str, Any]]:
    return [
        {"value": v.value, "count": v.count, "share": f"{v.count / scanned:.1%}"} for v in found
    ]


def _breakdown(found: catalog.Breakdown) -> dict[str, Any]:
    return {
        "scanned": found.scanned,
        "limit": catalog.BREAKDOWN_SCAN,
        "values": _shares(found.values, found.scanned),
        "metadata": [
            {"key": key, "values": _shares(values, found.scanned)}
            for key, values in found.metadata.items()
        ],
    }


def _create_href(name: str) -> str:
    return f"/ui/metrics?{urlencode({'event': name})}"


def _event_href(name: str) -> str:
    return f"/ui/events/{quote(name, safe='')}"


@router.get("/ui/events", include_in_schema=False)
def events(request: Request, ctx: Web, page: int = 1, nonprod: str = "") -> HTMLResponse:
    page = max(1, page)
    items, total = catalog.list_(
        ctx.session, ctx.project_id, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    names = [i["name"] for i in items]
    trends = catalog.trends(ctx.session, ctx.project_id, names, ctx.clock.now_ms())
    rows = [
        {
            "name": i["name"],
            "href": _event_href(i["name"]),
            "count": i["eventCount"],
            "users": i["userCount"],
            "last": when(int(i["timestamp"])),
            "trend": _trend(trends[i["name"]], i["name"]),
            "create_href": _create_href(i["name"]),
        }
        for i in items
    ]
    return render(
        request,
        "events.html",
        ctx,
        title="Events",
        section="events",
        rows=rows,
        pager=pager(request, page, total),
        stream=_stream(ctx, None, nonprod == "1"),
        stream_action="/ui/events",
    )


@router.get("/ui/event_stream", include_in_schema=False)
def event_stream(request: Request, ctx: Web, name: str = "", nonprod: str = "") -> HTMLResponse:
    """The log stream's rows alone: what the explorer's poll swaps in."""
    return render(
        request,
        "_log_rows.html",
        ctx,
        title="Log stream",
        stream=_stream(ctx, name or None, nonprod == "1"),
    )


@router.get("/ui/events/{name}", include_in_schema=False)
def event_page(request: Request, ctx: Web, name: str, nonprod: str = "") -> HTMLResponse:
    now = ctx.clock.now_ms()
    counts = catalog.trends(ctx.session, ctx.project_id, [name], now)[name]
    _, total = catalog.list_recent(ctx.session, ctx.project_id, name, offset=0, limit=1)
    metrics = metrics_service.list_using_event(ctx.session, ctx.project_id, name, now)
    breakdown = catalog.value_breakdown(ctx.session, ctx.project_id, name)
    return render(
        request,
        "event.html",
        ctx,
        title=f"Event {name}",
        section="events",
        name=name,
        total=total,
        trend=_trend(counts, name),
        metrics=[
            {"name": m["name"], "type": m["type"], "href": metric_href(m["id"])} for m in metrics
        ],
        create_href=_create_href(name),
        breakdown=_breakdown(breakdown),
        stream=_stream(ctx, name, nonprod == "1"),
        stream_action=_event_href(name),
    )
