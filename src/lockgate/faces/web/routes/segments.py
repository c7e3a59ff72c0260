"""Segments: the catalog, Create (an ID list or a rule-based segment), and the segment page: an
ID list's IDs (paged, CSV upload and download) or a rule-based segment's rules, and what uses
the segment. Changes go through the segments domain, as the Console API's do, under the review
rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from lockgate.domains.rules.validation import find_rule
from lockgate.domains.segments import id_lists
from lockgate.domains.segments import service as segments_service
from lockgate.domains.segments.schemas import SegmentCreate
from lockgate.errors import InvalidInput, LockgateError, NotFound
from lockgate.faces.web import rules_editor
from lockgate.faces.web.changes import REVIEW_NOTICE, SUBMITTED, reviewed_change
from lockgate.faces.web.forms import disabled
from lockgate.faces.web.pages import (
    PAGE_SIZE,
    WebRoute,
    filter_bar,
    pager,
    render,
    render_catalog,
    tag_filter,
)
from lockgate.faces.web.session import Web, WebContext

router = APIRouter(route_class=WebRoute)
ID_PAGE_SIZE = 100
ID_LIST, RULE_BASED = segments_service.ID_LIST, segments_service.RULE_BASED
SEGMENT_TYPES = [(ID_LIST, "ID list"), (RULE_BASED, "Rule-based (conditions)")]
ELSE_LINE = "Not in the segment: when no rule matches"
USER_PAGES = {
    "gate": "/ui/gates",
    "dynamic_config": "/ui/dynamic_configs",
    "segment": "/ui/segments",
}


def _segment_href(segment_id: str) -> str:
    return f"/ui/segments/{quote(segment_id, safe='')}"


def _segments(
    request: Request, ctx: WebContext, page: int, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    page = max(1, page)
    found, total = segments_service.list_(
        ctx.session,
        ctx.project_id,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
        tags=[v for v in request.query_params.getlist("tags") if v],
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
        filters=filter_bar(request, [tag_filter(ctx)], search=False),
        create_action="/ui/segments",
        create_what="segment",
        create_fields=[{"name": "type", "label": "Type", "choices": SEGMENT_TYPES}],
        **extra,
    )


@router.get("/ui/segments", include_in_schema=False)
def segments(request: Request, ctx: Web, page: int = 1) -> HTMLResponse:
    return _segments(request, ctx, page)


@router.post("/ui/segments", include_in_schema=False)
def create_segment(
    request: Request, ctx: Web, name: str = Form(""), type_: str = Form(ID_LIST, alias="type")
) -> Response:
    ctx.require("create_configs")
    try:
        body = SegmentCreate.model_validate({"name": name.strip(), "type": type_})
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
    refused: rules_editor.Refusal | None = None,
    **extra: Any,
) -> HTMLResponse:
    segment = segments_service.read(ctx.session, ctx.project_id, segment_id)
    page = max(1, page)
    values: dict[str, Any] = {"is_list": segment.get("type") == ID_LIST}
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
    elif segment.get("type") == RULE_BASED:
        values["editor"] = rules_editor.editor(
            request,
            base=_segment_href(segment_id),
            rules=segment.get("rules") or [],
            default_line=ELSE_LINE,
            refused=refused,
        )
    if refused is not None and "editor" not in values:
        extra.setdefault("error", refused.message)  # no rules editor to show it in
    values["used_by"] = [
        {
            "what": segments_service.USER_LABELS[kind].capitalize(),
            "id": entity_id,
            "href": f"{USER_PAGES[kind]}/{quote(entity_id, safe='')}",
        }
        for kind, entity_id in segments_service.used_by(ctx.session, ctx.project_id, segment_id)
    ]
    if request.query_params.get("submitted") == "review":
        extra.setdefault("notice", REVIEW_NOTICE)
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


def _rule_change(
    request: Request,
    ctx: WebContext,
    segment_id: str,
    edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
    refused: Callable[[LockgateError], rules_editor.Refusal],
) -> Response:
    """Write ``edit(current rules)`` as ``POST /console/v1/segments/{id}/rules`` does (rules
    sent with their ids keep them), under the review rules; a refusal shows the page again with
    the problem next to the field at fault, and nothing changed."""
    ctx.require("edit_or_delete_configs")
    try:
        current = segments_service.read(ctx.session, ctx.project_id, segment_id)
        if current.get("type") != RULE_BASED:
            raise segments_service.wrong_type([RULE_BASED])

        def change() -> object:
            rules = edit([dict(rule) for rule in current.get("rules") or []])
            return segments_service.update_rules(ctx.session, ctx.change, segment_id, rules)

        reviewed = reviewed_change(ctx, change)
    except NotFound:
        raise
    except LockgateError as exc:
        ctx.session.rollback()
        return _segment_page(request, ctx, segment_id, 1, status_code=422, refused=refused(exc))
    suffix = f"?{SUBMITTED}" if reviewed else ""
    return RedirectResponse(_segment_href(segment_id) + suffix, status_code=303)


def _index(rules: list[dict[str, Any]], rule_id: str) -> int:
    index = find_rule(rules, rule_id)
    if index is None:
        raise NotFound(f"Rule {rule_id!r} not found in this segment.")
    return index


@router.post("/ui/segments/{segment_id}/rules", include_in_schema=False)
def add_rule(
    request: Request, ctx: Web, segment_id: str, form: rules_editor.RuleFormIn
) -> Response:
    def edit(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [*rules, form.rule().model_dump(by_alias=True, exclude_none=True)]

    return _rule_change(
        request,
        ctx,
        segment_id,
        edit,
        lambda exc: rules_editor.refusal(exc, rules_editor.NEW, form),
    )


@router.post("/ui/segments/{segment_id}/rules/{rule_id}/split", include_in_schema=False)
def change_split(
    request: Request, ctx: Web, segment_id: str, rule_id: str, pass_percentage: str = Form("")
) -> Response:
    def edit(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        index = _index(rules, rule_id)
        rules[index]["passPercentage"] = rules_editor.percentage(pass_percentage)
        return rules

    return _rule_change(
        request, ctx, segment_id, edit, lambda exc: rules_editor.refusal(exc, rule_id)
    )


@router.post("/ui/segments/{segment_id}/rules/{rule_id}/delete", include_in_schema=False)
def delete_rule(request: Request, ctx: Web, segment_id: str, rule_id: str) -> Response:
    def edit(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        index = _index(rules, rule_id)
        return [*rules[:index], *rules[index + 1 :]]

    return _rule_change(
        request, ctx, segment_id, edit, lambda exc: rules_editor.refusal(exc, rule_id)
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
