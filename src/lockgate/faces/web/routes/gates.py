"""Feature gates: the catalog, the gate page (rules, overrides, Test Gate, launch and disable,
history with restore). Every change goes through the gates domain, as the Console API's do, and
under the review rules, as a Console API call sent with ``x-respect-review-settings: true``."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from lockgate.domains.events import catalog as events_catalog
from lockgate.domains.gates import gate_rules, overrides, repository, service
from lockgate.domains.gates.schemas import GateCreate, GateFullUpdate, OverridesIn
from lockgate.domains.rules.schemas import RuleIn
from lockgate.domains.specs.cache import SpecCache
from lockgate.errors import InvalidInput, LockgateError, NotFound
from lockgate.faces.web import figures, rules_editor, vocabulary
from lockgate.faces.web.changes import REVIEW_NOTICE, SUBMITTED, reviewed_change
from lockgate.faces.web.forms import disabled, lines
from lockgate.faces.web.pages import PAGE_SIZE, WebRoute, pager, render, templates, when
from lockgate.faces.web.session import Web, WebContext

router = APIRouter(route_class=WebRoute)
HISTORY_LIMIT = 50


def _status(gate: dict[str, Any]) -> str:
    return str(gate.get("status") or ("In Progress" if gate.get("isEnabled") else "Disabled"))


def _disabled(allowed: bool, why: str) -> Markup:
    return disabled(allowed, why)


@router.get("/ui/gates", include_in_schema=False)
def catalog(request: Request, ctx: Web, q: str = "", page: int = 1) -> HTMLResponse:
    return _catalog(request, ctx, q, page)


def _catalog(
    request: Request, ctx: WebContext, q: str, page: int, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    page = max(1, page)
    columns = repository.ColumnFilter(name_contains=q.strip() or None)
    gates, total = service.list_(
        ctx.session,
        ctx.project_id,
        columns,
        service.DocumentFilter(),
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    trends = events_catalog.exposure_trends(
        ctx.session, ctx.project_id, "gate", [g["id"] for g in gates], ctx.clock.now_ms()
    )
    for gate in gates:
        gate["status"] = _status(gate)
        gate["modified"] = when(int(gate.get("lastModifiedTime") or 0))
        gate["checks"] = figures.checks_sparkline(trends[gate["id"]])
    return render(
        request,
        "gates.html",
        ctx,
        title="Feature gates",
        section="gates",
        status_code=status_code,
        gates=gates,
        q=q,
        pager=pager(request, page, total),
        can_create=ctx.member.can("create_configs"),
        form_name=extra.pop("form_name", ""),
        **extra,
    )


@router.post("/ui/gates", include_in_schema=False)
def create(
    request: Request, ctx: Web, name: str = Form(""), description: str = Form("")
) -> Response:
    ctx.require("create_configs")
    try:
        body = GateCreate.model_validate({"name": name.strip(), "description": description})
        row = service.create(ctx.session, ctx.change, body)
    except LockgateError as exc:
        ctx.session.rollback()
        return _catalog(
            request,
            ctx,
            "",
            1,
            status_code=422,
            error=exc.message,
            create_error=True,
            form_name=name,
        )
    return RedirectResponse(f"/ui/gates/{quote(row.id, safe='')}", status_code=303)


def _test_result(
    ctx: WebContext, cache: SpecCache, gate: dict[str, Any], raw: str
) -> dict[str, Any]:
    """Evaluate ``gate`` for the user in ``raw`` with the SDKs' evaluator, and say why."""
    try:
        user = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"The user is not valid JSON: {exc.msg} at position {exc.pos}.") from exc
    if not isinstance(user, dict):
        raise InvalidInput('The user must be a JSON object, such as {"userID": "u1"}.')
    result = cache.get(ctx.project_id).evaluator.check_gate(user, gate["id"])
    rules = {r["id"]: r.get("name") for r in gate.get("rules") or []}
    if result.rule_id in rules:
        why = f"rule {rules[result.rule_id]}"
    elif "override" in result.rule_id:
        why = "ID override"
    elif _status(gate) != "In Progress":
        why = _status(gate).lower()
    else:
        why = "default"
    verdict = "PASS" if result.value else "FAIL"
    return {
        "value": result.value,
        "text": f"{verdict} — {why}",
        "rule_id": result.rule_id,
        "user": raw,  # which input this answers: a swap may arrive after the next edit
    }


