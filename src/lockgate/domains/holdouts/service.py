"""Rules for holdouts: creation, full and partial updates, attachments, overrides, deletion.

A holdout is a document (``HoldoutDto``) plus internal keys the API never shows, which the spec
compiler (``lockgate.cores.compiler.holdouts``) reads:

* ``salt``: the holdout spec's salt;
* ``referenceID``: the 22-character id of the rule that applies the holdout in every gate,
  experiment and layer it covers (`docs/compiling.md` §Holdout references);
* ``populationRuleBaseID`` / ``populationRuleID`` / ``percentageEdits``: the population rule's
  stable id (also its salt, so raising the percentage only adds units) and its current id,
  which gains a ``:<pct>:<n>`` suffix after each percentage edit as Statsig's do
  (docs/compiling.md §Holdout spec);
* ``globalSinceTime``: when ``isGlobal`` last became true; a global holdout covers entities
  of its unit type created from then on;
* ``attachedTimes``: ``{"gateIDs"|"experimentIDs"|"layerIDs": {entity id: ms}}``, when each
  listed entity was attached, which orders the reference rules;
* ``overrides``: the ``OverrideDto`` lists, as gates keep theirs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from lockgate.documents.stored import StoredGateOverrides
from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import HOLDOUT
from lockgate.domains.entities.namespaces import FEATURE_GATES
from lockgate.domains.gates import overrides as gate_overrides
from lockgate.domains.gates.overrides import Mode
from lockgate.domains.gates.schemas import OverridesIn
from lockgate.domains.gates.service import empty_overrides
from lockgate.domains.holdouts import repository
from lockgate.domains.holdouts.schemas import (
    HoldoutCreate,
    HoldoutFields,
    HoldoutFullUpdate,
    HoldoutPartialUpdate,
)
from lockgate.errors import InvalidInput
from lockgate.kit.actor import Change
from lockgate.kit.ids import random_id

ATTACHMENT_FIELDS = ("gateIDs", "experimentIDs", "layerIDs")
_KIND_WORD = {"gateIDs": "gate", "experimentIDs": "experiment", "layerIDs": "layer"}
INTERNAL_FIELDS = frozenset(
    {
        "salt",
        "referenceID",
        "populationRuleBaseID",
        "populationRuleID",
        "percentageEdits",
        "globalSinceTime",
        "attachedTimes",
        "overrides",
    }
)


def holdout_dto(document: dict[str, Any]) -> dict[str, Any]:
    """A stored holdout as the API shows it."""
    return {k: v for k, v in document.items() if k not in INTERNAL_FIELDS}


def load(session: Session, project_id: str, holdout_id: str, *, lock: bool = False) -> Any:
    return entities.load(session, HOLDOUT, project_id, holdout_id, lock=lock)


def read(session: Session, project_id: str, holdout_id: str) -> dict[str, Any]:
    return holdout_dto(load(session, project_id, holdout_id).document)


def create(session: Session, change: Change, body: HoldoutCreate) -> Any:
    name, holdout_id = entities.derive_id(body.name, None, "plain")
    entities.ensure_free(session, FEATURE_GATES, change.project_id, holdout_id)
    base_id = random_id()
    document: dict[str, Any] = {
        "id": holdout_id,
        "name": name,
        "description": body.description or "",
        "idType": body.id_type or "userID",
        "tags": [],
        "targetApps": [],
        "team": None,
        "teamID": body.team_id,
        "isEnabled": True,
        "isGlobal": False,
        "passPercentage": 0,
        "gateIDs": [],
        "experimentIDs": [],
        "layerIDs": [],
        "targetingGateID": None,
        "monitoringMetrics": [],
        "salt": str(uuid.uuid4()),
        "referenceID": random_id(),
        "populationRuleBaseID": base_id,
        "populationRuleID": base_id,
        "percentageEdits": 0,
        "attachedTimes": {field: {} for field in ATTACHMENT_FIELDS},
        "overrides": empty_overrides(),
    }
    return entities.insert(
        session, HOLDOUT, change, document, action="holdout_create", change_log="Created Holdout"
    )


def _checked_ids(
    session: Session, project_id: str, field: str, ids: list[str], attached: list[str]
) -> list[str]:
    """The ids to attach. A newly given id must name an existing entity; an id that was attached
    before and whose entity has since been deleted is dropped, so that sending back what a read
    returned never fails."""
    unique = list(dict.fromkeys(i.strip() for i in ids))
    if "" in unique:
        raise InvalidInput.field(field, "ids must be non-empty strings")
    gone = repository.missing_ids(session, project_id, field, unique)
    missing = [i for i in gone if i not in attached]
    if missing:
        word = _KIND_WORD[field]
        raise InvalidInput.field(
            field,
            f"no {word} with id "
            + ", ".join(repr(m) for m in missing)
            + f" exists in this project; create the {word} first or remove the id",
        )
    return [i for i in unique if i not in gone]


def _attach(document: dict[str, Any], field: str, ids: list[str], now_ms: int) -> None:
    times = dict((document.get("attachedTimes") or {}).get(field) or {})
    document[field] = ids
    document.setdefault("attachedTimes", {})[field] = {i: times.get(i, now_ms) for i in ids}


def _set_percentage(document: dict[str, Any], given: float) -> None:
    percentage: float = int(given) if float(given).is_integer() else given
    if percentage == document["passPercentage"]:
        return
    edits = int(document.get("percentageEdits") or 0) + 1
    base = document["populationRuleBaseID"]
    document["passPercentage"] = percentage
    document["percentageEdits"] = edits
    document["populationRuleID"] = f"{base}:{percentage:.2f}:{edits}"


def _apply_fields(
    session: Session, change: Change, document: dict[str, Any], body: HoldoutFields
) -> None:
    given = body.model_fields_set
    if body.is_enabled is not None:
        document["isEnabled"] = body.is_enabled
    if body.description is not None:
        document["description"] = body.description
    if body.pass_percentage is not None:
        _set_percentage(document, body.pass_percentage)
    for field, ids in (
        ("gateIDs", body.gate_ids),
        ("experimentIDs", body.experiment_ids),
        ("layerIDs", body.layer_ids),
    ):
        if ids is not None:
            checked = _checked_ids(session, change.project_id, field, ids, document[field])
            _attach(document, field, checked, change.now_ms)
    if body.is_global is not None and body.is_global != document["isGlobal"]:
        document["isGlobal"] = body.is_global
        if body.is_global:
            document["globalSinceTime"] = change.now_ms
        else:
            document.pop("globalSinceTime", None)
    if "targeting_gate_id" in given:
        gate = body.targeting_gate_id
        if gate and repository.missing_ids(session, change.project_id, "gateIDs", [gate]):
            raise InvalidInput.field(
                "targetingGateID", f"no gate with id {gate!r} exists in this project"
            )
        document["targetingGateID"] = gate
    if body.monitoring_metrics is not None:
        document["monitoringMetrics"] = [m.model_dump() for m in body.monitoring_metrics]


def replace(session: Session, change: Change, holdout_id: str, body: HoldoutFullUpdate) -> Any:
    """``POST`` and ``PATCH`` differ only in the fields the full update's body requires."""
    return _update(session, change, holdout_id, body)


