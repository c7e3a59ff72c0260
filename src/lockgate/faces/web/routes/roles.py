"""Roles: the built-in roles and the project's custom ones with the permissions each holds;
create, edit and delete custom roles through the users domain's role service, with the Console
API's permission (Owners and Admins) and its audit entries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from lockgate.domains.users import roles
from lockgate.domains.users.permissions import PERMISSION_KEYS
from lockgate.domains.users.schemas import RoleCreate, RoleUpdate
from lockgate.faces.web.forms import disabled, validated
from lockgate.faces.web.pages import WebRoute
from lockgate.faces.web.routes.members import all_roles
from lockgate.faces.web.routes.settings import (
    ADMINS_ONLY,
    attempt,
    is_admin,
    notice,
    require_admin,
    settings_page,
)
from lockgate.faces.web.session import Web, WebContext

router = APIRouter(route_class=WebRoute)
PATH = "/ui/settings/roles"


def _permissions(posted: list[str]) -> dict[str, bool]:
    """Every permission key, held when its box was ticked; a posted key the roles do not know
    goes on to the service, which refuses it as the Console API does."""
    return dict.fromkeys(PERMISSION_KEYS, False) | dict.fromkeys(posted, True)


def _roles_page(
    request: Request, ctx: WebContext, *, status_code: int = 200, **values: Any
) -> HTMLResponse:
    values.setdefault("notice", notice(request))
    values.setdefault("typed", {"name": "", "permissions": []})
    return settings_page(
        request,
        ctx,
        "settings_roles.html",
        "Roles",
        "roles",
        status_code,
        {
            "roles": all_roles(ctx),
            "permission_keys": PERMISSION_KEYS,
            "off": disabled(is_admin(ctx), ADMINS_ONLY),
            "can_edit": is_admin(ctx),
            **values,
        },
    )


@router.get(PATH, include_in_schema=False)
def roles_page(request: Request, ctx: Web) -> HTMLResponse:
    return _roles_page(request, ctx)


@router.post(PATH, include_in_schema=False)
def create_role(
    request: Request, ctx: Web, name: str = Form(""), permissions: list[str] = Form([])
) -> Response:
    require_admin(ctx)

    def act() -> None:
        body = validated(RoleCreate, {"name": name, "permissions": _permissions(permissions)})
        roles.create(ctx.session, ctx.change, body)

    def page(request: Request, ctx: WebContext, **values: Any) -> HTMLResponse:
        typed = {"name": name, "permissions": permissions}
        return _roles_page(request, ctx, typed=typed, **values)

    return attempt(request, ctx, page, act, PATH, "created")


@router.post(f"{PATH}/{{name}}", include_in_schema=False)
def edit_role(request: Request, ctx: Web, name: str, permissions: list[str] = Form([])) -> Response:
    require_admin(ctx)

    def act() -> None:
        body = validated(RoleUpdate, {"permissions": _permissions(permissions)})
        roles.patch(ctx.session, ctx.change, name, body)

    return attempt(request, ctx, _roles_page, act, PATH, "saved")


@router.post(f"{PATH}/{{name}}/delete", include_in_schema=False)
def delete_role(request: Request, ctx: Web, name: str) -> Response:
    require_admin(ctx)

    def act() -> None:
        roles.delete(ctx.session, ctx.change, name)

    return attempt(request, ctx, _roles_page, act, PATH, "deleted")
