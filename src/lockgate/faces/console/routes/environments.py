"""The Environments resource: ``/console/v1/environments``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from lockgate.domains.environments import service
from lockgate.domains.environments.schemas import EnvironmentsUpdate
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import single

router = APIRouter(tags=["Environments"])


@router.get("/environments")
def read_environments(ctx: Console) -> dict[str, Any]:
    data = service.read(ctx.session, ctx.project_id)
    return single("Environments read successfully.", data)


@router.post("/environments")
def update_environments(ctx: Console, body: EnvironmentsUpdate) -> dict[str, Any]:
    data = service.replace(ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), body)
    return single("Environments updated successfully.", data)
