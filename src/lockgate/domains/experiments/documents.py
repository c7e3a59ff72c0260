"""The stored experiment document: its statuses, defaults, groups and layer buckets, how it is
loaded and saved, and how the API shows it.

The service, the lifecycle actions, overrides and exposure answers all build on this module.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from lockgate.cores.compiler import allocation, parameters
from lockgate.documents.stored import StoredGroup, StoredLayer
from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import EXPERIMENT, LAYER
from lockgate.domains.experiments import repository
from lockgate.domains.experiments.health import health_of
from lockgate.domains.experiments.schemas import GroupIn
from lockgate.domains.rules.validation import public_rule
from lockgate.errors import InvalidInput
from lockgate.kit.actor import Change
from lockgate.kit.ids import random_id

INTERNAL_FIELDS = (
    "salt",
    "layerSalt",
    "buckets",
    "inlineTargetingRules",
    "overrides",
    "alerts",
    "statusBeforeArchive",
    "keepTargeting",
)
DEFAULT_ID_TYPE = "userID"
SETUP, ACTIVE, DECIDED, ABANDONED, ARCHIVED = (
    "setup",
    "active",
    "decision_made",
    "abandoned",
    "archived",
)
# Experiments holding traffic in their layer: ships and abandons release it
# (docs/compiling.md §Allocation).
HOLDS_BUCKETS = (SETUP, ACTIVE)


def implicit_layer_id(experiment_id: str) -> str:
    return f"statsig::{experiment_id}_layer"


def experiment_dto(
    document: dict[str, Any], health: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A stored document as the API shows it; ``health`` adds the computed health checks."""
    shown = {k: v for k, v in document.items() if k not in INTERNAL_FIELDS}
    # the setting of its last Pulse load (docs/warehouse.md §Turbo mode); off until one sets it
    shown.setdefault("turboMode", False)
    # PostgreSQL's JSONB does not keep key order, so the JSON text fixes one.
    inline = [_ordered(public_rule(r)) for r in document.get("inlineTargetingRules") or []]
    shown["inlineTargetingRules"] = inline
    shown["inlineTargetingRulesJSON"] = json.dumps({"rules": inline}) if inline else "{}"
    if health is None:
        health = {"healthChecks": [], "healthCheckStatus": "PASSED"}
    shown.update(health)
    return shown


_RULE_KEYS = ("name", "passPercentage", "conditions", "environments", "id", "baseID")
_CONDITION_KEYS = ("type", "operator", "targetValue", "field", "customID")


def _ordered(rule: dict[str, Any]) -> dict[str, Any]:
    shown = {k: rule[k] for k in _RULE_KEYS if k in rule}
    shown["conditions"] = [
        {k: c[k] for k in _CONDITION_KEYS if k in c} for c in rule.get("conditions") or []
    ]
    return {**shown, **{k: v for k, v in rule.items() if k not in shown}}


