"""Rules for autotunes: creation, updates, the start / make_decision / reset lifecycle, listing.

An autotune is a document (``AutotuneExperimentDto``) plus internal keys the API never shows:

* ``status``: ``setup`` (not started), ``active`` (running) or ``decision_made`` (a variant
  shipped). ``isStarted`` is true from start until reset: after a decision the autotune still
  serves, its winner to everyone;
* ``salt``: the spec salt, replaced by a reset so that a restart re-randomises;
* ``trafficWeights``: ``{variant id: weight}``, the share of traffic each variant gets while
  running. They start at the variants' ``size`` (an equal split when no size is given) and are
  what the spec compiler reads, so a bandit can move traffic by storing new weights
  (``set_traffic_weights``);
* ``decisionReason``, ``startTime``, ``decisionTime``.

Legal transitions (anything else is a 400 that changes nothing):

    start          setup -> active
    make_decision  active -> decision_made       (from setup: "Autotune experiment has not
    reset          active | decision_made -> setup  yet started", as the spec documents)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.autotunes.schemas import (
    AutotuneCreate,
    AutotuneFields,
    AutotuneFullUpdate,
    AutotunePartialUpdate,
    DecisionIn,
    VariantIn,
)
from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import AUTOTUNE
from lockgate.domains.entities.namespaces import DYNAMIC_CONFIGS
from lockgate.errors import InvalidInput
from lockgate.kit.actor import Change
from lockgate.kit.ids import random_id

SETUP, ACTIVE, DECIDED = "setup", "active", "decision_made"
NOT_STARTED = "Autotune experiment has not yet started"
ALREADY_STARTED = "Autotune experiment has already started"
ALREADY_DECIDED = "Autotune experiment already has a decision; reset it before you {action}"
INTERNAL_FIELDS = frozenset(
    {"status", "salt", "trafficWeights", "decisionReason", "startTime", "decisionTime"}
)
# Optional body fields, stored only when given: (attribute, wire name).
OPTIONAL_FIELDS = (
    ("attribution_window_unit", "attributionWindowUnit"),
    ("exploration_window_rate", "explorationWindowRate"),
    ("longterm_exploration_allocation", "longtermExplorationAllocation"),
    ("metadata_field", "metadataField"),
    ("higher_is_better", "higherIsBetter"),
    ("is_contextual", "isContextual"),
    ("metric_source_id", "metricSourceID"),
    ("linked_experiment_name", "linkedExperimentName"),
    ("goal_rich_text", "goalRichText"),
    ("optimization_parameter", "optimizationParameter"),
    ("value_column", "valueColumn"),
    ("feature_list", "featureList"),
)
REQUIRED_FIELDS = (
    ("success_event", "successEvent"),
    ("exploration_window", "explorationWindow"),
    ("attribution_window", "attributionWindow"),
    ("winner_threshold", "winnerThreshold"),
)


def autotune_dto(document: dict[str, Any]) -> dict[str, Any]:
    """A stored autotune as the API shows it."""
    return {k: v for k, v in document.items() if k not in INTERNAL_FIELDS}


def load(session: Session, project_id: str, autotune_id: str, *, lock: bool = False) -> Any:
    return entities.load(session, AUTOTUNE, project_id, autotune_id, lock=lock)


# --- variants and weights ---------------------------------------------------------------------


def _number(value: float) -> float:
    return int(value) if float(value).is_integer() else value


def _json_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput.field(
            where,
            "must be a JSON object (the value SDKs serve), got "
            f"{(type(value).__name__ if value is not None else 'null')}",
        )
    return value


def build_variants(
    incoming: Sequence[VariantIn], existing: Sequence[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """Stored variants: a variant keeps its id when its name is kept."""
    ids_by_name = {v["name"]: v["id"] for v in existing}
    variants: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(incoming):
        name = item.name.strip()
        if not name:
            raise InvalidInput.field(f"variants[{index}].name", "must not be empty")
        if name in seen:
            raise InvalidInput.field(
                f"variants[{index}].name", f"{name!r} names another variant too"
            )
        seen.add(name)
        variant: dict[str, Any] = {
            "name": name,
            "json": _json_object(item.value, f"variants[{index}].json"),
            "id": ids_by_name.get(name) or random_id(),
        }
        if item.size is not None:
            variant["size"] = _number(item.size)
        variants.append(variant)
    sized = [v for v in variants if "size" in v]
    if sized and len(sized) != len(variants):
        raise InvalidInput.field(
            "variants",
            f"give a size to every variant or to none ({len(sized)} of {len(variants)} have one)",
        )
    if sized:
        total = sum(Decimal(str(v["size"])) for v in sized)
        if total != 100:
            raise InvalidInput.field("variants", f"sizes must add up to 100, got {total}")
    return variants


def initial_weights(variants: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Each variant's ``size``, or an equal split when sizes are not given."""
    if all("size" in v for v in variants):
        return {v["id"]: v["size"] for v in variants}
    share = _number(round(100 / len(variants), 6))
    return {v["id"]: share for v in variants}


