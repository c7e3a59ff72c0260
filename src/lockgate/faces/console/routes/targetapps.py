"""The Target App resource: ``/console/v1/target_app``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from lockgate.domains.targetapps import service
from lockgate.domains.targetapps.schemas import (
    TargetAppBulkAssign,
    TargetAppCreate,
    TargetAppUpdate,
)
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import Page, message_only, page_params, paginated, single

router = APIRouter(tags=["Target App"])
UPDATED = "Target apps updated successfully."


@router.get("/target_app")
def list_target_apps(
    ctx: Console, request: Request, page: Page = Depends(page_params)
) -> dict[str, Any]:
    data, total = service.list_(ctx.session, ctx.project_id, offset=page.offset, limit=page.limit)
    return paginated("Target apps listed successfully.", data, total, page, request)


@router.post("/target_app")
def create_target_app(ctx: Console, body: TargetAppCreate) -> dict[str, Any]:
    app = service.create(ctx.session, ctx.change, body)
    return single("Target app created successfully.", service.target_app_dto(app))


@router.patch("/target_app")
def bulk_assign_target_apps(ctx: Console, body: TargetAppBulkAssign) -> dict[str, Any]:
    service.bulk_assign(ctx.session, ctx.change, body)
    return message_only(UPDATED)


@router.get("/target_app/{id}")
def read_target_app(ctx: Console, id: str) -> dict[str, Any]:
    return single("Target app read successfully.", service.read(ctx.session, ctx.project_id, id))


@router.patch("/target_app/{id}")
def update_target_app(ctx: Console, id: str, body: TargetAppUpdate) -> dict[str, Any]:
    service.patch(ctx.session, ctx.change, id, body)
    return message_only(UPDATED)


@router.delete("/target_app/{id}")
def delete_target_app(ctx: Console, id: str) -> dict[str, Any]:
    service.delete(ctx.session, ctx.change, id)
    return message_only("Target app deleted successfully")
