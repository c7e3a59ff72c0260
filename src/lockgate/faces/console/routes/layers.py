"""The Layers resource: ``/console/v1/layers``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request

from lockgate.domains.layers import service
from lockgate.domains.layers.schemas import (
    LayerCreate,
    LayerFullUpdate,
    LayerOverridesIn,
    LayerOverridesPatchIn,
    LayerPartialUpdate,
)
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import Page, message_only, page_params, paginated, single

router = APIRouter(prefix="/layers", tags=["Layers"])

UPDATED = "Layer updated successfully."
OVERRIDES_READ = "Layer Overrides read successfully."
OVERRIDES_UPDATED = "Layer Overrides updated successfully."


@router.get("")
def list_layers(
    ctx: Console, request: Request, page: Page = Depends(page_params)
) -> dict[str, Any]:
    data, total = service.list_(ctx.session, ctx.project_id, offset=page.offset, limit=page.limit)
    return paginated("Layers listed successfully.", data, total, page, request)


@router.post("", status_code=201)
def create_layer(ctx: Console, body: LayerCreate) -> dict[str, Any]:
    return single("Layer created successfully.", service.create(ctx.session, ctx.change, body))


@router.get("/{id}")
def read_layer(ctx: Console, id: str) -> dict[str, Any]:
    return single("Layer read successfully.", service.read(ctx.session, ctx.project_id, id))


@router.post("/{id}")
def full_update_layer(ctx: Console, id: str, body: LayerFullUpdate) -> dict[str, Any]:
    return single(UPDATED, service.replace(ctx.session, ctx.change, id, body))


@router.patch("/{id}")
def partial_update_layer(ctx: Console, id: str, body: LayerPartialUpdate) -> dict[str, Any]:
    return single(UPDATED, service.patch(ctx.session, ctx.change, id, body))


@router.delete("/{id}")
def delete_layer(ctx: Console, id: str) -> dict[str, Any]:
    service.delete(ctx.session, ctx.change, id)
    return message_only("Layer deleted successfully.")


@router.get("/{id}/experiments")
def layer_experiments(
    ctx: Console, id: str, request: Request, page: Page = Depends(page_params)
) -> dict[str, Any]:
    data, total = service.list_experiments(
        ctx.session, ctx.project_id, id, offset=page.offset, limit=page.limit
    )
    return paginated("Experiments listed successfully.", data, total, page, request)


@router.get("/{id}/overrides")
def read_overrides(ctx: Console, id: str) -> dict[str, Any]:
    return single(OVERRIDES_READ, service.read_overrides(ctx.session, ctx.project_id, id))


@router.post("/{id}/overrides")
def replace_overrides(ctx: Console, id: str, body: LayerOverridesIn) -> dict[str, Any]:
    data = service.replace_overrides(ctx.session, ctx.change, id, body)
    return single(OVERRIDES_UPDATED, data)


@router.patch("/{id}/overrides")
def add_overrides(ctx: Console, id: str, body: LayerOverridesPatchIn) -> dict[str, Any]:
    return single(OVERRIDES_UPDATED, service.add_overrides(ctx.session, ctx.change, id, body))


@router.delete("/{id}/overrides")
def delete_overrides(
    ctx: Console, id: str, body: LayerOverridesIn | None = Body(None)
) -> dict[str, Any]:
    data = service.remove_overrides(ctx.session, ctx.change, id, body)
    return single("Layer Overrides deleted successfully.", data)
