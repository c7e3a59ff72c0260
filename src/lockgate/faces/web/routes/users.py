"""User lookup: for one unit of any unit id type, the properties its latest events and exposures
carried; every gate, dynamic config and experiment with its value, the rule that decided it and
why, evaluated by the SDKs' evaluator over the same cached spec as ``/v1/check_gate`` and
``/v1/get_config``, a page at a time (filtered by kind and name); then the unit's latest
exposures and events."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lockgate.cores.evaluation.evaluator import Evaluator
from lockgate.cores.evaluation.results import DEFAULT_RULE_ID, DISABLED_RULE_ID, Reason
from lockgate.cores.evaluation.spec import Spec
from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import DYNAMIC_CONFIG, GATE, EntityKind
from lockgate.domains.environments import service as environments_service
from lockgate.domains.events import catalog as events_catalog
from lockgate.domains.unit_id_types import service as unit_id_types_service
from lockgate.errors import InvalidInput
from lockgate.faces.web import vocabulary
from lockgate.faces.web.pages import WebRoute, pager, render, when
from lockgate.faces.web.session import Web, WebContext
from lockgate.kit.db import Database

router = APIRouter(route_class=WebRoute)
MAX_USER_CHARS = 8_000
MAX_ID_CHARS = 512
RECENT = 50
BUILT_IN_TYPES = ("userID", "stableID")


def explain(spec: Spec, rule_id: str, reason: Reason) -> str | None:
    """Why the evaluator answered as it did, in words; None when one of the entity's own rules
    decided (the compiled spec knows its id, the entity's document its name)."""
    if reason is not Reason.RECOGNIZED:
        return f"not evaluated ({reason})"
    if rule_id.endswith("override"):
        return "ID override"
    if rule_id == DEFAULT_RULE_ID:
        return "default: no rule matched"
    if rule_id == DISABLED_RULE_ID:
        if spec.default_value is True:
            return "launched: rules not evaluated"
        return "disabled: rules not evaluated"
    return None


def _rule_names(ctx: WebContext, kind: EntityKind, rows: list[dict[str, Any]]) -> None:
    """Fill ``why`` of the rows a rule decided with the rule's name, reading only the
    documents of those entities."""
    decided = [row for row in rows if row["why"] is None]
    if not decided:
        return
    ids = sorted({row["name"] for row in decided})
    documents, _ = entities.list_rows(ctx.session, kind, ctx.project_id, [kind.model.id.in_(ids)])
    rules = {
        (document.id, rule.get("id")): rule
        for document in documents
        for rule in document.document.get("rules") or []
    }
    for row in decided:
        rule = rules.get((row["name"], row["rule_id"])) or {}
        row["why"] = f"rule {rule.get('name') or row['rule_id']}"
        if not row["passed"] and "passPercentage" in rule:
            # The rule matched, but the unit's hash fell outside its pass percentage.
            row["why"] += f", outside its {vocabulary.percent(rule['passPercentage'])} pass"


def lookup_user(
    unit_id: str, id_type: str, raw_user: str, environment: str
) -> dict[str, Any] | None:
    """The user the form describes, or None when it describes nobody yet."""
    if len(raw_user) > MAX_USER_CHARS:
        raise InvalidInput(f"The user is limited to {MAX_USER_CHARS} characters.")
    if len(unit_id) > MAX_ID_CHARS:
        raise InvalidInput(f"The unit ID is limited to {MAX_ID_CHARS} characters.")
    user: dict[str, Any] = {}
    if raw_user.strip():
        try:
            parsed = json.loads(raw_user)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"The user is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
            ) from exc
        if not isinstance(parsed, dict):
            raise InvalidInput('The user must be a JSON object, such as {"userID": "u1"}.')
        user = parsed
    if unit_id:
        if id_type == "userID":
            user["userID"] = unit_id
        else:
            custom = user.get("customIDs")
            user["customIDs"] = {**(custom if isinstance(custom, dict) else {}), id_type: unit_id}
    if environment:
        user["statsigEnvironment"] = {"tier": environment}
    return user or None


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


# The evaluate-all table's kinds: (query value, the store's entity type).
KINDS = (("gates", "feature_gate"), ("configs", "dynamic_config"), ("experiments", "experiment"))
EVALUATED_PAGE_SIZE = 100


@dataclass(frozen=True)
class Evaluated:
    """One page of the evaluate-all table: each kind's rows on the page, and how many of each
    kind match the filter."""

    rows: dict[str, list[dict[str, Any]]]
    matching: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.matching.values())


def _names(evaluator: Evaluator, kind: str, text: str) -> list[str]:
    """The names of ``kind`` in the spec containing ``text`` (any case), sorted."""
    entity = dict(KINDS)[kind]
    specs = evaluator.store.feature_gates if kind == "gates" else evaluator.store.dynamic_configs
    lowered = text.lower()
    return sorted(
        name for name, spec in specs.items() if spec.entity == entity and lowered in name.lower()
    )


def _gate_row(evaluator: Evaluator, user: dict[str, Any], name: str) -> dict[str, Any]:
    gate = evaluator.check_gate(user, name)
    spec = evaluator.store.feature_gates[name]
    return {
        "name": name,
        "value": "PASS" if gate.value else "FAIL",
        "passed": gate.value,
        "rule_id": gate.rule_id,
        "why": explain(spec, gate.rule_id, gate.reason),
        "reason": str(gate.reason),
    }


