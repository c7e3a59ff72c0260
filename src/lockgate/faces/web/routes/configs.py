"""Dynamic configs: the catalog, Create, and the config page (rules with their return values,
the default value, the schema with "Infer from default value"). Changes go through the configs
domain, as the Console API's do, under the review rules; the domain checks every value the
config can serve against its schema and refuses a change that breaks it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lockgate.domains.configs import service as configs_service
from lockgate.domains.configs.repository import ConfigFilter
from lockgate.domains.configs.schemas import ConfigCreate, ConfigPartialUpdate
from lockgate.domains.configs.values import infer_schema
from lockgate.domains.rules.schemas import RuleIn
from lockgate.errors import LockgateError, NotFound
from lockgate.faces.web import rules_editor
from lockgate.faces.web.changes import REVIEW_NOTICE, SUBMITTED, reviewed_change
from lockgate.faces.web.forms import disabled
from lockgate.faces.web.pages import PAGE_SIZE, WebRoute, render, render_catalog, when
from lockgate.faces.web.session import Web, WebContext

router = APIRouter(route_class=WebRoute)
ELSE_LINE = "Default value (below): served when no rule matches"


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
    refused: rules_editor.Refusal | None = None,
    **extra: Any,
) -> HTMLResponse:
    config = configs_service.read(ctx.session, ctx.project_id, config_id)
    stored_schema = config.get("schemaJson5") or config.get("schema") or ""
    if schema_text is None and request.query_params.get("schema") == "infer":
        schema_text = json.dumps(infer_schema(config.get("defaultValue") or {}), indent=2)
        extra.setdefault(
            "schema_notice", "Inferred from the default value: review it, then Save schema."
        )
    if request.query_params.get("submitted") == "review":
        extra.setdefault("notice", REVIEW_NOTICE)
    can_edit = ctx.member.can("edit_or_delete_configs")
    return render(
        request,
        "config.html",
        ctx,
        title=f"Config {config['name']}",
        section="configs",
        status_code=status_code,
        config=config,
        editor=rules_editor.editor(
            request,
            base=_config_href(config_id),
            rules=config.get("rules") or [],
            default_line=ELSE_LINE,
            values=True,
            default_pass=100,
            refused=refused,
            environments=rules_editor.environment_names(ctx.session, ctx.project_id),
        ),
        value_text=value_text
        if value_text is not None
        else json.dumps(config.get("defaultValue") or {}, indent=2),
        schema_text=schema_text if schema_text is not None else stored_schema,
        disabled_edit=disabled(can_edit, "Your role cannot edit configs"),
        **extra,
    )


def _back(config_id: str, reviewed: bool) -> RedirectResponse:
    suffix = f"?{SUBMITTED}" if reviewed else ""
    return RedirectResponse(_config_href(config_id) + suffix, status_code=303)


@router.get("/ui/dynamic_configs/{config_id}", include_in_schema=False)
def config_page(request: Request, ctx: Web, config_id: str) -> HTMLResponse:
    return _config_page(request, ctx, config_id)


def _patch(ctx: WebContext, config_id: str, fields: dict[str, Any]) -> bool:
    """A partial update, as ``PATCH /console/v1/dynamic_configs/{id}``; True when reviewed."""
    body = ConfigPartialUpdate.model_validate(fields)
    return reviewed_change(
        ctx, lambda: configs_service.patch(ctx.session, ctx.change, config_id, body)
    )


@router.post("/ui/dynamic_configs/{config_id}/default", include_in_schema=False)
def save_default(request: Request, ctx: Web, config_id: str, value: str = Form("")) -> Response:
    ctx.require("edit_or_delete_configs")
    try:
        parsed = rules_editor.json_text(value, "The value")
        reviewed = _patch(ctx, config_id, {"defaultValue": parsed})
    except NotFound:
        raise
    except LockgateError as exc:
        ctx.session.rollback()
        return _config_page(
            request, ctx, config_id, status_code=422, value_text=value, value_error=exc.message
        )
    return _back(config_id, reviewed)


@router.post("/ui/dynamic_configs/{config_id}/schema", include_in_schema=False)
def save_schema(
    request: Request, ctx: Web, config_id: str, schema_text: str = Form("", alias="schema")
) -> Response:
    ctx.require("edit_or_delete_configs")
    try:
        reviewed = _patch(ctx, config_id, {"schema": schema_text.strip() or None})
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
    return _back(config_id, reviewed)


def _rule_change(
    request: Request,
    ctx: WebContext,
    config_id: str,
    change: Callable[[], object],
    refused: Callable[[LockgateError], rules_editor.Refusal],
) -> Response:
    """Run one rule change through the configs domain, under the review rules; a refusal shows
    the page again with the problem next to the field at fault, and nothing changed."""
    ctx.require("edit_or_delete_configs")
    try:
        reviewed = reviewed_change(ctx, change)
    except NotFound:
        raise
    except LockgateError as exc:
        ctx.session.rollback()
        return _config_page(request, ctx, config_id, status_code=422, refused=refused(exc))
    return _back(config_id, reviewed)


@router.post("/ui/dynamic_configs/{config_id}/rules", include_in_schema=False)
def add_rule(request: Request, ctx: Web, config_id: str, form: rules_editor.RuleFormIn) -> Response:
    def change() -> object:
        known = rules_editor.environment_names(ctx.session, ctx.project_id)
        return configs_service.add_rules(ctx.session, ctx.change, config_id, [form.rule(known)])

    return _rule_change(
        request,
        ctx,
        config_id,
        change,
        lambda exc: rules_editor.refusal(exc, rules_editor.NEW, form),
    )


@router.post("/ui/dynamic_configs/{config_id}/rules/{rule_id}/split", include_in_schema=False)
def change_split(
    request: Request, ctx: Web, config_id: str, rule_id: str, pass_percentage: str = Form("")
) -> Response:
    def change() -> object:
        update = RuleIn(pass_percentage=rules_editor.percentage(pass_percentage))
        return configs_service.update_rule(ctx.session, ctx.change, config_id, rule_id, update)

    return _rule_change(
        request, ctx, config_id, change, lambda exc: rules_editor.refusal(exc, rule_id)
    )


@router.post("/ui/dynamic_configs/{config_id}/rules/{rule_id}/value", include_in_schema=False)
def change_value(
    request: Request, ctx: Web, config_id: str, rule_id: str, return_value: str = Form("")
) -> Response:
    def change() -> object:
        value = rules_editor.json_text(return_value, "The return value")
        update = RuleIn(return_value=value)
        return configs_service.update_rule(ctx.session, ctx.change, config_id, rule_id, update)

    return _rule_change(
        request,
        ctx,
        config_id,
        change,
        lambda exc: rules_editor.refusal(exc, rule_id, text=return_value),
    )


@router.post(
    "/ui/dynamic_configs/{config_id}/rules/{rule_id}/environments", include_in_schema=False
)
def change_environments(
    request: Request,
    ctx: Web,
    config_id: str,
    rule_id: str,
    environments: Annotated[list[str] | None, Form()] = None,
) -> Response:
    def change() -> object:
        known = rules_editor.environment_names(ctx.session, ctx.project_id)
        update = rules_editor.environments_update(environments or [], known)
        return configs_service.update_rule(ctx.session, ctx.change, config_id, rule_id, update)

    return _rule_change(
        request, ctx, config_id, change, lambda exc: rules_editor.refusal(exc, rule_id)
    )


@router.post("/ui/dynamic_configs/{config_id}/rules/{rule_id}/delete", include_in_schema=False)
def delete_rule(request: Request, ctx: Web, config_id: str, rule_id: str) -> Response:
    def change() -> object:
        return configs_service.delete_rule(ctx.session, ctx.change, config_id, rule_id)

    return _rule_change(
        request, ctx, config_id, change, lambda exc: rules_editor.refusal(exc, rule_id)
    )
