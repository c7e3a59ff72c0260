"""Validate and normalise rules on write, with messages that name the rule and condition.

Stored rules keep two internal fields the API never shows: ``salt`` (what the pass percentage
hashes on; it survives rollout changes so raising a percentage only adds users) and
``rolloutCount`` (numbers the ``baseID:pct:n`` ids Statsig gives a rule whose rollout changed).
"""

from __future__ import annotations

import functools
import math
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from lockgate.cores.compiler.vocabulary import (
    CONDITION_TYPES,
    OPERATOR_TARGETS,
    SEGMENT_TYPES,
    UNEVALUATED_TYPES,
    ConditionType,
    Target,
)
from lockgate.documents.stored import StoredCondition, StoredRule
from lockgate.documents.values import JsonObject, JsonValue
from lockgate.domains.entities.limits import ID_LIST_HINT
from lockgate.domains.rules.schemas import ConditionIn, RuleIn
from lockgate.errors import InvalidInput
from lockgate.kit.ids import random_id
from lockgate.kit.limits import MAX_TARGET_VALUES

RuleKind = Literal["gate", "config", "segment"]
INTERNAL_RULE_FIELDS = ("salt", "rolloutCount")
_VERSION = re.compile(r"^\d+(\.\d+)*$")
# Whole floats below this are written as integers; above it a float is only an approximation
# of an integer (and may not fit in the 64 bits integers are stored in), so it stays a float.
_EXACT_INTEGERS = 2**53


@dataclass(frozen=True)
class RuleContext:
    """What the validator needs from the outside world, injected so it stays testable."""

    kind: RuleKind
    gate_exists: Callable[[str], bool]
    segment_exists: Callable[[str], bool]
    # Configs: checks a rule's returnValue (a value or its JSON5 text) against the config's
    # schema and returns the value; raises InvalidInput.
    check_value: Callable[[object, str], JsonObject] | None = None


def check_percentage(value: float | None, where: str) -> float:
    if value is None or isinstance(value, bool) or not math.isfinite(value):
        raise InvalidInput.field(where, "passPercentage is required and must be a number")
    if not 0 <= value <= 100:
        raise InvalidInput.field(where, f"passPercentage must be between 0 and 100, got {value:g}")
    if abs(round(value * 100) - value * 100) > 1e-6:
        raise InvalidInput.field(where, f"passPercentage allows at most 2 decimals, got {value:g}")
    return float(value) if value != int(value) else int(value)


def _scalar(value: JsonValue, where: str, what: str) -> JsonValue:
    if isinstance(value, list):
        if len(value) != 1:
            raise InvalidInput.field(where, f"{what} takes a single value, got {len(value)}")
        value = value[0]
    if value is None:
        raise InvalidInput.field(where, f"{what} needs a targetValue")
    return value


