"""Rules of the Experiments resource: create, read, list, update, delete.

An experiment is stored as its ``ExternalExperimentDto`` document (health checks excluded: they
are computed from exposures when read) plus internal fields the API never shows: the ``salt``
its groups hash on, the salt of its implicit layer (``layerSalt``), the layer ``buckets`` it owns,
its inline targeting rules with their salts, its overrides, and its alerts. Lifecycle actions live
in ``lifecycle.py``, overrides in ``overrides.py``, exposure-derived answers in ``exposures.py``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from lockgate.cores.compiler import allocation, parameters
from lockgate.domains.entities import service as entities
from lockgate.domains.entities.namespaces import DYNAMIC_CONFIGS, ensure_id_free
from lockgate.domains.entities.tags import checked_tags
from lockgate.domains.experiments import repository
from lockgate.domains.experiments.kinds import EXPERIMENT_KIND, LAYER_KIND
from lockgate.domains.experiments.repository import ExperimentFilter
from lockgate.domains.experiments.schemas import (
    ExperimentCreate,
    ExperimentFields,
    ExperimentFullUpdate,
    ExperimentPartialUpdate,
    GroupIn,
)
from lockgate.domains.rules.validation import RuleContext, build_rules, public_rule
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
# Experiments holding traffic in their layer: ships and abandons release it (§6.5).
HOLDS_BUCKETS = (SETUP, ACTIVE)


def implicit_layer_id(experiment_id: str) -> str:
    return f"statsig::{experiment_id}_layer"


# -- reading ---------------------------------------------------------------------------------


def experiment_dto(
    document: dict[str, Any], health: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A stored document as the API shows it; ``health`` adds the computed health checks."""
    shown = {k: v for k, v in document.items() if k not in INTERNAL_FIELDS}
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
    from lockgate.domains.experiments.exposures import health_of

    health = health_of(session, project_id, documents)
    return [experiment_dto(d, health[d["id"]]) for d in documents]


def load_experiment(
    session: Session, project_id: str, experiment_id: str, *, lock: bool = False
) -> Any:
    return entities.load(session, EXPERIMENT_KIND, project_id, experiment_id, lock=lock)


def get(session: Session, project_id: str, experiment_id: str) -> dict[str, Any]:
    row = load_experiment(session, project_id, experiment_id)
    return dtos(session, project_id, [row.document])[0]


