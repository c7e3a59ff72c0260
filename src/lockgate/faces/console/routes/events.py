"""The Events resource: ``/console/v1/events`` (logged event names, recent events, and the
metrics that use an event)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from lockgate.domains.events import catalog
from lockgate.domains.metrics import service as metrics_service
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import Page, page_params, paginated

router = APIRouter(tags=["Events"])

LISTED = "Event values listed successfully."


@router.get("/events")
def list_events(
    ctx: Console, request: Request, page: Page = Depends(page_params)
) -> dict[str, Any]:
    items, total = catalog.list_(ctx.session, ctx.project_id, offset=page.offset, limit=page.limit)
    return paginated(LISTED, items, total, page, request)


@router.get("/events/{eventName}")
def read_events(
    ctx: Console, request: Request, eventName: str, page: Page = Depends(page_params)
) -> dict[str, Any]:
    items, total = catalog.list_recent(
        ctx.session, ctx.project_id, eventName, offset=page.offset, limit=page.limit
    )
    return paginated(LISTED, items, total, page, request)


@router.get("/events/{eventName}/metrics")
def event_metrics(
    ctx: Console, request: Request, eventName: str, page: Page = Depends(page_params)
) -> dict[str, Any]:
    found = metrics_service.list_using_event(ctx.session, ctx.project_id, eventName, ctx.now_ms())
    items = found[page.offset : page.offset + page.limit]
    return paginated("Metrics listed successfully.", items, len(found), page, request)
