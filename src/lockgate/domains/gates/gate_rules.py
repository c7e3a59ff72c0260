"""Rule operations on one gate: append, update in place by id, delete.

Rules are addressed by ``id`` or ``baseID`` (a rule whose rollout changed has an id like
``<baseID>:10.00:1``; its base id keeps working).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from lockgate.documents.stored import StoredRule
from lockgate.domains.gates import service
from lockgate.domains.rules.schemas import RuleIn
from lockgate.domains.rules.validation import find_rule, find_rule_by_name, merge_rule_update
from lockgate.errors import InvalidInput, NotFound
from lockgate.kit.actor import Change

RULES_UPDATED = "config_conditions_update"


def rule_not_found(gate_id: str, rule_id: str) -> NotFound:
    return NotFound(f"Rule {rule_id!r} not found in gate {gate_id!r}.")


def add_rules(session: Session, change: Change, gate_id: str, incoming: Sequence[RuleIn]) -> Any:
    if not incoming:
        raise InvalidInput.field("rules", "must contain at least one rule")

    def edit(document: dict[str, Any]) -> None:
        added = service.checked_rules(session, change.project_id, gate_id, incoming)
        service.store_rules(session, change.project_id, document, [*document["rules"], *added])

    log = "Added Gate Rule" if len(incoming) == 1 else f"Added {len(incoming)} Gate Rules"
    return service.apply_edit(session, change, gate_id, edit, action=RULES_UPDATED, change_log=log)


def update_rules(session: Session, change: Change, gate_id: str, updates: Sequence[RuleIn]) -> Any:
    """``PATCH /gates/{id}/rules``: change the listed rules in place; never add or delete."""
    if not updates:
        raise InvalidInput.field("rules", "must contain at least one rule")

    def edit(document: dict[str, Any]) -> None:
        rules = list(document["rules"])
        ctx = service.rule_context(session, change.project_id, gate_id)
        touched: set[int] = set()
        for position, update in enumerate(updates):
            index = _locate(rules, update, position, gate_id)
            if index in touched:
                raise InvalidInput.field(
                    f"rules[{position}]", "names a rule already updated by an earlier item"
                )
            touched.add(index)
            rules[index] = merge_rule_update(rules[index], update, ctx)
        service.store_rules(session, change.project_id, document, rules)

    return service.apply_edit(
        session, change, gate_id, edit, action=RULES_UPDATED, change_log="Updated Gate Rules"
    )


def _locate(rules: list[StoredRule], update: RuleIn, position: int, gate_id: str) -> int:
    for key in (update.id, update.base_id):
        if key:
            index = find_rule(rules, key)
            if index is None:
                raise InvalidInput.field(
                    f"rules[{position}]",
                    f"gate {gate_id!r} has no rule with id {key!r}; this endpoint only updates "
                    "existing rules",
                )
            return index
    if update.name:
        index = find_rule_by_name(rules, update.name)
        if index is not None:
            return index
    raise InvalidInput.field(
        f"rules[{position}]",
        "give the id (or baseID) of an existing rule; this endpoint only updates existing rules",
    )


def update_rule(
    session: Session, change: Change, gate_id: str, rule_id: str, update: RuleIn
) -> Any:
    def edit(document: dict[str, Any]) -> None:
        rules = list(document["rules"])
        index = find_rule(rules, rule_id)
        if index is None:
            raise rule_not_found(gate_id, rule_id)
        ctx = service.rule_context(session, change.project_id, gate_id)
        rules[index] = merge_rule_update(rules[index], update, ctx)
        service.store_rules(session, change.project_id, document, rules)

    return service.apply_edit(
        session, change, gate_id, edit, action=RULES_UPDATED, change_log="Updated Gate Rule"
    )


def delete_rule(session: Session, change: Change, gate_id: str, rule_id: str) -> Any:
    def edit(document: dict[str, Any]) -> None:
        index = find_rule(document["rules"], rule_id)
        if index is None:
            raise rule_not_found(gate_id, rule_id)
        document["rules"] = [r for i, r in enumerate(document["rules"]) if i != index]

    return service.apply_edit(
        session, change, gate_id, edit, action=RULES_UPDATED, change_log="Deleted Gate Rule"
    )


def require_rule(document: dict[str, Any], rule_id: str) -> StoredRule:
    index = find_rule(document.get("rules") or [], rule_id)
    if index is None:
        raise rule_not_found(document["id"], rule_id)
    rule: StoredRule = document["rules"][index]
    return rule
