"""``GET /console/v1/project`` and ``GET /console/v1/company``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from lockgate.domains.projects import repository
from lockgate.domains.projects.service import company_dto, project_dto
from lockgate.errors import NotFound
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import single

router = APIRouter()


@router.get("/project", tags=["Project"])
def read_project(ctx: Console) -> dict[str, Any]:
    project = repository.get_project(ctx.session, ctx.project_id)
    if project is None:
        raise NotFound()
    return single("Project Info Retrieved Successfully", project_dto(project))


@router.get("/company", tags=["Company"])
def read_company(ctx: Console) -> dict[str, Any]:
    project = repository.get_project(ctx.session, ctx.project_id)
    company = repository.get_company(ctx.session, project.company_id) if project else None
    if company is None:
        raise NotFound()
    return single("Company info retrieved successfully.", company_dto(company))