def _number(value: JsonValue, where: str, what: str) -> float | int:
    value = _scalar(value, where, what)
    if isinstance(value, bool):
        raise InvalidInput.field(where, f"{what} needs a number, got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise InvalidInput.field(where, f"{what} needs a number, got {value!r}") from None
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput.field(where, f"{what} needs a number, got {value!r}")
    if isinstance(value, float) and value.is_integer() and abs(value) < _EXACT_INTEGERS:
        return int(value)
    return value


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _target(condition: ConditionIn, target: Target, where: str, ctx: RuleContext) -> JsonValue:
    value = condition.target_value
    what = f"operator {condition.operator!r}" if condition.operator else condition.type
    if target is Target.NONE:
        return None
    if target is Target.LIST:
        items = value if isinstance(value, list) else [value]
        if value is None or not items:
            raise InvalidInput.field(where, f"{what} needs a targetValue with at least one value")
        if len(items) > MAX_TARGET_VALUES:  # before looking at each (entities.limits says why)
            raise InvalidInput.field(
                where,
                f"{what} takes at most {MAX_TARGET_VALUES} values, got {len(items)}; "
                f"{ID_LIST_HINT}",
            )
        for item in items:
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise InvalidInput.field(where, f"{what} takes strings or numbers, got {item!r}")
        if any(isinstance(i, str) for i in items) and not all(isinstance(i, str) for i in items):
            # A list is all strings or all numbers (the API's types); SDKs compare as strings.
            items = [_number_text(i) if isinstance(i, int | float) else i for i in items]
        return items
    if target is Target.NUMBER or target is Target.DATE:
        return _number(value, where, what)
    if target is Target.VERSION:
        text = str(_scalar(value, where, what)).strip()
        if not _VERSION.match(text.split("-", 1)[0]):
            raise InvalidInput.field(where, f"{what} needs a version like 1.2.3, got {text!r}")
        return text
    if target is Target.REGEX:
        pattern = _scalar(value, where, what)
        if not isinstance(pattern, str):
            raise InvalidInput.field(where, f"{what} needs a regular expression string")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise InvalidInput.field(
                where, f"invalid regular expression {pattern!r}: {exc}"
            ) from None
        return pattern
    name = _scalar(value, where, what)
    if not isinstance(name, str) or not name:
        raise InvalidInput.field(
            where, f"{condition.type} needs the id of a {target.value} as targetValue"
        )
    exists = ctx.gate_exists if target is Target.GATE else ctx.segment_exists
    if not exists(name):
        raise InvalidInput.field(
            where, f"{condition.type} names {target.value} {name!r}, which does not exist"
        )
    return name


def normalise_condition(condition: ConditionIn, where: str, ctx: RuleContext) -> StoredCondition:
    kind = condition.type
    if kind in UNEVALUATED_TYPES:
        raise InvalidInput.field(
            where, f"condition type {kind!r} is not supported: no SDK evaluates it"
        )
    spec: ConditionType | None = CONDITION_TYPES.get(kind)
    if spec is None:
        raise InvalidInput.field(
            where, f"unknown condition type {kind!r} (known: {', '.join(sorted(CONDITION_TYPES))})"
        )
    if ctx.kind == "segment" and kind not in SEGMENT_TYPES:
        raise InvalidInput.field(where, f"condition type {kind!r} cannot be used in a segment rule")
    operator = condition.operator.lower() if condition.operator else None
    if not spec.operators:
        # public, passes_gate, ...: an operator is meaningless; null or "any" are tolerated.
        if operator not in (None, "any", "none") or (operator == "none" and kind != "public"):
            raise InvalidInput.field(where, f"{kind} takes no operator, got {condition.operator!r}")
        operator = None
        target = spec.target
    else:
        operator = operator or spec.default_operator
        if operator is None:
            raise InvalidInput.field(
                where, f"{kind} needs an operator ({', '.join(sorted(spec.operators))})"
            )
        if operator not in spec.operators:
            raise InvalidInput.field(
                where,
                f"operator {condition.operator!r} is not valid for {kind} "
                f"(valid: {', '.join(sorted(spec.operators))})",
            )
        target = OPERATOR_TARGETS[operator]
    field = condition.field
    if spec.needs_field and not field:
        raise InvalidInput.field(where, f"{kind} needs 'field' (the {_field_meaning(kind)})")
    if spec.needs_custom_id and not condition.custom_id:
        raise InvalidInput.field(
            where, "unit_id needs 'customID' (the unit id type, e.g. companyID)"
        )
    value = None if target is None else _target(condition, target, where, ctx)
    if kind == "environment_tier":
        value = _target(condition, Target.LIST, where, ctx)
    return {
        "type": kind,
        "operator": operator,
        "targetValue": value,
        "field": field if spec.needs_field else None,
        "customID": condition.custom_id if spec.needs_custom_id else None,
    }


def _field_meaning(kind: str) -> str:
    return "experiment id" if kind == "experiment_group" else "custom field name"


def _format_pct(value: float) -> str:
    return f"{value:.2f}"


def build_rules(
    incoming: Sequence[RuleIn], ctx: RuleContext, existing: Sequence[StoredRule] = ()
) -> list[StoredRule]:
    """Validate ``incoming`` and return stored rules; ``existing`` keeps ids and salts stable.

    Each gate or segment the rules name is looked up once, however many conditions name it."""
    ctx = replace(
        ctx,
        gate_exists=functools.cache(ctx.gate_exists),
        segment_exists=functools.cache(ctx.segment_exists),
    )
    by_id: dict[str, StoredRule] = {}
    for old in existing:
        by_id[old["id"]] = old
        by_id[old["baseID"]] = old
    names: set[str] = set()
    built: list[StoredRule] = []
    for index, rule in enumerate(incoming):
        name = (rule.name or "").strip()
        where = f'rules[{index}] "{name}"' if name else f"rules[{index}]"
        if not name:
            raise InvalidInput.field(where, "name is required")
        if name.lower() in names:
            raise InvalidInput.field(where, f"rule name {name!r} is used by another rule")
        names.add(name.lower())
        previous = by_id.get(rule.id or "") or by_id.get(rule.base_id or "")
        built.append(_build_rule(rule, name, where, ctx, previous))
    return built


def _build_rule(
    rule: RuleIn, name: str, where: str, ctx: RuleContext, previous: StoredRule | None
) -> StoredRule:
    # An omitted percentage keeps the rule's current one; only a new config rule defaults to
    # 100 (passPercentage is optional on config rules).
    if rule.pass_percentage is None and previous is not None:
        percentage: float = previous["passPercentage"]
    elif rule.pass_percentage is None and ctx.kind == "config":
        percentage = 100
    else:
        percentage = check_percentage(rule.pass_percentage, where)
    if rule.conditions is None:
        if previous is None:
            raise InvalidInput.field(
                where, "conditions is required ([] or a public condition for everyone)"
            )
        conditions = previous["conditions"]
    else:
        conditions = [
            normalise_condition(c, f"{where} condition {j} ({c.type})", ctx)
            for j, c in enumerate(rule.conditions)
        ]
    environments = list(rule.environments) if rule.environments is not None else None
    if previous is None:
        rule_id = base_id = random_id()
        salt, rollouts = str(uuid.uuid4()), 0
    else:
        rule_id, base_id, salt = previous["id"], previous["baseID"], previous["salt"]
        rollouts = previous.get("rolloutCount", 0)
        if percentage != previous["passPercentage"]:
            rollouts += 1
            rule_id = f"{previous['baseID']}:{_format_pct(percentage)}:{rollouts}"
    stored: StoredRule = {
        "name": name,
        "passPercentage": percentage,
        "conditions": conditions,
        "environments": environments,
        "id": rule_id,
        "baseID": base_id,
        "salt": salt,
        "rolloutCount": rollouts,
    }
    if ctx.kind == "config":
        value = rule.return_value if rule.return_value is not None else {}
        if ctx.check_value is not None:
            value = ctx.check_value(
                rule.return_value_json5 if rule.return_value_json5 is not None else value,
                f"{where} returnValue",
            )
        elif not isinstance(value, dict):
            raise InvalidInput.field(where, "returnValue must be a JSON object")
        stored["returnValue"] = value
    return stored


def merge_rule_update(current: StoredRule, update: RuleIn, ctx: RuleContext) -> StoredRule:
    """Apply a partial rule update (``RuleUpdateDto``) to one stored rule."""
    merged = RuleIn.model_validate(
        {
            "id": current["id"],
            "name": update.name if update.name is not None else current["name"],
            "passPercentage": update.pass_percentage,
            "conditions": [_condition_wire(c) for c in current["conditions"]]
            if update.conditions is None
            else [c.model_dump(by_alias=True) for c in update.conditions],
            "environments": update.environments
            if "environments" in update.model_fields_set
            else current.get("environments"),
            "returnValue": update.return_value
            if update.return_value is not None
            else current.get("returnValue"),
            "returnValueJson5": update.return_value_json5,
        }
    )
    return build_rules([merged], ctx, [current])[0]


def _condition_wire(condition: StoredCondition) -> dict[str, object]:
    return {k: v for k, v in condition.items() if v is not None}


def public_rule(rule: StoredRule) -> dict[str, object]:
    """A stored rule as the API shows it (``RuleDto``): without its internal fields, and each
    condition without the keys its type does not use."""
    shown = {k: v for k, v in rule.items() if k not in INTERNAL_RULE_FIELDS}
    shown["conditions"] = [
        {k: v for k, v in c.items() if v is not None or k in ("type",)} for c in rule["conditions"]
    ]
    return shown


def find_rule(rules: Sequence[Mapping[str, Any]], rule_id: str) -> int | None:
    """Index of the rule (stored, or as the API shows it) with this id or base id."""
    for index, rule in enumerate(rules):
        if rule_id in (rule["id"], rule["baseID"]):
            return index
    return None


def find_rule_by_name(rules: Sequence[Mapping[str, Any]], name: str) -> int | None:
    for index, rule in enumerate(rules):
        if rule["name"].lower() == name.lower():
            return index
    return None
