"""How large one entity document may grow (the bounds and their reasons are in ``kit.limits``).

Checked on every write of every kind (``entities.service.insert`` and ``save``), whatever the
route that assembled the document: a rule added one at a time counts like a list of rules.
Each refusal names the list at fault, in the stored document's terms.
"""

from __future__ import annotations

from typing import Any

import orjson

from lockgate.domains.entities.kinds import EntityKind
from lockgate.errors import InvalidInput
from lockgate.kit.limits import (
    MAX_CONDITIONS_PER_RULE,
    MAX_ENTITY_BYTES,
    MAX_GROUPS,
    MAX_PARAMETERS,
    MAX_RULES,
    MAX_TARGET_VALUES,
)

ID_LIST_HINT = "put larger sets of ids in an id-list segment"
RULE_LISTS = ("rules", "inlineTargetingRules")
GROUP_LISTS = ("groups", "variants")


def _at_most(items: Any, limit: int, where: str, what: str, hint: str = "") -> None:
    if isinstance(items, list | dict) and len(items) > limit:
        problem = f"holds {len(items)} {what}; at most {limit} are allowed"
        raise InvalidInput.field(where, f"{problem} ({hint})" if hint else problem)


def _check_rules(rules: Any, where: str) -> None:
    _at_most(rules, MAX_RULES, where, "rules")
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        conditions = rule.get("conditions") or []
        _at_most(conditions, MAX_CONDITIONS_PER_RULE, f"{where}.{i}.conditions", "conditions")
        for j, condition in enumerate(conditions):
            _at_most(
                condition.get("targetValue"),
                MAX_TARGET_VALUES,
                f"{where}.{i}.conditions.{j}.targetValue",
                "values",
                ID_LIST_HINT,
            )
        _at_most(rule.get("variants"), MAX_GROUPS, f"{where}.{i}.variants", "variants")


def check_document(kind: EntityKind, document: dict[str, Any]) -> None:
    """Refuse a document whose lists or serialised size pass the bounds."""
    for key in RULE_LISTS:
        if key in document:
            _check_rules(document[key], key)
    for key in GROUP_LISTS:
        groups = document.get(key)
        _at_most(groups, MAX_GROUPS, key, key)
        for i, group in enumerate(groups if isinstance(groups, list) else []):
            values = group.get("parameterValues") if isinstance(group, dict) else None
            _at_most(values, MAX_PARAMETERS, f"{key}.{i}.parameterValues", "parameters")
    _at_most(document.get("parameters"), MAX_PARAMETERS, "parameters", "parameters")
    size = len(orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS))
    if size > MAX_ENTITY_BYTES:
        raise InvalidInput.field(
            "body",
            f"the {kind.label.lower()} would take {size} bytes as JSON; an entity may take at "
            f"most {MAX_ENTITY_BYTES}, since every SDK downloads it ({ID_LIST_HINT})",
        )
