"""The Settings resource: ``/console/v1/settings/{project,roles,teams}`` (full-replace POSTs)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from lockgate.domains.projects import settings
from lockgate.domains.users.schemas import ProjectSettings, RolesSettings, TeamsSettings
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import single

router = APIRouter(tags=["Settings"])
READ = "Settings read successfully."
UPDATED = "Settings updated successfully."


@router.get("/settings/project")
def read_project_settings(ctx: Console) -> dict[str, Any]:
    return single(READ, settings.read_project(ctx.session, ctx.project_id))


@router.post("/settings/project")
def update_project_settings(ctx: Console, body: ProjectSettings) -> dict[str, Any]:
    project = settings.update_project(ctx.session, ctx.change, body)
    # Statsig answers this update with the read message.
    return single(READ, settings.project_dto(project))


@router.get("/settings/roles")
def read_roles_settings(ctx: Console) -> dict[str, Any]:
    return single(READ, settings.read_roles(ctx.session, ctx.project_id))


@router.post("/settings/roles")
def update_roles_settings(ctx: Console, body: RolesSettings) -> dict[str, Any]:
    return single(UPDATED, settings.roles_dto(settings.update_roles(ctx.session, ctx.change, body)))


@router.get("/settings/teams")
def read_teams_settings(ctx: Console) -> dict[str, Any]:
    return single(READ, settings.read_teams(ctx.session, ctx.project_id))


@router.post("/settings/teams")
def update_teams_settings(ctx: Console, body: TeamsSettings) -> dict[str, Any]:
    return single(UPDATED, settings.teams_dto(settings.update_teams(ctx.session, ctx.change, body)))
