"""The Param Store resource: ``/console/v1/param_stores`` (5 operations; the path id is the
store's name)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from lockgate.domains.param_stores import service
from lockgate.domains.param_stores.schemas import ParamStoreCreate, ParamStoreUpdate
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import Page, message_only, page_params, paginated, single

router = APIRouter(tags=["Param Store"])

# Statsig answers create, read and update with the same message.
READ = "Param Store read successfully."


@router.get("/param_stores")
def list_param_stores(
    ctx: Console, request: Request, page: Page = Depends(page_params)
) -> dict[str, Any]:
    data, total = service.list_(ctx.session, ctx.project_id, offset=page.offset, limit=page.limit)
    return paginated("List param stores success", data, total, page, request)


@router.post("/param_stores")
def create_param_store(ctx: Console, body: ParamStoreCreate) -> dict[str, Any]:
    row = service.create(ctx.session, ctx.change, body)
    return single(READ, service.store_dto(row.document))


@router.get("/param_stores/{name}")
def read_param_store(ctx: Console, name: str) -> dict[str, Any]:
    return single(READ, service.read(ctx.session, ctx.project_id, name))


@router.post("/param_stores/{name}")
def update_param_store(ctx: Console, name: str, body: ParamStoreUpdate) -> dict[str, Any]:
    row = service.patch(ctx.session, ctx.change, name, body)
    return single(READ, service.store_dto(row.document))


@router.delete("/param_stores/{name}")
def delete_param_store(ctx: Console, name: str) -> dict[str, Any]:
    service.delete(ctx.session, ctx.change, name)
    return message_only("Param Store deleted successfully.")
