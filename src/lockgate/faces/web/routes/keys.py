"""Keys: the project's keys (never their secrets), create (the secret shown once) and revoke."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lockgate.domains.keys import service
from lockgate.domains.keys.schemas import KeyCreate
from lockgate.domains.users.permissions import PROJECT_ADMIN_ROLES
from lockgate.errors import Forbidden, LockgateError
from lockgate.faces.web.forms import disabled
from lockgate.faces.web.pages import WebRoute, render
from lockgate.faces.web.session import Web, WebContext

router = APIRouter(route_class=WebRoute)
SCOPES = {"CONSOLE": ["omni_read_write"], "SERVER": [], "CLIENT": []}
MAX_KEYS_SHOWN = 200


def _is_admin(ctx: WebContext) -> bool:
    # Keys are project configuration: the Console API allows them to Owners and Admins only.
    return ctx.member.role in PROJECT_ADMIN_ROLES and ctx.member.can("invitation_access")


def _page(
    request: Request, ctx: WebContext, *, status_code: int = 200, **values: object
) -> HTMLResponse:
    keys, _ = service.list_(
        ctx.session,
        ctx.project_id,
        target_app=None,
        environment=None,
        offset=0,
        limit=MAX_KEYS_SHOWN,
    )
    rows = [dict(k, key=k["id"]) for k in keys]
    return render(
        request,
        "keys.html",
        ctx,
        title="Keys",
        section="settings",
        settings_section="keys",
        status_code=status_code,
        keys=rows,
        disabled_admin=disabled(_is_admin(ctx), "Only Owners and Admins manage keys"),
        **values,
    )


@router.get("/ui/settings/keys", include_in_schema=False)
def keys_page(request: Request, ctx: Web) -> HTMLResponse:
    return _page(request, ctx)


@router.post("/ui/settings/keys", include_in_schema=False)
def create_key(
    request: Request, ctx: Web, type: str = Form("SERVER"), description: str = Form("")
) -> Response:
    if not _is_admin(ctx):
        raise Forbidden("Only Owners and Admins manage keys.")
    try:
        body = KeyCreate.model_validate(
            {"type": type, "description": description, "scopes": SCOPES.get(type, [])}
        )
        _, secret = service.create(
            ctx.session, ctx.project_id, ctx.member.actor(), ctx.clock.now_ms(), body
        )
    except LockgateError as exc:
        ctx.session.rollback()
        return _page(request, ctx, status_code=422, error=exc.message)
    ctx.session.flush()
    # The one page that ever shows the secret; it is not cached and never rendered again.
    response = _page(request, ctx, new_secret=secret, notice="Key created.")
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/ui/settings/keys/{key_id}/revoke", include_in_schema=False)
def revoke_key(ctx: Web, key_id: str) -> Response:
    if not _is_admin(ctx):
        raise Forbidden("Only Owners and Admins manage keys.")
    service.deactivate(ctx.session, ctx.project_id, ctx.member.actor(), ctx.clock.now_ms(), key_id)
    return RedirectResponse("/ui/settings/keys", status_code=303)