def _gate_page(
    request: Request,
    ctx: WebContext,
    gate_id: str,
    *,
    status_code: int = 200,
    test_user: str = '{"userID": ""}',
    refused: rules_editor.Refusal | None = None,
    **extra: Any,
) -> HTMLResponse:
    gate = service.read(ctx.session, ctx.project_id, gate_id)
    stored = overrides.overrides_of(service.load(ctx.session, ctx.project_id, gate_id).document)
    passing = stored.get("passingUserIDs") or []
    failing = stored.get("failingUserIDs") or []
    documents, total = service.list_versions(
        ctx.session, ctx.project_id, gate_id, offset=0, limit=HISTORY_LIMIT
    )
    versions = []
    for index, document in enumerate(documents):
        older = documents[index + 1] if index + 1 < len(documents) else None
        versions.append(
            {
                "number": total - index,
                "changes": vocabulary.version_changes(older, document),
                "pairs": vocabulary.version_pairs(older, document) if older else [],
            }
        )
    can_edit = ctx.member.can("edit_or_delete_configs")
    if request.query_params.get("submitted") == "review":
        extra.setdefault("notice", REVIEW_NOTICE)
    trend = events_catalog.exposure_trends(
        ctx.session, ctx.project_id, "gate", [gate_id], ctx.clock.now_ms()
    )[gate_id]
    return render(
        request,
        "gate.html",
        ctx,
        title=f"Gate {gate['name']}",
        section="gates",
        status_code=status_code,
        gate=gate,
        status=_status(gate),
        editor=rules_editor.editor(
            request,
            base=_href(gate_id),
            rules=gate.get("rules") or [],
            default_line="Default: Fail — fallback when no rules are met",
            refused=refused,
            environments=rules_editor.environment_names(ctx.session, ctx.project_id),
        ),
        checks=figures.checks_sparkline(trend),
        override_count=len(passing) + len(failing),
        passing="\n".join(passing),
        failing="\n".join(failing),
        versions=versions,
        test_user=test_user,
        dialog=request.query_params.get("dialog", ""),
        disabled_edit=_disabled(can_edit, "Your role cannot edit gates"),
        disabled_launch=_disabled(
            ctx.member.can("launch_or_disable_configs"), "Your role cannot launch or disable gates"
        ),
        **extra,
    )


def _href(gate_id: str) -> str:
    return f"/ui/gates/{quote(gate_id, safe='')}"


def _back(gate_id: str, reviewed: bool = False) -> RedirectResponse:
    suffix = f"?{SUBMITTED}" if reviewed else ""
    return RedirectResponse(_href(gate_id) + suffix, status_code=303)


@router.get("/ui/gates/{gate_id}", include_in_schema=False)
def gate_page(request: Request, ctx: Web, gate_id: str) -> HTMLResponse:
    return _gate_page(request, ctx, gate_id)


@router.get("/ui/gates/{gate_id}/test", include_in_schema=False)
def test_gate(request: Request, ctx: Web, gate_id: str, user: str = "{}") -> HTMLResponse:
    gate = service.read(ctx.session, ctx.project_id, gate_id)
    values: dict[str, Any] = {}
    try:
        values["test_result"] = _test_result(ctx, request.app.state.spec_cache, gate, user)
    except InvalidInput as exc:
        values["test_error"] = exc.message
    if request.headers.get("hx-request"):
        return templates.TemplateResponse(request, "_test_result.html", values)
    return _gate_page(request, ctx, gate_id, test_user=user, **values)


@router.post("/ui/gates/{gate_id}/rules", include_in_schema=False)
def add_rule(request: Request, ctx: Web, gate_id: str, form: rules_editor.RuleFormIn) -> Response:
    ctx.require("edit_or_delete_configs")
    try:
        reviewed = reviewed_change(
            ctx,
            lambda: gate_rules.add_rules(
                ctx.session,
                ctx.change,
                gate_id,
                [form.rule(rules_editor.environment_names(ctx.session, ctx.project_id))],
            ),
        )
    except NotFound:
        raise
    except LockgateError as exc:
        ctx.session.rollback()
        refused = rules_editor.refusal(exc, rules_editor.NEW, form)
        return _gate_page(request, ctx, gate_id, status_code=422, refused=refused)
    return _back(gate_id, reviewed)


