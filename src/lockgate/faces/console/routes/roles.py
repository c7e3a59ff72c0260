"""The Roles resource: ``/console/v1/roles`` (custom roles, addressed by name)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from lockgate.domains.users import roles
from lockgate.domains.users.schemas import RoleCreate, RoleUpdate
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import Page, message_only, page_params, paginated, single

router = APIRouter(tags=["Roles"])


@router.get("/roles")
def list_roles(ctx: Console, request: Request, page: Page = Depends(page_params)) -> dict[str, Any]:
    data, total = roles.list_(ctx.session, ctx.project_id, offset=page.offset, limit=page.limit)
    return paginated("Roles listed successfully.", data, total, page, request)


@router.post("/roles", status_code=201)
def create_role(ctx: Console, body: RoleCreate) -> dict[str, Any]:
    role = roles.create(ctx.session, ctx.change, body)
    return single("Role created successfully.", roles.role_dto(role))


@router.get("/roles/{id}")
def read_role(ctx: Console, id: str) -> dict[str, Any]:
    return single("Role read successfully.", roles.read(ctx.session, ctx.project_id, id))


@router.patch("/roles/{id}")
def update_role(ctx: Console, id: str, body: RoleUpdate) -> dict[str, Any]:
    role = roles.patch(ctx.session, ctx.change, id, body)
    return single("Role updated successfully.", roles.role_dto(role))


@router.delete("/roles/{id}")
def delete_role(ctx: Console, id: str) -> dict[str, Any]:
    roles.delete(ctx.session, ctx.change, id)
    return message_only("Role deleted successfully.")
