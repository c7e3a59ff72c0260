"""Dynamic configs (catalog, create, the page with the default value and its schema) and the
segments catalog. Changes go through the configs domain, which checks values against the schema."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from lockgate.domains.configs import service as configs_service
from lockgate.domains.configs.repository import ConfigFilter
from lockgate.domains.configs.schemas import ConfigCreate, ConfigPartialUpdate
from lockgate.domains.segments import id_lists
from lockgate.domains.segments import service as segments_service
from lockgate.domains.segments.schemas import SegmentCreate
from lockgate.errors import InvalidInput, LockgateError, NotFound
from lockgate.faces.web.forms import disabled
from lockgate.faces.web.pages import PAGE_SIZE, WebRoute, pager, render, render_catalog, when
from lockgate.faces.web.session import Web, WebContext

router = APIRouter(route_class=WebRoute)
ID_PAGE_SIZE = 100


def _config_href(config_id: str) -> str:
    return f"/ui/dynamic_configs/{quote(config_id, safe='')}"


def _configs(
    request: Request, ctx: WebContext, page: int, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    page = max(1, page)
    found, total = configs_service.list_(
        ctx.session, ctx.project_id, ConfigFilter(), offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    rows = [
        {
            "href": _config_href(r["id"]),
            "cells": [
                r["name"],
                "Enabled" if r.get("isEnabled") else "Disabled",
                len(r.get("rules") or []),
                when(int(r.get("lastModifiedTime") or 0)),
            ],
        }
        for r in found
    ]
    return render_catalog(
        request,
        ctx,
        title="Dynamic configs",
        section="configs",
        status_code=status_code,
        columns=["Name", "Status", "Rules", "Last modified"],
        rows=rows,
        page=page,
        total=total,
        create_action="/ui/dynamic_configs",
        create_what="config",
        **extra,
    )


@router.get("/ui/dynamic_configs", include_in_schema=False)
def configs(request: Request, ctx: Web, page: int = 1) -> HTMLResponse:
    return _configs(request, ctx, page)


@router.post("/ui/dynamic_configs", include_in_schema=False)
def create_config(request: Request, ctx: Web, name: str = Form("")) -> Response:
    ctx.require("create_configs")
    try:
        created = configs_service.create(
            ctx.session, ctx.change, ConfigCreate.model_validate({"name": name.strip()})
        )
    except LockgateError as exc:
        ctx.session.rollback()
        return _configs(request, ctx, 1, status_code=422, error=exc.message)
    return RedirectResponse(_config_href(str(created["id"])), status_code=303)


def _config_page(
    request: Request,
    ctx: WebContext,
    config_id: str,
    *,
    status_code: int = 200,
    value_text: str | None = None,
    schema_text: str | None = None,
    **extra: Any,
) -> HTMLResponse:
    config = configs_service.read(ctx.session, ctx.project_id, config_id)
    stored_schema = config.get("schemaJson5") or config.get("schema") or ""
    can_edit = ctx.member.can("edit_or_delete_configs")
    return render(
        request,
        "config.html",
        ctx,
        title=f"Config {config['name']}",
        section="configs",
        status_code=status_code,
        config=config,
        value_text=value_text
        if value_text is not None
        else json.dumps(config.get("defaultValue") or {}, indent=2),
        schema_text=schema_text if schema_text is not None else stored_schema,
        disabled_edit=disabled(can_edit, "Your role cannot edit configs"),
        **extra,
    )


@router.get("/ui/dynamic_configs/{config_id}", include_in_schema=False)
def config_page(request: Request, ctx: Web, config_id: str) -> HTMLResponse:
    return _config_page(request, ctx, config_id)


@router.post("/ui/dynamic_configs/{config_id}/default", include_in_schema=False)
def save_default(request: Request, ctx: Web, config_id: str, value: str = Form("")) -> Response:
    ctx.require("edit_or_delete_configs")
    try:
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"The value is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
            ) from exc
        body = ConfigPartialUpdate.model_validate({"defaultValue": parsed})
        configs_service.patch(ctx.session, ctx.change, config_id, body)
    except NotFound:
        raise
    except LockgateError as exc:
        ctx.session.rollback()
        return _config_page(
            request, ctx, config_id, status_code=422, value_text=value, value_error=exc.message
        )
    return RedirectResponse(_config_href(config_id), status_code=303)


@router.post("/ui/dynamic_configs/{config_id}/schema", include_in_schema=False)
def save_schema(
    request: Request, ctx: Web, config_id: str, schema_text: str = Form("", alias="schema")
) -> Response:
    ctx.require("edit_or_delete_configs")
    try:
        body = ConfigPartialUpdate.model_validate({"schema": schema_text.strip() or None})
        configs_service.patch(ctx.session, ctx.change, config_id, body)
    except NotFound:
        raise
    except LockgateError as exc:
        ctx.session.rollback()
        return _config_page(
            request,
            ctx,
            config_id,
            status_code=422,
            schema_text=schema_text,
            schema_error=exc.message,
        )
    return RedirectResponse(_config_href(config_id), status_code=303)


def _segment_href(segment_id: str) -> str:
    return f"/ui/segments/{quote(segment_id, safe='')}"


def _segments(
    request: Request, ctx: WebContext, page: int, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    page = max(1, page)
    found, total = segments_service.list_(
        ctx.session, ctx.project_id, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    rows = [
        {
            "href": _segment_href(r["id"]),
            "cells": [r["name"], r.get("type", ""), r.get("description") or ""],
        }
        for r in found
    ]
    return render_catalog(
        request,
        ctx,
        title="Segments",
        section="segments",
        status_code=status_code,
        columns=["Name", "Type", "Description"],
        rows=rows,
        page=page,
        total=total,
        create_action="/ui/segments",
        create_what="ID list segment",
        **extra,
    )


@router.get("/ui/segments", include_in_schema=False)
def segments(request: Request, ctx: Web, page: int = 1) -> HTMLResponse:
    return _segments(request, ctx, page)


@router.post("/ui/segments", include_in_schema=False)
def create_segment(request: Request, ctx: Web, name: str = Form("")) -> Response:
    ctx.require("create_configs")
    try:
        body = SegmentCreate.model_validate({"name": name.strip(), "type": "id_list"})
        row = segments_service.create(ctx.session, ctx.change, body)
    except LockgateError as exc:
        ctx.session.rollback()
        return _segments(request, ctx, 1, status_code=422, error=exc.message)
    return RedirectResponse(_segment_href(row.id), status_code=303)


@router.get("/ui/segments/{segment_id}", include_in_schema=False)
def segment_page(request: Request, ctx: Web, segment_id: str, page: int = 1) -> HTMLResponse:
    return _segment_page(request, ctx, segment_id, page)


def _segment_page(
    request: Request,
    ctx: WebContext,
    segment_id: str,
    page: int,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    segment = segments_service.read(ctx.session, ctx.project_id, segment_id)
    page = max(1, page)
    values: dict[str, Any] = {"is_list": segment.get("type") == segments_service.ID_LIST}
    if values["is_list"]:
        offset = (page - 1) * ID_PAGE_SIZE
        listed = id_lists.read_page(
            ctx.session, ctx.project_id, segment_id, offset=offset, limit=ID_PAGE_SIZE
        )
        values |= {
            "count": listed.count,
            "ids": listed.ids,
            "first": offset + 1,
            "last": offset + len(listed.ids),
            "pager": pager(request, page, listed.count, ID_PAGE_SIZE),
        }
    can_edit = ctx.member.can("edit_or_delete_configs")
    return render(
        request,
        "segment.html",
        ctx,
        title=f"Segment {segment['name']}",
        section="segments",
        status_code=status_code,
        segment=segment,
        disabled_edit=disabled(can_edit, "Your role cannot edit segments"),
        **values,
        **extra,
    )


@router.post("/ui/segments/{segment_id}/ids", include_in_schema=False)
async def change_ids(request: Request, ctx: Web, segment_id: str) -> Response:
    """Add, remove or replace ids from an uploaded CSV (first column) or typed lines.

    Async because the uploaded file is read from the form; the database work is short."""
    ctx.require("edit_or_delete_configs")
    form = await request.form()
    try:
        upload = form.get("file")
        text = ""
        if isinstance(upload, UploadFile):
            text = (await upload.read()).decode("utf-8-sig", errors="replace")
        typed = form.get("typed")
        text += "\n" + (typed if isinstance(typed, str) else "")
        action = form.get("action")
    finally:
        await form.close()  # the upload's spooled file
    ids = [line.split(",", 1)[0].strip() for line in text.splitlines()]
    ids = [unit_id for unit_id in ids if unit_id]
    try:
        if action == "add":
            id_lists.add_ids(ctx.session, ctx.change, segment_id, ids)
        elif action == "remove":
            id_lists.remove_ids(ctx.session, ctx.change, segment_id, ids)
        elif action == "replace":
            id_lists.reset_ids(ctx.session, ctx.change, segment_id, ids)
        else:
            raise InvalidInput("Choose Add, Remove or Replace.")
    except NotFound:
        raise
    except LockgateError as exc:
        ctx.session.rollback()
        return _segment_page(request, ctx, segment_id, 1, status_code=422, error=exc.message)
    return RedirectResponse(_segment_href(segment_id), status_code=303)


@router.get("/ui/segments/{segment_id}/ids.csv", include_in_schema=False)
def download_ids(ctx: Web, segment_id: str) -> Response:
    segments_service.read(ctx.session, ctx.project_id, segment_id)
    body = "".join(
        f"{unit_id}\n" for unit_id in id_lists.members(ctx.session, ctx.project_id, segment_id)
    )
    return PlainTextResponse(
        body,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{segment_id}.csv"'},
    )
