"""Words for the rules editor: criteria and operator labels, and the one-line sentence that says
what a rule does ("email contains any of @acme.com → 100% pass"). Which operators a criteria
offers comes from the same condition table that validates Console API writes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple

from lockgate.cores.compiler.vocabulary import CONDITION_TYPES, Target

CRITERIA_LABELS: Final[dict[str, str]] = {
    "public": "Everyone",
    "user_id": "User ID",
    "email": "Email",
    "custom_field": "Custom field",
    "unit_id": "Unit ID",
    "app_version": "App version",
    "browser_name": "Browser name",
    "browser_version": "Browser version",
    "os_name": "Operating system",
    "os_version": "OS version",
    "device_model": "Device model",
    "country": "Country",
    "locale": "Locale",
    "ip_address": "IP address",
    "user_agent": "User agent",
    "environment_tier": "Environment tier",
    "time": "Time",
    "target_app": "Target app",
    "passes_gate": "Passes gate",
    "fails_gate": "Fails gate",
    "passes_segment": "User in segment",
    "fails_segment": "User not in segment",
    "experiment_group": "Experiment group",
}

OPERATOR_LABELS: Final[dict[str, str]] = {
    "any": "is any of",
    "none": "is none of",
    "any_case_sensitive": "is any of (case sensitive)",
    "none_case_sensitive": "is none of (case sensitive)",
    "str_contains_any": "contains any of",
    "str_contains_none": "contains none of",
    "str_starts_with_any": "starts with any of",
    "str_ends_with_any": "ends with any of",
    "regex": "matches regex",
    "str_matches": "matches regex",
    "is_null": "is not set",
    "is_not_null": "is set",
    "lt": "<",
    "gt": ">",
    "lte": "≤",
    "gte": "≥",
    "version_lt": "version <",
    "version_gt": "version >",
    "version_lte": "version ≤",
    "version_gte": "version ≥",
    "version_eq": "version =",
    "version_neq": "version ≠",
    "before": "before",
    "after": "after",
    "on": "on",
    "array_contains_any": "array contains any of",
    "array_contains_none": "array contains none of",
    "array_contains_all": "array contains all of",
    "not_array_contains_all": "array does not contain all of",
}


class Side(NamedTuple):
    """One changed thing of a version, before and after."""

    what: str
    before: str
    after: str


# Shown first in the operator list of a text criteria.
_FIRST: Final[tuple[str, ...]] = ("any", "none", "str_contains_any", "str_contains_none")


def criteria_options() -> list[tuple[str, str]]:
    return [(name, CRITERIA_LABELS.get(name, name)) for name in CONDITION_TYPES]


def operators_of(criteria: str) -> list[tuple[str, str]]:
    """The operators ``criteria`` accepts, in a stable order, with their labels."""
    kind = CONDITION_TYPES[criteria]
    ordered = [op for op in _FIRST if op in kind.operators]
    ordered += sorted(op for op in kind.operators if op not in _FIRST)
    return [(op, OPERATOR_LABELS.get(op, op)) for op in ordered]


def takes_values(criteria: str) -> bool:
    kind = CONDITION_TYPES[criteria]
    return bool(kind.operators) or kind.target in (Target.GATE, Target.SEGMENT)


def _values(target: Any) -> str:
    if isinstance(target, list):
        return ", ".join(str(v) for v in target)
    return "" if target is None else str(target)


def condition_sentence(condition: Mapping[str, Any]) -> str:
    kind = str(condition.get("type", ""))
    if kind == "public":
        return "everyone"
    subject = CRITERIA_LABELS.get(kind, kind).lower()
    if condition.get("field"):
        subject = f"{subject} {condition['field']}"
    operator = condition.get("operator")
    verb = OPERATOR_LABELS.get(str(operator), str(operator)) if operator else ""
    values = _values(condition.get("targetValue"))
    return " ".join(part for part in (subject, verb, values) if part)


def rule_sentence(rule: Mapping[str, Any]) -> str:
    conditions: Sequence[Mapping[str, Any]] = rule.get("conditions") or []
    who = " and ".join(condition_sentence(c) for c in conditions) or "everyone"
    return f"{who} → {percent(rule.get('passPercentage', 0))} pass"


def percent(value: Any) -> str:
    number = float(value or 0)
    return f"{int(number)}%" if number.is_integer() else f"{number}%"


def version_changes(older: Mapping[str, Any] | None, newer: Mapping[str, Any]) -> list[str]:
    """What changed from ``older`` to ``newer``, in sentences (history says what, not only who)."""
    if older is None:
        return [f"Created gate {newer.get('name')}"]
    lines: list[str] = []
    if older.get("status") != newer.get("status"):
        lines.append(f"Status: {older.get('status')} to {newer.get('status')}")
    if older.get("description") != newer.get("description"):
        lines.append("Description changed")
    # Rules keyed by name: an edited rule gets a new id, but keeps its name (unique per gate).
    before = {r.get("name"): r for r in older.get("rules") or []}
    after = {r.get("name"): r for r in newer.get("rules") or []}
    for rule_id, rule in after.items():
        name = rule.get("name")
        if rule_id not in before:
            lines.append(f"Added rule {name}: {rule_sentence(rule)}")
            continue
        old = before[rule_id]
        if old.get("passPercentage") != rule.get("passPercentage"):
            lines.append(
                f"Rule {name}: pass {percent(old.get('passPercentage'))} to "
                f"{percent(rule.get('passPercentage'))}"
            )
        if old.get("conditions") != rule.get("conditions"):
            lines.append(f"Rule {name}: {rule_sentence(old)} to {rule_sentence(rule)}")
    lines += [f"Removed rule {r.get('name')}" for i, r in before.items() if i not in after]
    if older.get("overrides") != newer.get("overrides"):
        lines.append("Overrides changed")
    return lines or ["Overrides or settings changed"]


def version_pairs(older: Mapping[str, Any] | None, newer: Mapping[str, Any]) -> list[Side]:
    """What a version changed, as (what, before, after) rows shown side by side in Preview."""
    pairs: list[Side] = []
    old: Mapping[str, Any] = older or {}
    for label, key in (("Status", "status"), ("Description", "description")):
        if old.get(key) != newer.get(key):
            pairs.append(Side(label, str(old.get(key) or "—"), str(newer.get(key) or "—")))
    before = {r.get("name"): r for r in old.get("rules") or []}
    after = {r.get("name"): r for r in newer.get("rules") or []}
    for name in [*after, *(n for n in before if n not in after)]:
        was = rule_sentence(before[name]) if name in before else "—"
        now = rule_sentence(after[name]) if name in after else "—"
        if was != now:
            pairs.append(Side(f"Rule {name}", was, now))
    return pairs