def patch(session: Session, change: Change, holdout_id: str, body: HoldoutPartialUpdate) -> Any:
    return _update(session, change, holdout_id, body)


def _update(session: Session, change: Change, holdout_id: str, body: HoldoutFields) -> Any:
    def edit(document: dict[str, Any]) -> None:
        _apply_fields(session, change, document, body)

    return apply_edit(session, change, holdout_id, edit, change_log="Updated Holdout")


def delete(session: Session, change: Change, holdout_id: str) -> dict[str, Any]:
    row = load(session, change.project_id, holdout_id, lock=True)
    shown = holdout_dto(row.document)
    entities.remove(
        session, HOLDOUT, change, row, action="holdout_delete", change_log="Deleted Holdout"
    )
    return shown


def apply_edit(
    session: Session,
    change: Change,
    holdout_id: str,
    edit: Callable[[dict[str, Any]], None],
    *,
    change_log: str,
) -> Any:
    row = load(session, change.project_id, holdout_id, lock=True)
    document = entities.editable(row)
    edit(document)
    return entities.save(
        session, HOLDOUT, change, row, document, action="holdout_update", change_log=change_log
    )


def list_(
    session: Session,
    project_id: str,
    columns: repository.ColumnFilter,
    *,
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    where = repository.conditions(session, columns)
    rows, total = entities.list_rows(
        session, HOLDOUT, project_id, where, offset=offset, limit=limit
    )
    return [holdout_dto(r.document) for r in rows], total


# --- overrides: the gate rules apply unchanged (docs/console.md §Overrides) -----------------------


def read_overrides(session: Session, project_id: str, holdout_id: str) -> StoredGateOverrides:
    return gate_overrides.overrides_of(load(session, project_id, holdout_id).document)


def change_overrides(
    session: Session, change: Change, holdout_id: str, body: OverridesIn, mode: Mode
) -> StoredGateOverrides:
    def edit(document: dict[str, Any]) -> None:
        document["overrides"] = gate_overrides.apply(
            gate_overrides.overrides_of(document), body, mode
        )

    log: dict[Mode, str] = {
        "replace": "Replaced Holdout Overrides",
        "add": "Added Holdout Overrides",
        "remove": "Removed Holdout Overrides",
    }
    row = apply_edit(session, change, holdout_id, edit, change_log=log[mode])
    return gate_overrides.overrides_of(row.document)
