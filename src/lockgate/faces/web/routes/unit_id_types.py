"""Unit ID types: the built-in ``userID`` and ``stableID`` and the project's own; create, edit a
description and delete (refused while anything names the type) through the unit id types domain,
with the Console API's permission (Owners and Admins) and its audit entries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from lockgate.domains.unit_id_types import service as unit_id_types
from lockgate.domains.unit_id_types.schemas import UnitIdTypeCreate, UnitIdTypeUpdate
from lockgate.faces.web.forms import disabled, validated
from lockgate.faces.web.pages import WebRoute
from lockgate.faces.web.routes.settings import (
    ADMINS_ONLY,
    MAX_SHOWN,
    attempt,
    is_admin,
    notice,
    require_admin,
    settings_page,
)
from lockgate.faces.web.session import Web, WebContext

router = APIRouter(route_class=WebRoute)
PATH = "/ui/settings/unit_id_types"


def _unit_id_types_page(
    request: Request, ctx: WebContext, *, status_code: int = 200, **values: Any
) -> HTMLResponse:
    values.setdefault("notice", notice(request))
    rows, total = unit_id_types.list_(ctx.session, ctx.project_id, offset=0, limit=MAX_SHOWN)
    return settings_page(
        request,
        ctx,
        "settings_unit_id_types.html",
        "Unit ID types",
        "unit_id_types",
        status_code,
        {
            "types": rows,
            "total": total,
            "built_in": unit_id_types.BUILT_IN,
            "off": disabled(is_admin(ctx), ADMINS_ONLY),
            "can_edit": is_admin(ctx),
            **values,
        },
    )


@router.get(PATH, include_in_schema=False)
def unit_id_types_page(request: Request, ctx: Web) -> HTMLResponse:
    return _unit_id_types_page(request, ctx)


@router.post(PATH, include_in_schema=False)
def create_unit_id_type(
    request: Request, ctx: Web, name: str = Form(""), description: str = Form("")
) -> Response:
    require_admin(ctx)

    def act() -> None:
        body = validated(UnitIdTypeCreate, {"name": name, "description": description or None})
        unit_id_types.create(
            ctx.session, ctx.project_id, ctx.member.actor(), ctx.clock.now_ms(), body
        )

    return attempt(request, ctx, _unit_id_types_page, act, PATH, "created")


@router.post(f"{PATH}/{{name}}", include_in_schema=False)
def edit_unit_id_type(
    request: Request, ctx: Web, name: str, description: str = Form("")
) -> Response:
    require_admin(ctx)

    def act() -> None:
        body = validated(UnitIdTypeUpdate, {"description": description})
        unit_id_types.patch(
            ctx.session, ctx.project_id, ctx.member.actor(), ctx.clock.now_ms(), name, body
        )

    return attempt(request, ctx, _unit_id_types_page, act, PATH, "saved")


@router.post(f"{PATH}/{{name}}/delete", include_in_schema=False)
def delete_unit_id_type(request: Request, ctx: Web, name: str) -> Response:
    require_admin(ctx)

    def act() -> None:
        unit_id_types.delete(
            ctx.session, ctx.project_id, ctx.member.actor(), ctx.clock.now_ms(), name
        )

    return attempt(request, ctx, _unit_id_types_page, act, PATH, "deleted")
