"""The Tags resource: ``/console/v1/tags``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from lockgate.domains.tags import service
from lockgate.domains.tags.schemas import TagCreate, TagUpdate
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import Page, message_only, page_params, paginated, single

router = APIRouter(tags=["Tags"])


@router.get("/tags")
def list_tags(ctx: Console, request: Request, page: Page = Depends(page_params)) -> dict[str, Any]:
    data, total = service.list_(ctx.session, ctx.project_id, offset=page.offset, limit=page.limit)
    return paginated("Tags listed successfully", data, total, page, request)


@router.post("/tags")
def create_tag(ctx: Console, body: TagCreate) -> dict[str, Any]:
    tag = service.create(ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), body)
    return single("Tag created successfully", service.tag_dto(tag))


@router.get("/tags/{id}")
def read_tag(ctx: Console, id: str) -> dict[str, Any]:
    return single("Tag read successfully", service.read(ctx.session, ctx.project_id, id))


@router.patch("/tags/{id}")
def update_tag(ctx: Console, id: str, body: TagUpdate) -> dict[str, Any]:
    tag = service.patch(ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), id, body)
    return single("Tag updated successfully", service.tag_dto(tag))


@router.delete("/tags/{id}")
def delete_tag(ctx: Console, id: str) -> dict[str, Any]:
    service.delete(ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), id)
    return message_only("Tag deleted successfully")