def _config_row(evaluator: Evaluator, user: dict[str, Any], name: str) -> dict[str, Any]:
    config = evaluator.get_config(user, name, copy_value=False)
    spec = evaluator.store.dynamic_configs[name]
    row = {
        "name": name,
        "value": _json(dict(config.value)),
        "group": config.group_name or "",
        "passed": config.passed,
        "rule_id": config.rule_id,
        "why": explain(spec, config.rule_id, config.reason),
        "reason": str(config.reason),
    }
    if spec.entity == "experiment" and row["why"] is None:
        row["why"] = f"group {row['group']}" if row["group"] else f"rule {row['rule_id']}"
    return row


def evaluate_all(
    evaluator: Evaluator,
    user: dict[str, Any],
    *,
    kind: str = "",
    name: str = "",
    offset: int = 0,
    limit: int | None = None,
) -> Evaluated:
    """The gates, dynamic configs and experiments of the spec (of ``kind`` when given, named
    with ``name`` in them), in that order and by name, from ``offset``: only the ``limit``
    shown are evaluated for ``user``."""
    matching = {k: _names(evaluator, k, name) if kind in ("", k) else [] for k, _ in KINDS}
    end = None if limit is None else offset + limit
    rows: dict[str, list[dict[str, Any]]] = {}
    start = 0
    for k, _ in KINDS:
        names = matching[k]
        shown = names[max(0, offset - start) : None if end is None else max(0, end - start)]
        start += len(names)
        row = _gate_row if k == "gates" else _config_row
        rows[k] = [row(evaluator, user, n) for n in shown]
    return Evaluated(rows, {k: len(v) for k, v in matching.items()})


def _id_types(ctx: WebContext) -> list[str]:
    custom, _ = unit_id_types_service.list_(ctx.session, ctx.project_id, offset=0, limit=1000)
    names = list(BUILT_IN_TYPES)
    lowered = {n.lower() for n in names}
    names += [t["name"] for t in custom if t["name"].lower() not in lowered]
    return names


@router.get("/ui/users", include_in_schema=False)
def users(
    request: Request,
    ctx: Web,
    id: str = "",
    type: str = "userID",
    user: str = "",
    environment: str = "",
    kind: str = "",
    name: str = "",
    page: int = 1,
) -> HTMLResponse:
    id_types = _id_types(ctx)
    environments = [
        e["name"] for e in environments_service.read(ctx.session, ctx.project_id)["environments"]
    ]
    page = max(1, page)
    values: dict[str, Any] = {
        "unit_id": id,
        "id_type": type,
        "raw_user": user,
        "environment": environment,
        "id_types": id_types,
        "environments": environments,
        "kind": kind,
        "name_filter": name,
        "kinds": [k for k, _ in KINDS],
    }
    status_code = 200
    try:
        if type not in id_types:
            raise InvalidInput(f"Unknown unit type {type!r}; choose one of the list.")
        if environment and environment not in environments:
            raise InvalidInput(f"Unknown environment {environment!r}; choose one of the list.")
        if kind and kind not in dict(KINDS):
            raise InvalidInput(f"Unknown kind {kind!r}; choose gates, configs or experiments.")
        if len(name) > MAX_ID_CHARS:
            raise InvalidInput(f"The name filter is limited to {MAX_ID_CHARS} characters.")
        looked_up = lookup_user(id.strip(), type, user, environment)
    except InvalidInput as exc:
        looked_up, status_code, values["error"] = None, 422, exc.message
    if looked_up is not None:
        evaluator = request.app.state.spec_cache.get(ctx.project_id).evaluator
        evaluated = evaluate_all(
            evaluator,
            looked_up,
            kind=kind,
            name=name,
            offset=(page - 1) * EVALUATED_PAGE_SIZE,
            limit=EVALUATED_PAGE_SIZE,
        )
        _rule_names(ctx, GATE, evaluated.rows["gates"])
        _rule_names(ctx, DYNAMIC_CONFIG, evaluated.rows["configs"])
        values["evaluated"] = evaluated
        values["pager"] = pager(request, page, evaluated.total, EVALUATED_PAGE_SIZE)
        values["evaluated_user"] = _json(looked_up)
        if id.strip():
            # A session of its own: landed events are moved before its first statement, and the
            # page's session has already read. See
            # docs/architecture.md §Events: incoming, then settled
            database: Database = request.app.state.database
            with database.transaction(write=False) as events_session:
                activity = events_catalog.for_unit(
                    events_session, ctx.project_id, type, id.strip(), limit=RECENT
                )
            values["exposures"] = [dict(e, when=when(e["time"])) for e in activity.exposures]
            values["events"] = [dict(e, when=when(e["time"])) for e in activity.events]
            values["properties"] = [
                dict(
                    p,
                    when=when(p["time"]),
                    shown=p["value"] if isinstance(p["value"], str) else _json(p["value"]),
                )
                for p in activity.properties
            ]
    title = f"User {id.strip()}" if id.strip() else "User lookup"
    return render(
        request, "users.html", ctx, title=title, section="users", status_code=status_code, **values
    )