def dtos(
    session: Session, project_id: str, documents: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    health = health_of(session, project_id, documents)
    return [experiment_dto(d, health[d["id"]]) for d in documents]


def load(session: Session, project_id: str, experiment_id: str, *, lock: bool = False) -> Any:
    return entities.load(session, EXPERIMENT, project_id, experiment_id, lock=lock)


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else float(value)


def percent(value: float | None, where: str) -> float | int:
    if value is None or not 0 <= value <= 100:
        raise InvalidInput.field(where, f"must be a number from 0 to 100, got {value}")
    if abs(round(value * 100) - value * 100) > 1e-6:
        raise InvalidInput.field(where, f"allows at most 2 decimals, got {value:g}")
    return _number(value)


def default_groups() -> list[StoredGroup]:
    return [
        {"name": name, "id": random_id(), "size": 50, "parameterValues": {}, "description": ""}
        for name in ("Control", "Test")
    ]


def build_groups(incoming: Sequence[GroupIn], existing: Sequence[StoredGroup]) -> list[StoredGroup]:
    """Validate groups; a group keeps its id when it names an existing id or group name."""
    if len(incoming) < 2:
        raise InvalidInput.field(
            "groups", f"an experiment needs at least 2 groups, got {len(incoming)}"
        )
    by_id = {g["id"]: g for g in existing}
    by_name = {g["name"].lower(): g for g in existing}
    names: set[str] = set()
    ids: set[str] = set()
    built: list[StoredGroup] = []
    total = Decimal(0)
    for index, group in enumerate(incoming):
        name = (group.name or "").strip()
        where = f'groups[{index}] "{name}"' if name else f"groups[{index}]"
        if not name:
            raise InvalidInput.field(where, "name is required")
        if name.lower() in names:
            raise InvalidInput.field(where, f"group name {name!r} is used twice")
        names.add(name.lower())
        size = percent(group.size, f"{where} size")
        total += Decimal(str(size))
        previous = by_id.get(group.id or "") or by_name.get(name.lower())
        group_id = group.id or (previous["id"] if previous else random_id())
        if group_id in ids:
            raise InvalidInput.field(where, f"group id {group_id!r} is used twice")
        ids.add(group_id)
        stored: StoredGroup = {
            "name": name,
            "id": group_id,
            "size": size,
            "parameterValues": dict(group.parameter_values or {}),
            "description": group.description or "",
        }
        if group.disabled is not None:
            disabled = group.disabled
        else:
            disabled = previous is not None and previous.get("disabled", False)
        if disabled:
            stored["disabled"] = True
        if group.foreign_group_id is not None:
            stored["foreignGroupID"] = group.foreign_group_id
        built.append(stored)
    if total != 100:
        raise InvalidInput.field(
            "groups", f"sizes must add up to 100, got {_number(float(total)):g}"
        )
    return built


def find_group(groups: Sequence[StoredGroup], key: str) -> StoredGroup | None:
    """A group by id, or else by name (case-insensitive)."""
    for group in groups:
        if group["id"] == key:
            return group
    for group in groups:
        if group["name"].lower() == key.lower():
            return group
    return None


def load_layer(session: Session, project_id: str, layer_id: str) -> StoredLayer:
    row = entities.find(session, LAYER, project_id, layer_id)
    if row is None:
        raise InvalidInput.field("layerID", f"layer {layer_id!r} does not exist")
    layer: StoredLayer = row.document
    return layer


def _taken_buckets(
    session: Session, project_id: str, layer_id: str, experiment_id: str
) -> set[int]:
    taken: set[int] = set()
    for row in repository.layer_experiments(session, project_id, layer_id):
        if row.id != experiment_id:
            taken.update(row.document.get("buckets") or [])
    return taken


def allocate_buckets(session: Session, project_id: str, document: dict[str, Any]) -> None:
    """(Re)compute the buckets the experiment owns in its layer from its allocation."""
    if document["status"] not in HOLDS_BUCKETS:
        document["buckets"] = []
        return
    count = allocation.bucket_count(document["allocation"])
    layer_id = document.get("layerID")
    taken = _taken_buckets(session, project_id, layer_id, document["id"]) if layer_id else set()
    buckets = allocation.reserve(document.get("buckets") or [], count, taken)
    if buckets is None:
        free = allocation.LAYER_BUCKETS - len(taken)
        raise InvalidInput.field(
            "allocation",
            f"layer {layer_id!r} has {free / 10:g}% of its traffic free, which cannot hold an "
            f"allocation of {document['allocation']:g}%",
        )
    document["buckets"] = buckets


def check_layer(session: Session, project_id: str, document: dict[str, Any]) -> None:
    """A layered experiment shares the layer's unit type and sets only layer parameters."""
    layer_id = document.get("layerID")
    if not layer_id:
        return
    layer = load_layer(session, project_id, layer_id)
    if layer["idType"] != document["idType"]:
        raise InvalidInput.field(
            "idType",
            f"{document['idType']!r} differs from the idType {layer['idType']!r} of layer "
            f"{layer_id!r}",
        )
    for index, group in enumerate(document["groups"]):
        parameters.check_values(
            layer, group["parameterValues"], f'groups[{index}] "{group["name"]}" parameterValues'
        )


def new_document(experiment_id: str, name: str) -> dict[str, Any]:
    return {
        "id": experiment_id,
        "name": name,
        "description": "",
        "idType": DEFAULT_ID_TYPE,
        "hypothesis": "",
        "status": SETUP,
        "launchedGroupID": None,
        "startTime": None,
        "endTime": None,
        "decisionTime": None,
        "decisionReason": None,
        "layerID": None,
        "groups": default_groups(),
        "controlGroupID": None,
        "allocation": 100,
        "duration": 14,
        "targetingGateID": "",
        "defaultConfidenceInterval": "95",
        "bonferroniCorrection": False,
        "sequentialTesting": False,
        "primaryMetrics": [],
        "primaryMetricTags": [],
        "secondaryMetrics": [],
        "secondaryMetricTags": [],
        "tags": [],
        "targetApps": [],
        "holdoutIDs": [],
        "team": None,
        "teamID": None,
        "salt": str(uuid.uuid4()),
        "layerSalt": str(uuid.uuid4()),
        "buckets": [],
        "inlineTargetingRules": [],
        "overrides": {"overrides": [], "userIDOverrides": []},
    }


def save_document(
    session: Session, change: Change, row: Any, document: dict[str, Any], action: str, text: str
) -> Any:
    return entities.save(session, EXPERIMENT, change, row, document, action=action, change_log=text)
