"""The Users resource: ``/console/v1/users`` (members, invites) and ``/users/teams``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from lockgate.domains.entities import service as entities
from lockgate.domains.environments import service as environments
from lockgate.domains.users import service, teams
from lockgate.domains.users.schemas import TeamCreate, TeamPatch, UserInvites, UserUpdate
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import Page, message_only, page_params, paginated, single

router = APIRouter(tags=["Users"])


@router.get("/users")
def list_users(ctx: Console, request: Request, page: Page = Depends(page_params)) -> dict[str, Any]:
    data, total = service.list_(ctx.session, ctx.project_id, offset=page.offset, limit=page.limit)
    # Statsig's message, singular as it is.
    return paginated("User listed successfully.", data, total, page, request)


@router.post("/users/invite")
def invite_users(ctx: Console, body: UserInvites) -> dict[str, Any]:
    policy = service.InvitePolicy(
        auto_accept=ctx.settings.auto_accept_invites,
        check_domain=ctx.settings.invite_domain_check,
    )
    service.invite(ctx.session, ctx.change, body, policy)
    return message_only("User(s) Invited successfully")


@router.get("/users/teams")
def list_teams(ctx: Console, request: Request, page: Page = Depends(page_params)) -> dict[str, Any]:
    data, total = teams.list_(ctx.session, ctx.project_id, offset=page.offset, limit=page.limit)
    return paginated("Teams listed successfully.", data, total, page, request)


@router.post("/users/teams")
def create_team(ctx: Console, body: TeamCreate) -> dict[str, Any]:
    team = teams.create(ctx.session, ctx.change, body)
    return single("Team created successfully.", teams.team_dto(ctx.session, team))


@router.get("/users/teams/{id}")
def read_team(ctx: Console, id: str) -> dict[str, Any]:
    return single("Team read successfully.", teams.read(ctx.session, ctx.project_id, id))


@router.patch("/users/teams/{id}")
def update_team(ctx: Console, id: str, body: TeamPatch) -> dict[str, Any]:
    team = teams.patch(ctx.session, ctx.change, id, body)
    return single("Team updated successfully.", teams.team_dto(ctx.session, team))


@router.delete("/users/teams/{id}")
def delete_team(ctx: Console, id: str) -> dict[str, Any]:
    # One transaction (the request's): the team goes, and with it every reference to it.
    change = ctx.change
    teams.delete(ctx.session, change, id)
    entities.release_team(ctx.session, change, id)
    environments.release_team(ctx.session, change, id)
    return message_only("Team deleted successfully")


@router.get("/users/{email}")
def read_user(ctx: Console, email: str) -> dict[str, Any]:
    return single("User read successfully.", service.read(ctx.session, ctx.project_id, email))


@router.post("/users/{email}")
def update_user(ctx: Console, email: str, body: UserUpdate) -> dict[str, Any]:
    user = service.update(ctx.session, ctx.change, email, body)
    return single("User updated successfully.", service.user_dto(user))
