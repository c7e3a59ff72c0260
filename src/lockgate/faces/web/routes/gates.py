"""Feature gates: the catalog, the gate page (rules, overrides, Test Gate, launch and disable,
history with restore). Every change goes through the gates domain, as the Console API's do."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from lockgate.cores.compiler.vocabulary import CONDITION_TYPES
from lockgate.domains.events import catalog as events_catalog
from lockgate.domains.gates import gate_rules, overrides, repository, service
from lockgate.domains.gates.schemas import GateCreate, GateFullUpdate, OverridesIn
from lockgate.domains.rules.schemas import ConditionIn, RuleIn
from lockgate.domains.specs.cache import SpecCache
from lockgate.errors import InvalidInput, LockgateError, NotFound
from lockgate.faces.web import figures, vocabulary
from lockgate.faces.web.forms import disabled
from lockgate.faces.web.pages import PAGE_SIZE, WebRoute, pager, render, templates, when
from lockgate.faces.web.session import Web, WebContext

router = APIRouter(route_class=WebRoute)
HISTORY_LIMIT = 50
DEFAULT_CRITERIA = "email"


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
    criteria: str = DEFAULT_CRITERIA,
    status_code: int = 200,
    test_user: str = '{"userID": ""}',
    **extra: Any,
) -> HTMLResponse:
    gate = service.read(ctx.session, ctx.project_id, gate_id)
    if criteria not in CONDITION_TYPES:
        criteria = DEFAULT_CRITERIA
    rules = [dict(r, sentence=vocabulary.rule_sentence(r)) for r in gate.get("rules") or []]
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
        checks=figures.checks_sparkline(trend),
        rules=rules,
        criteria=criteria,
        criteria_label=vocabulary.CRITERIA_LABELS.get(criteria, criteria),
        criteria_options=vocabulary.criteria_options(),
        criteria_chosen="criteria" in request.query_params,
        operators=vocabulary.operators_of(criteria),
        needs_field=CONDITION_TYPES[criteria].needs_field,
        takes_values=vocabulary.takes_values(criteria),
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


def _back(gate_id: str) -> RedirectResponse:
    return RedirectResponse(f"/ui/gates/{quote(gate_id, safe='')}", status_code=303)


@router.get("/ui/gates/{gate_id}", include_in_schema=False)
def gate_page(
    request: Request, ctx: Web, gate_id: str, criteria: str = DEFAULT_CRITERIA
) -> HTMLResponse:
    return _gate_page(request, ctx, gate_id, criteria=criteria)


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
def add_rule(
    request: Request,
    ctx: Web,
    gate_id: str,
    rule_name: str = Form(""),
    criteria: str = Form(DEFAULT_CRITERIA),
    operator: str | None = Form(None),
    field: str | None = Form(None),
    values: str = Form(""),
    pass_percentage: str = Form("0"),
) -> Response:
    ctx.require("edit_or_delete_configs")
    try:
        if criteria not in CONDITION_TYPES:
            raise InvalidInput(f"Unknown criteria {criteria!r}.")
        targets = [v.strip() for v in values.split(",") if v.strip()]
        target: Any = targets
        if not CONDITION_TYPES[criteria].operators and targets:
            target = targets[0]
        try:
            percentage = float(pass_percentage)
        except ValueError as exc:
            raise InvalidInput("The pass percentage must be a number from 0 to 100.") from exc
        condition = ConditionIn.model_validate(
            {
                "type": criteria,
                "operator": operator or None,
                "field": field or None,
                "targetValue": target if vocabulary.takes_values(criteria) else None,
            }
        )
        rule = RuleIn(name=rule_name.strip(), pass_percentage=percentage, conditions=[condition])
        gate_rules.add_rules(ctx.session, ctx.change, gate_id, [rule])
    except NotFound:
        raise
    except LockgateError as exc:
        ctx.session.rollback()
        return _gate_page(
            request, ctx, gate_id, criteria=criteria, status_code=422, rule_error=exc.message
        )
    return _back(gate_id)


@router.post("/ui/gates/{gate_id}/rules/{rule_id}/split", include_in_schema=False)
def change_split(
    request: Request, ctx: Web, gate_id: str, rule_id: str, pass_percentage: str = Form("")
) -> Response:
    ctx.require("edit_or_delete_configs")
    try:
        try:
            percentage = float(pass_percentage)
        except ValueError as exc:
            raise InvalidInput("The pass percentage must be a number from 0 to 100.") from exc
        gate_rules.update_rule(
            ctx.session, ctx.change, gate_id, rule_id, RuleIn(pass_percentage=percentage)
        )
    except NotFound:
        raise
    except LockgateError as exc:
        ctx.session.rollback()
        return _gate_page(request, ctx, gate_id, status_code=422, error=exc.message)
    return _back(gate_id)


@router.post("/ui/gates/{gate_id}/rules/{rule_id}/delete", include_in_schema=False)
def delete_rule(ctx: Web, gate_id: str, rule_id: str) -> Response:
    ctx.require("edit_or_delete_configs")
    gate_rules.delete_rule(ctx.session, ctx.change, gate_id, rule_id)
    return _back(gate_id)


def _ids(text: str) -> list[str]:
    return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


@router.post("/ui/gates/{gate_id}/overrides", include_in_schema=False)
def save_overrides(
    request: Request, ctx: Web, gate_id: str, passing: str = Form(""), failing: str = Form("")
) -> Response:
    ctx.require("edit_or_delete_configs")
    body = OverridesIn.model_validate(
        {"passingUserIDs": _ids(passing), "failingUserIDs": _ids(failing)}
    )
    try:
        overrides.change_overrides(ctx.session, ctx.change, gate_id, body, "replace")
    except NotFound:
        raise
    except LockgateError as exc:
        ctx.session.rollback()
        return _gate_page(request, ctx, gate_id, status_code=422, error=exc.message)
    return _back(gate_id)


@router.post("/ui/gates/{gate_id}/launch", include_in_schema=False)
def launch(ctx: Web, gate_id: str) -> Response:
    ctx.require("launch_or_disable_configs")
    service.launch(ctx.session, ctx.change, gate_id)
    return _back(gate_id)


@router.post("/ui/gates/{gate_id}/disable", include_in_schema=False)
def disable(ctx: Web, gate_id: str) -> Response:
    ctx.require("launch_or_disable_configs")
    service.disable(ctx.session, ctx.change, gate_id)
    return _back(gate_id)


@router.post("/ui/gates/{gate_id}/enable", include_in_schema=False)
def enable(ctx: Web, gate_id: str) -> Response:
    ctx.require("launch_or_disable_configs")
    service.enable(ctx.session, ctx.change, gate_id)
    return _back(gate_id)


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
    service.replace(ctx.session, ctx.change, gate_id, body)
    return _back(gate_id)
