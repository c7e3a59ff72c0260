"""Console conditions to DCS conditions (`docs/compiling.md` §Conditions), and their ids.

A DCS condition lives in ``condition_map`` under ``djb2(JSON.stringify(condition))``, so equal
conditions share one entry and ids are stable across compiles.
"""

from __future__ import annotations

import collections.abc
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lockgate.cores.compiler.vocabulary import OPERATOR_TARGETS, Target
from lockgate.cores.evaluation.hashing import djb2
from lockgate.documents.specs import SpecCondition

# A stored console condition (``lockgate.documents.stored.StoredCondition``). Which of its keys
# a type needs (``field``, ``customID``, a list or a number as ``targetValue``) was checked when
# it was written, and no TypedDict can say it per type, so the mapping reads it untyped.
StoredConditionMap = collections.abc.Mapping[str, Any]

SEGMENT_PREFIX = "segment:"


@dataclass(frozen=True)
class Mapping:
    dcs_type: str
    # The DCS ``field`` from the console condition.
    field: Callable[[StoredConditionMap], str | None]
    additional: Callable[[StoredConditionMap], dict[str, str]] = lambda _c: {}


def _fixed(name: str | None) -> Callable[[StoredConditionMap], str | None]:
    return lambda _c: name


CONDITION_MAPPINGS: dict[str, Mapping] = {
    "public": Mapping("public", _fixed(None)),
    "user_id": Mapping("user_field", _fixed("userID")),
    "email": Mapping("user_field", _fixed("email")),
    "custom_field": Mapping(
        "user_field", lambda c: c["field"], lambda c: {"custom_field": c["field"]}
    ),
    "unit_id": Mapping("unit_id", lambda c: c["customID"], lambda c: {"custom_id": c["customID"]}),
    "app_version": Mapping("user_field", _fixed("appVersion")),
    "browser_name": Mapping("ua_based", _fixed("browser_name")),
    "browser_version": Mapping("ua_based", _fixed("browser_version")),
    "os_name": Mapping("ua_based", _fixed("os_name")),
    "os_version": Mapping("ua_based", _fixed("os_version")),
    "country": Mapping("ip_based", _fixed("country")),
    "ip_address": Mapping("user_field", _fixed("ip")),
    "locale": Mapping("user_field", _fixed("locale")),
    "device_model": Mapping("user_field", _fixed("device_model")),
    "user_agent": Mapping("user_field", _fixed("userAgent")),
    "environment_tier": Mapping("environment_field", _fixed("tier")),
    "time": Mapping("current_time", _fixed(None)),
    "passes_gate": Mapping("pass_gate", _fixed(None)),
    "fails_gate": Mapping("fail_gate", _fixed(None)),
    "passes_segment": Mapping("pass_gate", _fixed(None)),
    "fails_segment": Mapping("fail_gate", _fixed(None)),
    "target_app": Mapping("target_app", _fixed(None)),
    "experiment_group": Mapping("experiment_group", lambda c: c["field"]),
}

OPERATOR_RENAMES = {"regex": "str_matches", "is_null": "eq", "is_not_null": "neq"}


def js_number(value: float | int) -> int | float:
    """Numbers as JavaScript writes them: ``8.0`` is ``8``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def js_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(js_number(value))
    return str(value)


def _dcs_target(condition: StoredConditionMap, operator: str | None) -> Any:
    kind, value = condition["type"], condition["targetValue"]
    if kind in ("passes_segment", "fails_segment"):
        return f"{SEGMENT_PREFIX}{value}"
    if kind in ("passes_gate", "fails_gate"):
        return value
    if kind == "environment_tier":
        return [js_string(v) for v in value]
    if operator is None:
        return None
    target = OPERATOR_TARGETS[operator]
    if target is Target.NONE:
        return None
    if target is Target.LIST:
        return [js_string(v) for v in value]
    if target is Target.NUMBER or target is Target.DATE:
        return js_number(value)
    return value


def dcs_condition(condition: StoredConditionMap, id_type: str) -> SpecCondition:
    """The DCS form of one stored console condition, keys in Statsig's order."""
    mapping = CONDITION_MAPPINGS[condition["type"]]
    operator = condition["operator"]
    if condition["type"] == "environment_tier":
        operator = operator or "any"
    return {
        "type": mapping.dcs_type,
        "targetValue": _dcs_target(condition, operator),
        "operator": OPERATOR_RENAMES.get(operator, operator) if operator else None,
        "field": mapping.field(condition),
        "additionalValues": mapping.additional(condition),
        "idType": condition["customID"] if condition["type"] == "unit_id" else id_type,
    }


def environment_condition(environments: list[str], id_type: str) -> SpecCondition:
    """The leading condition a rule restricted to environments gets
    (docs/compiling.md §Environments)."""
    return {
        "type": "environment_field",
        "targetValue": list(environments),
        "operator": "any",
        "field": "tier",
        "additionalValues": {},
        "idType": id_type,
    }


def condition_id(condition: SpecCondition) -> str:
    return djb2(json.dumps(condition, separators=(",", ":"), ensure_ascii=False))


class ConditionMap:
    """Collects conditions for one payload, deduplicated by id."""

    def __init__(self) -> None:
        self.entries: dict[str, SpecCondition] = {}

    def add(self, condition: SpecCondition) -> str:
        cid = condition_id(condition)
        self.entries.setdefault(cid, condition)
        return cid
