"""Members: the project's members with their roles, add a member (their first password shown
once), invite, change a role, remove (the roles themselves are on the roles page). Changes go
through the users domain with the Console API's permission (``invitation_access``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from lockgate.domains.users import roles
from lockgate.domains.users import service as users
from lockgate.domains.users.permissions import (
    ASSIGNABLE_BUILT_IN,
    BUILT_IN_ROLES,
    OWNER,
    PERMISSION_KEYS,
)
from lockgate.domains.users.schemas import UserInvites, UserUpdate
from lockgate.errors import InvalidInput
from lockgate.faces.web.forms import disabled, validated
from lockgate.faces.web.pages import WebRoute
from lockgate.faces.web.routes.settings import MAX_SHOWN, attempt, notice, settings_page
from lockgate.faces.web.session import Web, WebContext

router = APIRouter(route_class=WebRoute)
PATH = "/ui/settings/members"
INVITE_PERMISSION = "invitation_access"


def all_roles(ctx: WebContext) -> list[dict[str, Any]]:
    """Built-in roles first, then the project's own, each with the permissions it holds."""
    shown = [
        {"name": name, "permissions": sorted(BUILT_IN_ROLES[name]), "built_in": True}
        for name in (OWNER, *ASSIGNABLE_BUILT_IN)
    ]
    custom, _ = roles.list_(ctx.session, ctx.project_id, offset=0, limit=MAX_SHOWN)
    for role in custom:
        held = [k for k in PERMISSION_KEYS if role["permissions"].get(k)]
        shown.append({"name": role["name"], "permissions": held, "built_in": False})
    return shown


def _members_page(
    request: Request, ctx: WebContext, *, status_code: int = 200, **values: Any
) -> HTMLResponse:
    values.setdefault("notice", notice(request))
    members, total = users.list_(ctx.session, ctx.project_id, offset=0, limit=MAX_SHOWN)
    allowed = ctx.member.can(INVITE_PERMISSION)
    reason = f"Your role ({ctx.member.role}) lacks the {INVITE_PERMISSION} permission"
    shown_roles = all_roles(ctx)
    return settings_page(
        request,
        ctx,
        "settings_members.html",
        "Members and roles",
        "members",
        status_code,
        {
            "members": members,
            "total": total,
            "me": ctx.member.email,
            "invites": users.pending_invites(ctx.session, ctx.project_id),
            "assignable": [r["name"] for r in shown_roles if r["name"] != OWNER],
            "off": disabled(allowed, reason),
            "can_edit": allowed,
            "reason": reason,
            **values,
        },
    )


@router.get(PATH, include_in_schema=False)
def members_page(request: Request, ctx: Web) -> HTMLResponse:
    return _members_page(request, ctx)


@router.post(PATH, include_in_schema=False)
def add_member(
    request: Request,
    ctx: Web,
    email: str = Form(""),
    role: str = Form(""),
    first_name: str = Form(""),
    last_name: str = Form(""),
) -> Response:
    ctx.require(INVITE_PERMISSION)
    try:
        validated(UserUpdate, {"firstName": first_name, "lastName": last_name})  # bounds
        user, password = users.create(
            ctx.session,
            ctx.change,
            email=email,
            role=role,
            first_name=first_name,
            last_name=last_name,
        )
    except InvalidInput as exc:
        ctx.session.rollback()
        return _members_page(request, ctx, status_code=422, error=exc.message)
    ctx.session.flush()
    # The one page that shows the new member's password; not cached, never rendered again.
    response = _members_page(
        request, ctx, new_member=user.email, new_password=password, notice="Member added."
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post(f"{PATH}/invite", include_in_schema=False)
def invite(request: Request, ctx: Web, emails: str = Form(""), role: str = Form("")) -> Response:
    ctx.require(INVITE_PERMISSION)
    settings = request.app.state.settings
    policy = users.InvitePolicy(
        auto_accept=settings.auto_accept_invites, check_domain=settings.invite_domain_check
    )

    def act() -> None:
        listed = [e.strip() for e in emails.replace(",", "\n").splitlines() if e.strip()]
        body = validated(UserInvites, {"role": role, "emails": listed})
        users.invite(ctx.session, ctx.change, body, policy)

    return attempt(request, ctx, _members_page, act, PATH, "invited")


@router.post(f"{PATH}/{{email}}/role", include_in_schema=False)
def change_role(request: Request, ctx: Web, email: str, role: str = Form("")) -> Response:
    ctx.require(INVITE_PERMISSION)

    def act() -> None:
        users.update(ctx.session, ctx.change, email, validated(UserUpdate, {"role": role}))

    return attempt(request, ctx, _members_page, act, PATH, "saved")


@router.post(f"{PATH}/{{email}}/remove", include_in_schema=False)
def remove(request: Request, ctx: Web, email: str) -> Response:
    ctx.require(INVITE_PERMISSION)

    def act() -> None:
        users.remove(ctx.session, ctx.change, email)

    return attempt(request, ctx, _members_page, act, PATH, "removed")
