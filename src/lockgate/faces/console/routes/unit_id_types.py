"""The Unit ID Types resource: ``/console/v1/unit_id_types``; the path id is the type's name."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from lockgate.domains.unit_id_types import service
from lockgate.domains.unit_id_types.schemas import UnitIdTypeCreate, UnitIdTypeUpdate
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import Page, message_only, page_params, paginated, single

router = APIRouter(tags=["Unit ID Types"])


@router.get("/unit_id_types")
def list_unit_id_types(
    ctx: Console, request: Request, page: Page = Depends(page_params)
) -> dict[str, Any]:
    data, total = service.list_(ctx.session, ctx.project_id, offset=page.offset, limit=page.limit)
    return paginated("Unit ID Types listed successfully.", data, total, page, request)


@router.post("/unit_id_types", status_code=201)
def create_unit_id_type(ctx: Console, body: UnitIdTypeCreate) -> dict[str, Any]:
    row = service.create(ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), body)
    return single("Unit ID Type created successfully.", service.dto(row))


@router.get("/unit_id_types/{id}")
def read_unit_id_type(ctx: Console, id: str) -> dict[str, Any]:
    return single("Unit ID Type read successfully.", service.read(ctx.session, ctx.project_id, id))


@router.patch("/unit_id_types/{id}")
def update_unit_id_type(ctx: Console, id: str, body: UnitIdTypeUpdate) -> dict[str, Any]:
    row = service.patch(ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), id, body)
    return single("Unit ID Type updated successfully.", service.dto(row))


@router.delete("/unit_id_types/{id}")
def delete_unit_id_type(ctx: Console, id: str) -> dict[str, Any]:
    service.delete(ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), id)
    return message_only("Unit ID Type deleted successfully.")
