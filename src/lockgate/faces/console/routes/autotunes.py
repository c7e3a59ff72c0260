"""The Autotunes resource: ``/console/v1/autotunes`` and its lifecycle actions (9 operations)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from lockgate.domains.autotunes import service
from lockgate.domains.autotunes.schemas import (
    AutotuneCreate,
    AutotuneFullUpdate,
    AutotunePartialUpdate,
    DecisionIn,
)
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import Page, message_only, page_params, paginated, single

router = APIRouter(tags=["Autotunes"])

UPDATED = "Autotune Experiment updated successfully."


def _autotune(row: Any) -> dict[str, Any]:
    return service.autotune_dto(row.document)


@router.get("/autotunes")
def list_autotunes(
    ctx: Console, request: Request, page: Page = Depends(page_params)
) -> dict[str, Any]:
    data, total = service.list_(ctx.session, ctx.project_id, offset=page.offset, limit=page.limit)
    return paginated("Autotune Experiments listed successfully.", data, total, page, request)


@router.post("/autotunes", status_code=201)
def create_autotune(ctx: Console, body: AutotuneCreate) -> dict[str, Any]:
    row = service.create(ctx.session, ctx.change, body)
    return single("Autotune Experiment created successfully.", _autotune(row))


@router.get("/autotunes/{id}")
def read_autotune(ctx: Console, id: str) -> dict[str, Any]:
    data = service.read(ctx.session, ctx.project_id, id)
    return single("Autotune Experiment read successfully.", data)


@router.post("/autotunes/{id}")
def fully_update_autotune(ctx: Console, id: str, body: AutotuneFullUpdate) -> dict[str, Any]:
    return single(UPDATED, _autotune(service.replace(ctx.session, ctx.change, id, body)))


@router.patch("/autotunes/{id}")
def partially_update_autotune(ctx: Console, id: str, body: AutotunePartialUpdate) -> dict[str, Any]:
    return single(UPDATED, _autotune(service.patch(ctx.session, ctx.change, id, body)))


@router.delete("/autotunes/{id}")
def delete_autotune(ctx: Console, id: str) -> dict[str, Any]:
    service.delete(ctx.session, ctx.change, id)
    return message_only("Autotune Experiment deleted successfully.")


@router.put("/autotunes/{id}/start")
def start_autotune(ctx: Console, id: str) -> dict[str, Any]:
    service.start(ctx.session, ctx.change, id)
    return message_only("Autotune Experiment successfully started.")


@router.put("/autotunes/{id}/make_decision")
def make_autotune_decision(ctx: Console, id: str, body: DecisionIn) -> dict[str, Any]:
    service.make_decision(ctx.session, ctx.change, id, body)
    return message_only("Decision made for Autotune Experiment.")


@router.put("/autotunes/{id}/reset")
def reset_autotune(ctx: Console, id: str) -> dict[str, Any]:
    service.reset(ctx.session, ctx.change, id)
    return message_only("Autotune Experiment successfully restarted.")