def set_traffic_weights(
    session: Session, change: Change, autotune_id: str, weights: Mapping[str, float]
) -> Any:
    """Store new traffic weights (what a bandit calls after it learns); they need not sum to 100,
    the compiler splits traffic in proportion."""

    def edit(document: dict[str, Any]) -> None:
        ids = {v["id"] for v in document["variants"]}
        if set(weights) != ids or any(w < 0 for w in weights.values()) or not any(weights.values()):
            raise InvalidInput.field(
                "weights",
                f"give a non-negative weight to every variant ({sorted(ids)}), at least one "
                "above 0",
            )
        document["trafficWeights"] = {v: _number(w) for v, w in weights.items()}

    return apply_edit(session, change, autotune_id, edit, change_log="Updated Autotune traffic")


# --- create, update, delete -------------------------------------------------------------------


def read(session: Session, project_id: str, autotune_id: str) -> dict[str, Any]:
    return autotune_dto(load(session, project_id, autotune_id).document)


def create(session: Session, change: Change, body: AutotuneCreate) -> Any:
    name, autotune_id = entities.derive_id(body.name, None, "plain")
    entities.ensure_free(session, DYNAMIC_CONFIGS, change.project_id, autotune_id)
    variants = build_variants(body.variants)
    document: dict[str, Any] = {
        "id": autotune_id,
        "name": name,
        "description": body.description or "",
        "idType": body.id_type or "userID",
        "variants": variants,
        "successEvent": body.success_event,
        "successEventValue": body.success_event_value or "",
        "explorationWindow": body.exploration_window,
        "attributionWindow": body.attribution_window,
        "winnerThreshold": body.winner_threshold,
        "tags": [],
        "targetApps": [],
        "holdoutIDs": [],
        "team": None,
        "teamID": None,
        "isStarted": False,
        "winner": None,
        "status": SETUP,
        "salt": str(uuid.uuid4()),
        "trafficWeights": initial_weights(variants),
    }
    _apply_optional(document, body)
    return entities.insert(
        session,
        AUTOTUNE,
        change,
        document,
        action="autotune_experiment_create",
        change_log="Created Autotune Experiment",
    )


def _apply_optional(document: dict[str, Any], body: AutotuneFields) -> None:
    for attribute, wire in OPTIONAL_FIELDS:
        value = getattr(body, attribute)
        if value is not None:
            document[wire] = value


def replace(session: Session, change: Change, autotune_id: str, body: AutotuneFullUpdate) -> Any:
    """``POST`` and ``PATCH`` differ only in the fields the full update's body requires."""
    return _update(session, change, autotune_id, body)


def patch(session: Session, change: Change, autotune_id: str, body: AutotunePartialUpdate) -> Any:
    return _update(session, change, autotune_id, body)