@router.post("/ui/gates/{gate_id}/rules/{rule_id}/split", include_in_schema=False)
def change_split(
    request: Request, ctx: Web, gate_id: str, rule_id: str, pass_percentage: str = Form("")
) -> Response:
    ctx.require("edit_or_delete_configs")
    try:
        update = RuleIn(pass_percentage=rules_editor.percentage(pass_percentage))
        reviewed = reviewed_change(
            ctx, lambda: gate_rules.update_rule(ctx.session, ctx.change, gate_id, rule_id, update)
        )
    except NotFound:
        raise
    except LockgateError as exc:
        ctx.session.rollback()
        refused = rules_editor.refusal(exc, rule_id)
        return _gate_page(request, ctx, gate_id, status_code=422, refused=refused)
    return _back(gate_id, reviewed)


@router.post("/ui/gates/{gate_id}/rules/{rule_id}/environments", include_in_schema=False)
def change_environments(
    request: Request,
    ctx: Web,
    gate_id: str,
    rule_id: str,
    environments: Annotated[list[str] | None, Form()] = None,
) -> Response:
    ctx.require("edit_or_delete_configs")
    try:
        known = rules_editor.environment_names(ctx.session, ctx.project_id)
        update = rules_editor.environments_update(environments or [], known)
        reviewed = reviewed_change(
            ctx, lambda: gate_rules.update_rule(ctx.session, ctx.change, gate_id, rule_id, update)
        )
    except NotFound:
        raise
    except LockgateError as exc:
        ctx.session.rollback()
        refused = rules_editor.refusal(exc, rule_id)
        return _gate_page(request, ctx, gate_id, status_code=422, refused=refused)
    return _back(gate_id, reviewed)


@router.post("/ui/gates/{gate_id}/rules/{rule_id}/delete", include_in_schema=False)
def delete_rule(ctx: Web, gate_id: str, rule_id: str) -> Response:
    ctx.require("edit_or_delete_configs")
    reviewed = reviewed_change(
        ctx, lambda: gate_rules.delete_rule(ctx.session, ctx.change, gate_id, rule_id)
    )
    return _back(gate_id, reviewed)


@router.post("/ui/gates/{gate_id}/overrides", include_in_schema=False)
def save_overrides(
    request: Request, ctx: Web, gate_id: str, passing: str = Form(""), failing: str = Form("")
) -> Response:
    ctx.require("edit_or_delete_configs")
    body = OverridesIn.model_validate(
        {"passingUserIDs": lines(passing), "failingUserIDs": lines(failing)}
    )
    try:
        reviewed = reviewed_change(
            ctx,
            lambda: overrides.change_overrides(ctx.session, ctx.change, gate_id, body, "replace"),
        )
    except NotFound:
        raise
    except LockgateError as exc:
        ctx.session.rollback()
        return _gate_page(request, ctx, gate_id, status_code=422, error=exc.message)
    return _back(gate_id, reviewed)


@router.post("/ui/gates/{gate_id}/launch", include_in_schema=False)
def launch(ctx: Web, gate_id: str) -> Response:
    ctx.require("launch_or_disable_configs")
    reviewed = reviewed_change(ctx, lambda: service.launch(ctx.session, ctx.change, gate_id))
    return _back(gate_id, reviewed)


@router.post("/ui/gates/{gate_id}/disable", include_in_schema=False)
def disable(ctx: Web, gate_id: str) -> Response:
    ctx.require("launch_or_disable_configs")
    reviewed = reviewed_change(ctx, lambda: service.disable(ctx.session, ctx.change, gate_id))
    return _back(gate_id, reviewed)


@router.post("/ui/gates/{gate_id}/enable", include_in_schema=False)
def enable(ctx: Web, gate_id: str) -> Response:
    ctx.require("launch_or_disable_configs")
    reviewed = reviewed_change(ctx, lambda: service.enable(ctx.session, ctx.change, gate_id))
    return _back(gate_id, reviewed)


@router.post("/ui/gates/{gate_id}/restore", include_in_schema=False)
def restore(ctx: Web, gate_id: str, version: int = Form(...)) -> Response:
    """Write an earlier version's rules and description back as a new version."""
    ctx.require("edit_or_delete_configs")
    documents, total = service.list_versions(
        ctx.session, ctx.project_id, gate_id, offset=0, limit=HISTORY_LIMIT
    )
    index = total - version
    if not 0 <= index < len(documents):
        raise NotFound(f"Gate {gate_id} has no version {version}.")
    old = documents[index]
    body = GateFullUpdate.model_validate(
        {
            "isEnabled": bool(old.get("isEnabled", True)),
            "description": old.get("description") or "",
            "rules": old.get("rules") or [],
        }
    )
    reviewed = reviewed_change(ctx, lambda: service.replace(ctx.session, ctx.change, gate_id, body))
    return _back(gate_id, reviewed)
