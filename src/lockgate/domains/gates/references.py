"""Which entities name a gate in their rules, and the check that gate references form no cycle.

A rule names a gate through a ``passes_gate``/``fails_gate`` condition whose ``targetValue`` is
the gate's id. Gates and dynamic configs share that stored rule shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from lockgate.documents.stored import StoredRule
from lockgate.domains.entities import graph
from lockgate.domains.gates import repository
from lockgate.domains.rules.validation import public_rule
from lockgate.errors import InvalidInput
from lockgate.kit.graphs import cycle_through

# DynamicConfigDto's fields (docs/console.md §Entities): a config document is shown through this
# list so that whatever internal keys the configs package keeps never leak into a gate's reference
# list.
DYNAMIC_CONFIG_FIELDS = (
    "id",
    "name",
    "idType",
    "description",
    "lastModifierID",
    "lastModifiedTime",
    "lastModifierEmail",
    "lastModifierName",
    "creatorID",
    "createdTime",
    "creatorName",
    "creatorEmail",
    "tags",
    "targetApps",
    "holdoutIDs",
    "team",
    "teamID",
    "version",
    "isEnabled",
    "rules",
    "defaultValue",
    "defaultValueJson5",
    "owner",
    "schema",
    "schemaJson5",
    "releasePipelineID",
    "isTemplate",
    "status",
)


def named_gates(rules: Iterable[Mapping[str, Any]]) -> set[str]:
    """Ids of the gates that ``rules`` depend on."""
    return graph.named_in(rules, "gate")


def check_no_cycle(session: Session, project_id: str, gate_id: str, rules: Sequence[Any]) -> None:
    """Refuse rules that make ``gate_id`` depend on itself, directly or through other gates.

    Only the gates the new rules reach are read, through the stored reference edges
    (docs/architecture.md §Reference graph): a gate naming no gate costs no query.
    """
    direct = named_gates(rules)
    if gate_id in direct:
        raise InvalidInput.field(
            "rules",
            f"gate {gate_id!r} cannot depend on itself (a passes_gate/fails_gate condition names "
            "it)",
        )
    if not direct:
        return
    edges = graph.reachable(session, project_id, "gate", direct, without=gate_id)
    edges[gate_id] = direct
    path = cycle_through(edges, gate_id)
    if path:
        raise InvalidInput.field("rules", "gate references would form a cycle: " + " → ".join(path))


def referencing_gates(session: Session, project_id: str, gate_id: str) -> list[Any]:
    """The gates whose rules name ``gate_id``, in creation order."""
    ids = [i for _, i in graph.referrers(session, project_id, "gate", gate_id, ["gate"])]
    return [row for row in repository.gates_by_id(session, project_id, ids) if row.id != gate_id]


def referencing_configs(session: Session, project_id: str, gate_id: str) -> list[Any]:
    """The dynamic configs whose rules name ``gate_id``, in creation order."""
    ids = [i for _, i in graph.referrers(session, project_id, "gate", gate_id, ["dynamic_config"])]
    return list(repository.configs_by_id(session, project_id, ids))


def config_dto(document: Mapping[str, Any]) -> dict[str, Any]:
    shown = {k: document[k] for k in DYNAMIC_CONFIG_FIELDS if k in document}
    shown["rules"] = [_public_config_rule(r) for r in document.get("rules") or ()]
    shown.setdefault("description", "")
    shown.setdefault("isEnabled", True)
    return shown


def _public_config_rule(rule: StoredRule) -> dict[str, object]:
    if "conditions" in rule and "id" in rule:
        return public_rule(rule)
    return dict(rule)
