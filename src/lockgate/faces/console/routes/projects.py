"""``GET /console/v1/project`` and ``GET /console/v1/company``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from lockgate.domains.projects import service
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import single

router = APIRouter()


@router.get("/project", tags=["Project"])
def read_project(ctx: Console) -> dict[str, Any]:
    data = service.read_project(ctx.session, ctx.project_id)
    return single("Project Info Retrieved Successfully", data)


@router.get("/company", tags=["Company"])
def read_company(ctx: Console) -> dict[str, Any]:
    data = service.read_company(ctx.session, ctx.project_id)
    return single("Company info retrieved successfully.", data)