def list_experiments(
    session: Session, project_id: str, flt: ExperimentFilter, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    conditions = repository.filter_conditions(session, flt)
    rows, total = entities.list_rows(
        session, EXPERIMENT_KIND, project_id, conditions, offset=offset, limit=limit
    )
    return dtos(session, project_id, [r.document for r in rows]), total


# -- validation ------------------------------------------------------------------------------


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else float(value)


def _percent(value: float | None, where: str) -> float | int:
    if value is None or not 0 <= value <= 100:
        raise InvalidInput(f"Invalid request. {where}: must be a number from 0 to 100, got {value}")
    if abs(round(value * 100) - value * 100) > 1e-6:
        raise InvalidInput(f"Invalid request. {where}: allows at most 2 decimals, got {value:g}")
    return _number(value)


def default_groups() -> list[dict[str, Any]]:
    return [
        {"name": name, "id": random_id(), "size": 50, "parameterValues": {}, "description": ""}
        for name in ("Control", "Test")
    ]


def build_groups(
    incoming: Sequence[GroupIn], existing: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Validate groups; a group keeps its id when it names an existing id or group name."""
    if len(incoming) < 2:
        raise InvalidInput(
            f"Invalid request. groups: an experiment needs at least 2 groups, got {len(incoming)}"
        )
    by_id = {g["id"]: g for g in existing}
    by_name = {g["name"].lower(): g for g in existing}
    names: set[str] = set()
    ids: set[str] = set()
    built: list[dict[str, Any]] = []
    total = Decimal(0)
    for index, group in enumerate(incoming):
        name = (group.name or "").strip()
        where = f'groups[{index}] "{name}"' if name else f"groups[{index}]"
        if not name:
            raise InvalidInput(f"Invalid request. {where}: name is required")
        if name.lower() in names:
            raise InvalidInput(f"Invalid request. {where}: group name {name!r} is used twice")
        names.add(name.lower())
        size = _percent(group.size, f"{where} size")
        total += Decimal(str(size))
        previous = by_id.get(group.id or "") or by_name.get(name.lower())
        group_id = group.id or (previous["id"] if previous else random_id())
        if group_id in ids:
            raise InvalidInput(f"Invalid request. {where}: group id {group_id!r} is used twice")
        ids.add(group_id)
        stored: dict[str, Any] = {
            "name": name,
            "id": group_id,
            "size": size,
            "parameterValues": dict(group.parameter_values or {}),
            "description": group.description or "",
        }
        disabled = (
            group.disabled if group.disabled is not None else (previous or {}).get("disabled")
        )
        if disabled:
            stored["disabled"] = True
        if group.foreign_group_id is not None:
            stored["foreignGroupID"] = group.foreign_group_id
        built.append(stored)
    if total != 100:
        raise InvalidInput(
            f"Invalid request. groups: sizes must add up to 100, got {_number(float(total)):g}"
        )
    return built


def find_group(groups: Sequence[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """A group by id, or else by name (case-insensitive)."""
    for group in groups:
        if group["id"] == key:
            return group
    for group in groups:
        if group["name"].lower() == key.lower():
            return group
    return None


def _rule_context(session: Session, project_id: str) -> RuleContext:
    return RuleContext(
        kind="gate",
        gate_exists=lambda gate_id: repository.gate_exists(session, project_id, gate_id),
        segment_exists=lambda seg_id: repository.segment_exists(session, project_id, seg_id),
    )


def _target_apps(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(dict.fromkeys(value))


def _metrics(value: Any) -> list[dict[str, Any]]:
    return [m.model_dump(by_alias=True, exclude_none=True) for m in value or []]


def load_layer(session: Session, project_id: str, layer_id: str) -> dict[str, Any]:
    row = entities.find(session, LAYER_KIND, project_id, layer_id)
    if row is None:
        raise InvalidInput(f"Invalid request. layerID: layer {layer_id!r} does not exist")
    return row.document  # type: ignore[no-any-return]


def _taken_buckets(
    session: Session, project_id: str, layer_id: str, experiment_id: str
) -> set[int]:
    taken: set[int] = set()
    for row in repository.layer_experiments(session, project_id, layer_id):
        if row.id != experiment_id:
            taken.update(row.document.get("buckets") or [])
    return taken


def place(session: Session, project_id: str, document: dict[str, Any]) -> None:
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
        raise InvalidInput(
            f"Invalid request. allocation: layer {layer_id!r} has {free / 10:g}% of its traffic "
            f"free, which cannot hold an allocation of {document['allocation']:g}%"
        )
    document["buckets"] = buckets


_SIMPLE = {
    "hypothesis": ("hypothesis", lambda v: v or ""),
    "control_group_id": None,
    "primary_metric_tags": ("primaryMetricTags", lambda v: list(v or [])),
    "secondary_metric_tags": ("secondaryMetricTags", lambda v: list(v or [])),
    "duration": ("duration", lambda v: v),
    "target_exposures": ("targetExposures", lambda v: v),
    "sequential_testing": ("sequentialTesting", bool),
    "bonferroni_correction": ("bonferroniCorrection", bool),
    "bonferroni_correction_per_metric": ("bonferroniCorrectionPerMetric", bool),
    "benjamini_hochberg_per_variant": ("benjaminiHochbergPerVariant", bool),
    "benjamini_hochberg_per_metric": ("benjaminiHochbergPerMetric", bool),
    "benjamini_primary_metrics_only": ("benjaminiPrimaryMetricsOnly", bool),
    "default_confidence_interval": ("defaultConfidenceInterval", lambda v: v or "95"),
    "team": ("team", lambda v: v),
    "team_id": ("teamID", lambda v: v),
    "analytics_type": ("analyticsType", lambda v: v),
    "secondary_id_type": ("secondaryIDType", lambda v: v),
    "allocation_duration": ("allocationDuration", lambda v: v),
    "links": ("links", lambda v: [link.model_dump(exclude_none=True) for link in v or []]),
    "primary_metrics": ("primaryMetrics", _metrics),
    "secondary_metrics": ("secondaryMetrics", _metrics),
    "other_metrics": ("otherMetrics", _metrics),
}
# Fields that change who is in which group: only editable before the experiment starts.
_SETUP_ONLY = {"id_type": "idType", "layer_id": "layerID"}


def apply(
    session: Session,
    project_id: str,
    document: dict[str, Any],
    body: ExperimentFields,
    fields: set[str],
) -> dict[str, Any]:
    """Write the ``fields`` of ``body`` into ``document`` (a fresh copy) and validate it all.

    ``status``, ``launchedGroupID`` and ``decisionReason`` are lifecycle fields: the caller
    routes them through ``lifecycle.py``.
    """
    for field, (key, convert) in ((f, s) for f, s in _SIMPLE.items() if s is not None):
        if field in fields:
            document[key] = convert(getattr(body, field))
    if "name" in fields:
        document["name"], _ = entities.derive_id(body.name, document["id"], "plain")
    if "description" in fields:
        document["description"] = body.description or ""
    if "tags" in fields:
        document["tags"] = checked_tags(session, project_id, body.tags)
    if "target_apps" in fields:
        document["targetApps"] = _target_apps(body.target_apps)
    started = document["status"] != SETUP
    for field, key in _SETUP_ONLY.items():
        if field in fields and (getattr(body, field) or None) != (document.get(key) or None):
            if field == "id_type" and getattr(body, field) is None:
                continue
            if started:
                raise InvalidInput(
                    f"Invalid request. {key}: cannot change once the experiment has started"
                )
    if "id_type" in fields and body.id_type:
        document["idType"] = body.id_type
    if "layer_id" in fields:
        document["layerID"] = body.layer_id or None
        if not document["layerID"]:
            document.setdefault("layerSalt", str(uuid.uuid4()))
    if "groups" in fields:
        incoming = body.groups or []
        if started and len(incoming) != len(document["groups"]):
            raise InvalidInput(
                "Invalid request. groups: groups cannot be added or removed once the experiment "
                "has started"
            )
        groups = build_groups(incoming, document["groups"])
        if started and [g["size"] for g in groups] != [g["size"] for g in document["groups"]]:
            raise InvalidInput(
                "Invalid request. groups: group sizes cannot change once the experiment has "
                "started (it would move users between groups)"
            )
        document["groups"] = groups
    if "allocation" in fields:
        document["allocation"] = _percent(body.allocation, "allocation")
    if "control_group_id" in fields or "groups" in fields:
        wanted = body.control_group_id if "control_group_id" in fields else None
        wanted = wanted or document.get("controlGroupID")
        control = find_group(document["groups"], wanted) if wanted else None
        if wanted and control is None and "control_group_id" in fields:
            raise InvalidInput(
                f"Invalid request. controlGroupID: {wanted!r} is not a group of this experiment"
            )
        document["controlGroupID"] = (control or document["groups"][0])["id"]
    if "targeting_gate_id" in fields:
        gate = body.targeting_gate_id or ""
        if gate and not repository.gate_exists(session, project_id, gate):
            raise InvalidInput(f"Invalid request. targetingGateID: gate {gate!r} does not exist")
        document["targetingGateID"] = gate
    if "inline_targeting_rules" in fields:
        document["inlineTargetingRules"] = build_rules(
            body.inline_targeting_rules or [],
            _rule_context(session, project_id),
            document.get("inlineTargetingRules") or [],
        )
    if "holdout_ids" in fields:
        holdouts = list(dict.fromkeys(body.holdout_ids or []))
        for holdout in holdouts:
            if not repository.holdout_exists(session, project_id, holdout):
                raise InvalidInput(
                    f"Invalid request. holdoutIDs: holdout {holdout!r} does not exist"
                )
        document["holdoutIDs"] = holdouts
    check_layer(session, project_id, document)
    place(session, project_id, document)
    return document


def check_layer(session: Session, project_id: str, document: dict[str, Any]) -> None:
    """A layered experiment shares the layer's unit type and sets only layer parameters."""
    layer_id = document.get("layerID")
    if not layer_id:
        return
    layer = load_layer(session, project_id, layer_id)
    if layer["idType"] != document["idType"]:
        raise InvalidInput(
            f"Invalid request. idType: {document['idType']!r} differs from the idType "
            f"{layer['idType']!r} of layer {layer_id!r}"
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


_LIFECYCLE_FIELDS = {"status", "launched_group_id", "decision_reason"}


def create(session: Session, change: Change, body: ExperimentCreate) -> dict[str, Any]:
    from lockgate.domains.experiments import lifecycle

    name, experiment_id = entities.derive_id(body.name, body.id, "plain")
    ensure_id_free(session, DYNAMIC_CONFIGS, change.project_id, experiment_id)
    document = new_document(experiment_id, name)
    fields = set(body.model_fields_set) - {"name", "id"} - _LIFECYCLE_FIELDS
    fields.add("control_group_id")
    document = apply(session, change.project_id, document, body, fields)
    row = entities.insert(
        session,
        EXPERIMENT_KIND,
        change,
        document,
        action="experiment_create",
        change_log="Created Experiment",
    )
    if body.status not in (None, SETUP):
        # Terraform creates experiments straight into a status (console-api.md §9.1).
        lifecycle.drive_status(session, change, row, body)
    return dtos(session, change.project_id, [row.document])[0]


# A full update replaces these when omitted; ``name`` is kept (optional in the DTO).
_REPLACED = frozenset(
    {
        "description",
        "id_type",
        "hypothesis",
        "groups",
        "allocation",
        "targeting_gate_id",
        "bonferroni_correction",
        "default_confidence_interval",
        "tags",
        "target_apps",
        "primary_metrics",
        "secondary_metrics",
        "primary_metric_tags",
        "secondary_metric_tags",
        "control_group_id",
    }
)


def full_update(
    session: Session, change: Change, experiment_id: str, body: ExperimentFullUpdate
) -> dict[str, Any]:
    fields = set(_REPLACED) | set(body.model_fields_set)
    return _update(session, change, experiment_id, body, fields)


def partial_update(
    session: Session, change: Change, experiment_id: str, body: ExperimentPartialUpdate
) -> dict[str, Any]:
    return _update(session, change, experiment_id, body, set(body.model_fields_set))


def _update(
    session: Session, change: Change, experiment_id: str, body: ExperimentFields, fields: set[str]
) -> dict[str, Any]:
    from lockgate.domains.experiments import lifecycle

    row = load_experiment(session, change.project_id, experiment_id, lock=True)
    if row.document["status"] == ARCHIVED:
        raise InvalidInput("Experiment is archived. Unarchive it before editing it")
    content = fields - _LIFECYCLE_FIELDS
    if content:
        document = apply(session, change.project_id, entities.editable(row), body, content)
        entities.save(
            session,
            EXPERIMENT_KIND,
            change,
            row,
            document,
            action="experiment_update",
            change_log="Updated Experiment",
        )
    if body.status is not None and body.status != row.document["status"]:
        lifecycle.drive_status(session, change, row, body)
    return dtos(session, change.project_id, [row.document])[0]


def save(
    session: Session, change: Change, row: Any, document: dict[str, Any], action: str, text: str
) -> Any:
    return entities.save(
        session, EXPERIMENT_KIND, change, row, document, action=action, change_log=text
    )


def delete(session: Session, change: Change, experiment_id: str) -> dict[str, Any]:
    row = load_experiment(session, change.project_id, experiment_id, lock=True)
    shown = dtos(session, change.project_id, [row.document])[0]
    entities.remove(
        session,
        EXPERIMENT_KIND,
        change,
        row,
        action="experiment_delete",
        change_log="Deleted Experiment",
    )
    return shown
