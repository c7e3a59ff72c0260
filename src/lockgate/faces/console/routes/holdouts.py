"""The Holdouts resource: ``/console/v1/holdouts`` and its sub-resources (11 operations)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from lockgate.domains.gates.schemas import OverridesIn
from lockgate.domains.holdouts import pulse, repository, service
from lockgate.domains.holdouts.schemas import HoldoutCreate, HoldoutFullUpdate, HoldoutPartialUpdate
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import Page, multi_value, page_params, paginated, single

router = APIRouter(tags=["Holdouts"])

UPDATED = "Holdout updated successfully."
OVERRIDES_UPDATED = "Holdout Overrides updated successfully."


def _holdout(row: Any) -> dict[str, Any]:
    return service.holdout_dto(row.document)


@router.get("/holdouts")
def list_holdouts(
    ctx: Console,
    request: Request,
    page: Page = Depends(page_params),
    creator_name: str | None = Query(None, alias="creatorName"),
    creator_id: str | None = Query(None, alias="creatorID"),
) -> dict[str, Any]:
    columns = repository.ColumnFilter(
        creator_name=creator_name,
        creator_id=creator_id,
        tags=tuple(multi_value(request, "tags")),
    )
    data, total = service.list_(
        ctx.session, ctx.project_id, columns, offset=page.offset, limit=page.limit
    )
    return paginated("Holdouts listed successfully.", data, total, page, request)


@router.post("/holdouts")
def create_holdout(ctx: Console, body: HoldoutCreate) -> dict[str, Any]:
    row = service.create(ctx.session, ctx.change, body)
    return single("Holdout created successfully.", _holdout(row))


@router.get("/holdouts/{id}")
def read_holdout(ctx: Console, id: str) -> dict[str, Any]:
    return single("Holdout read successfully.", service.read(ctx.session, ctx.project_id, id))


@router.post("/holdouts/{id}")
def fully_update_holdout(ctx: Console, id: str, body: HoldoutFullUpdate) -> dict[str, Any]:
    return single(UPDATED, _holdout(service.replace(ctx.session, ctx.change, id, body)))


@router.patch("/holdouts/{id}")
def partially_update_holdout(ctx: Console, id: str, body: HoldoutPartialUpdate) -> dict[str, Any]:
    return single(UPDATED, _holdout(service.patch(ctx.session, ctx.change, id, body)))


@router.delete("/holdouts/{id}")
def delete_holdout(ctx: Console, id: str) -> dict[str, Any]:
    data = service.delete(ctx.session, ctx.change, id)
    return single("Holdout deleted successfully.", data)


@router.get("/holdouts/{id}/overrides")
def read_holdout_overrides(ctx: Console, id: str) -> dict[str, Any]:
    data = service.read_overrides(ctx.session, ctx.project_id, id)
    return single("Holdout Overrides read successfully.", data)


@router.post("/holdouts/{id}/overrides")
def replace_holdout_overrides(ctx: Console, id: str, body: OverridesIn) -> dict[str, Any]:
    data = service.change_overrides(ctx.session, ctx.change, id, body, "replace")
    return single(OVERRIDES_UPDATED, data)


@router.patch("/holdouts/{id}/overrides")
def add_holdout_overrides(ctx: Console, id: str, body: OverridesIn) -> dict[str, Any]:
    data = service.change_overrides(ctx.session, ctx.change, id, body, "add")
    return single(OVERRIDES_UPDATED, data)


@router.delete("/holdouts/{id}/overrides")
def remove_holdout_overrides(ctx: Console, id: str, body: OverridesIn) -> dict[str, Any]:
    """The spec declares no body, but the removal set has to travel in one
    (docs/console.md §Overrides)."""
    data = service.change_overrides(ctx.session, ctx.change, id, body, "remove")
    return single("Holdout Overrides deleted successfully.", data)


@router.get("/holdouts/{id}/pulse_results")
def holdout_pulse_results(
    ctx: Console,
    id: str,
    cuped: str | None = Query(None),
    confidence: str | None = Query(None),
) -> dict[str, Any]:
    data = pulse.pulse_results(
        ctx.session, ctx.project_id, id, cuped=cuped, confidence=confidence, now_ms=ctx.now_ms()
    )
    return single("Successfully loaded Pulse Results", data)
