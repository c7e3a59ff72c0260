"""The Keys resource: ``/console/v1/keys``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from lockgate.domains.keys import service
from lockgate.domains.keys.schemas import KeyCreate, KeyUpdate
from lockgate.errors import Forbidden
from lockgate.faces.console.context import Console, ConsoleContext
from lockgate.faces.console.envelope import Page, message_only, page_params, paginated, single

router = APIRouter(tags=["Keys"])


def _require_key_access(ctx: ConsoleContext) -> None:
    if "can_access_keys" not in ctx.principal.scopes:
        raise Forbidden()


@router.get("/keys")
def list_keys(
    ctx: Console,
    request: Request,
    page: Page = Depends(page_params),
    primaryTargetApp: str | None = None,
    environment: str | None = None,
) -> dict[str, Any]:
    _require_key_access(ctx)
    data, total = service.list_(
        ctx.session,
        ctx.project_id,
        target_app=primaryTargetApp,
        environment=environment,
        offset=page.offset,
        limit=page.limit,
    )
    return paginated("Keys listed successfully.", data, total, page, request)


@router.post("/keys")
def create_key(ctx: Console, body: KeyCreate) -> dict[str, Any]:
    _require_key_access(ctx)
    key, secret = service.create(ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), body)
    return single("Key created successfully.", service.key_dto(key, secret))


@router.get("/keys/{id}")
def read_key(ctx: Console, id: str) -> dict[str, Any]:
    _require_key_access(ctx)
    return single("Key read successfully.", service.read(ctx.session, ctx.project_id, id))


@router.patch("/keys/{id}")
def update_key(ctx: Console, id: str, body: KeyUpdate) -> dict[str, Any]:
    _require_key_access(ctx)
    key = service.patch(ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), id, body)
    return single("Key updated successfully.", service.key_dto(key))


@router.delete("/keys/{id}")
def delete_key(ctx: Console, id: str) -> dict[str, Any]:
    _require_key_access(ctx)
    service.delete(ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), id)
    return message_only("Key deleted successfully.")


@router.patch("/keys/{id}/deactivate")
def deactivate_key(ctx: Console, id: str) -> dict[str, Any]:
    _require_key_access(ctx)
    key = service.deactivate(ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), id)
    return single("Key deactivated successfully.", service.key_dto(key))


@router.patch("/keys/{id}/rotate")
def rotate_key(ctx: Console, id: str) -> dict[str, Any]:
    _require_key_access(ctx)
    key, secret = service.rotate(ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), id)
    return single("Key rotated successfully.", service.key_dto(key, secret))