def _update(session: Session, change: Change, autotune_id: str, body: AutotuneFields) -> Any:
    def edit(document: dict[str, Any]) -> None:
        if body.description is not None:
            document["description"] = body.description
        for attribute, wire in REQUIRED_FIELDS:
            value = getattr(body, attribute)
            if value is not None:
                document[wire] = value
        if body.success_event_value is not None:
            document["successEventValue"] = body.success_event_value
        _apply_optional(document, body)
        if body.variants is not None:
            variants = build_variants(body.variants, document["variants"])
            winner = document.get("winner")
            if winner is not None and winner["id"] not in {v["id"] for v in variants}:
                raise InvalidInput.field(
                    "variants",
                    f"variant {winner['name']!r} shipped; it cannot be removed until the "
                    "autotune is reset",
                )
            if [v["id"] for v in variants] != [v["id"] for v in document["variants"]] or [
                v.get("size") for v in variants
            ] != [v.get("size") for v in document["variants"]]:
                document["trafficWeights"] = initial_weights(variants)
            document["variants"] = variants
            if winner is not None:
                document["winner"] = {
                    "id": winner["id"],
                    "name": next(v["name"] for v in variants if v["id"] == winner["id"]),
                }

    return apply_edit(session, change, autotune_id, edit, change_log="Updated Autotune Experiment")


def delete(session: Session, change: Change, autotune_id: str) -> None:
    row = load(session, change.project_id, autotune_id, lock=True)
    entities.remove(
        session,
        AUTOTUNE,
        change,
        row,
        action="autotune_experiment_delete",
        change_log="Deleted Autotune Experiment",
    )


def apply_edit(
    session: Session,
    change: Change,
    autotune_id: str,
    edit: Callable[[dict[str, Any]], None],
    *,
    change_log: str,
) -> Any:
    row = load(session, change.project_id, autotune_id, lock=True)
    document = entities.editable(row)
    edit(document)
    return entities.save(
        session,
        AUTOTUNE,
        change,
        row,
        document,
        action="autotune_experiment_edit",
        change_log=change_log,
    )


def list_(
    session: Session, project_id: str, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    rows, total = entities.list_rows(session, AUTOTUNE, project_id, offset=offset, limit=limit)
    return [autotune_dto(r.document) for r in rows], total


# --- lifecycle --------------------------------------------------------------------------------


def start(session: Session, change: Change, autotune_id: str) -> Any:
    def edit(document: dict[str, Any]) -> None:
        if document["status"] == ACTIVE:
            raise InvalidInput.because(ALREADY_STARTED)
        if document["status"] == DECIDED:
            raise InvalidInput.because(ALREADY_DECIDED.format(action="start it again"))
        document.update(status=ACTIVE, isStarted=True, startTime=change.now_ms)

    return apply_edit(session, change, autotune_id, edit, change_log="Started Autotune Experiment")


def make_decision(session: Session, change: Change, autotune_id: str, body: DecisionIn) -> Any:
    def edit(document: dict[str, Any]) -> None:
        if document["status"] == SETUP:
            raise InvalidInput(NOT_STARTED)
        if document["status"] == DECIDED:
            raise InvalidInput.because(ALREADY_DECIDED.format(action="make another decision"))
        variant = next((v for v in document["variants"] if v["id"] == body.id), None)
        if variant is None:
            known = ", ".join(f"{v['id']} ({v['name']})" for v in document["variants"])
            raise InvalidInput.field(
                "id",
                f"autotune {autotune_id!r} has no variant with id {body.id!r}; its variants are "
                f"{known}",
            )
        document.update(
            status=DECIDED,
            winner={"id": variant["id"], "name": variant["name"]},
            decisionReason=body.decision_reason,
            decisionTime=change.now_ms,
        )

    return apply_edit(session, change, autotune_id, edit, change_log="Made Autotune decision")


def reset(session: Session, change: Change, autotune_id: str) -> Any:
    def edit(document: dict[str, Any]) -> None:
        if document["status"] == SETUP:
            raise InvalidInput(NOT_STARTED)
        # A new salt re-randomises units when the autotune starts again, as an experiment
        # reset does (docs/console.md §Experiment lifecycle).
        document.update(
            status=SETUP,
            isStarted=False,
            winner=None,
            salt=str(uuid.uuid4()),
            trafficWeights=initial_weights(document["variants"]),
        )
        for key in ("decisionReason", "decisionTime", "startTime"):
            document.pop(key, None)

    return apply_edit(session, change, autotune_id, edit, change_log="Reset Autotune Experiment")
