"""The project's reference graph: which gate or segment each entity's rule conditions name.

Every entity write records its edges in ``entity_references`` in the same transaction
(``entities.service`` calls ``record`` and ``forget``), so a reference check walks only the
entities a change can reach, and "who names this gate" is one indexed read
(docs/architecture.md §Reference graph).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.entities import repository

# The condition types that name an entity, and the kind of entity they name.
TARGETS = {
    "passes_gate": "gate",
    "fails_gate": "gate",
    "passes_segment": "segment",
    "fails_segment": "segment",
}
# Where a document keeps rules: gates, configs and segments ``rules``, experiments their inline
# targeting rules.
RULE_LISTS = ("rules", "inlineTargetingRules")

Edge = tuple[str, str]  # (target type, target id)


def named_in(rules: Iterable[Mapping[str, Any]], target_type: str) -> set[str]:
    """Ids of the entities of ``target_type`` (gate or segment) that ``rules`` name."""
    return {i for t, i in _rule_edges(rules) if t == target_type}


def _rule_edges(rules: Iterable[Mapping[str, Any]]) -> set[Edge]:
    found: set[Edge] = set()
    for rule in rules:
        for condition in rule.get("conditions") or ():
            target_type = TARGETS.get(condition.get("type") or "")
            target = condition.get("targetValue")
            if target_type is not None and isinstance(target, str) and target:
                found.add((target_type, target))
    return found


def edges_of(document: Mapping[str, Any] | None) -> set[Edge]:
    """Every (target type, target id) a stored document's rules name."""
    found: set[Edge] = set()
    for key in RULE_LISTS:
        found |= _rule_edges((document or {}).get(key) or ())
    return found


def record(
    session: Session,
    project_id: str,
    entity_type: str,
    entity_id: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
) -> None:
    """Store the edges of a written document, changing only those that moved."""
    old, new = (edges_of(before) if before else set()), edges_of(after)
    if old != new:
        repository.replace_edges(session, project_id, entity_type, entity_id, old - new, new - old)


def forget(session: Session, project_id: str, entity_type: str, entity_id: str) -> None:
    repository.delete_edges(session, project_id, entity_type, entity_id)


def reachable(
    session: Session, project_id: str, kind: str, start: Iterable[str], *, without: str
) -> dict[str, set[str]]:
    """The edges between entities of ``kind`` (gates naming gates, segments naming segments)
    reachable from ``start``, as ``{id: ids it names}``; ``without``'s stored edges are left
    out, as the caller is replacing them."""
    graph: dict[str, set[str]] = {}
    for source, target in repository.reachable_edges(session, project_id, kind, start, without):
        graph.setdefault(source, set()).add(target)
    return graph


def referrers(
    session: Session, project_id: str, target_type: str, target_id: str, source_types: Sequence[str]
) -> list[tuple[str, str]]:
    """(entity type, entity id) of every entity of ``source_types`` whose rules name the
    target, ordered by type then id."""
    return repository.referrers(session, project_id, target_type, target_id, source_types)
