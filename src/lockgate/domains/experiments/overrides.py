"""Experiment overrides (`docs/console.md` §Overrides): force users, or whoever passes a gate or
segment, into a group. ``POST`` replaces, ``PATCH`` adds, ``DELETE`` removes what its body lists
(everything when it lists nothing)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from lockgate.documents.stored import (
    StoredConditionalOverride,
    StoredExperimentOverrides,
    StoredIdOverride,
)
from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import GATE, SEGMENT
from lockgate.domains.experiments import documents
from lockgate.domains.experiments.schemas import ConditionalOverrideIn, IdOverrideIn, OverridesIn
from lockgate.errors import InvalidInput
from lockgate.kit.actor import Change

EMPTY: dict[str, list[Any]] = {"overrides": [], "userIDOverrides": []}


def _stored(document: dict[str, Any]) -> StoredExperimentOverrides:
    stored: StoredExperimentOverrides | None = document.get("overrides")
    return stored or {"overrides": [], "userIDOverrides": []}


def read(session: Session, project_id: str, experiment_id: str) -> StoredExperimentOverrides:
    return _stored(documents.load(session, project_id, experiment_id).document)


def _group_id(document: dict[str, Any], key: str, where: str) -> str:
    group = documents.find_group(document["groups"], key)
    if group is None:
        raise InvalidInput.field(f"{where} groupID", f"{key!r} is not a group of this experiment")
    return str(group["id"])


def _conditional(
    session: Session,
    project_id: str,
    document: dict[str, Any],
    items: Sequence[ConditionalOverrideIn],
) -> list[StoredConditionalOverride]:
    built: list[StoredConditionalOverride] = []
    for index, item in enumerate(items):
        where = f"overrides[{index}]"
        target = item.id or item.name
        if not target:
            raise InvalidInput.field(where, "id (the gate or segment id) is required")
        kind = GATE if item.type == "gate" else SEGMENT
        if not entities.exists(session, kind, project_id, target):
            raise InvalidInput.field(where, f"{item.type} {target!r} does not exist")
        built.append(
            {
                "type": item.type,
                "id": target,
                "groupID": _group_id(document, item.group_id, where),
                "environment": item.environment,
            }
        )
    return built


def _by_ids(document: dict[str, Any], items: Sequence[IdOverrideIn]) -> list[StoredIdOverride]:
    built: list[StoredIdOverride] = []
    for index, item in enumerate(items):
        where = f"userIDOverrides[{index}]"
        ids = list(dict.fromkeys(i for i in item.ids))
        if any(not i for i in ids):
            raise InvalidInput.field(f"{where} ids", "ids must not be empty strings")
        built.append(
            {
                "groupID": _group_id(document, item.group_id, where),
                "ids": ids,
                "environment": item.environment,
                "unitType": item.unit_type or document["idType"],
            }
        )
    return built


def _merged(entries: Sequence[StoredIdOverride]) -> list[StoredIdOverride]:
    """One entry per (group, environment, unit type), ids deduplicated; a unit may be forced
    into one group only."""
    merged: dict[tuple[str, str | None, str], StoredIdOverride] = {}
    owner: dict[tuple[str, str | None, str], str] = {}
    for entry in entries:
        key = (entry["groupID"], entry["environment"], entry["unitType"])
        target = merged.setdefault(key, {**entry, "ids": []})
        for unit in entry["ids"]:
            scope = (unit, entry["environment"], entry["unitType"])
            if owner.setdefault(scope, entry["groupID"]) != entry["groupID"]:
                raise InvalidInput.field(
                    "userIDOverrides", f"{unit!r} is overridden into two groups"
                )
            if unit not in target["ids"]:
                target["ids"].append(unit)
    return [e for e in merged.values() if e["ids"]]


def _dedupe_conditional(
    entries: Sequence[StoredConditionalOverride],
) -> list[StoredConditionalOverride]:
    """A later override of the same gate or segment (and environment) wins."""
    kept: dict[tuple[str, str, str | None], StoredConditionalOverride] = {}
    for entry in entries:
        key = (entry["type"], entry["id"], entry["environment"])
        kept.pop(key, None)
        kept[key] = entry
    return list(kept.values())


Edit = Callable[[dict[str, Any], StoredExperimentOverrides], StoredExperimentOverrides]


def _change(
    session: Session, change: Change, experiment_id: str, edit: Edit, text: str
) -> StoredExperimentOverrides:
    row = documents.load(session, change.project_id, experiment_id, lock=True)
    if row.document["status"] == documents.ARCHIVED:
        raise InvalidInput("Experiment is archived. Unarchive it before editing it")
    document = entities.editable(row)
    current = _stored(document)
    document["overrides"] = edit(document, current)
    saved = documents.save_document(
        session, change, row, document, "experiment_overrides_update", text
    )
    return _stored(saved.document)


def replace(
    session: Session, change: Change, experiment_id: str, body: OverridesIn
) -> StoredExperimentOverrides:
    def edit(
        document: dict[str, Any], _current: StoredExperimentOverrides
    ) -> StoredExperimentOverrides:
        return {
            "overrides": _dedupe_conditional(
                _conditional(session, change.project_id, document, body.overrides)
            ),
            "userIDOverrides": _merged(_by_ids(document, body.user_id_overrides)),
        }

    return _change(session, change, experiment_id, edit, "Updated Experiment overrides")


def add(
    session: Session, change: Change, experiment_id: str, body: OverridesIn
) -> StoredExperimentOverrides:
    def edit(
        document: dict[str, Any], current: StoredExperimentOverrides
    ) -> StoredExperimentOverrides:
        incoming = _by_ids(document, body.user_id_overrides)
        units = {(u, e["environment"], e["unitType"]) for e in incoming for u in e["ids"]}
        # A unit added to a new group leaves its old one.
        kept: list[StoredIdOverride] = [
            {**e, "ids": [u for u in e["ids"] if (u, e["environment"], e["unitType"]) not in units]}
            for e in current["userIDOverrides"]
        ]
        return {
            "overrides": _dedupe_conditional(
                [
                    *current["overrides"],
                    *_conditional(session, change.project_id, document, body.overrides),
                ]
            ),
            "userIDOverrides": _merged([*kept, *incoming]),
        }

    return _change(session, change, experiment_id, edit, "Added Experiment overrides")


def remove(
    session: Session, change: Change, experiment_id: str, body: OverridesIn | None
) -> StoredExperimentOverrides:
    def edit(
        document: dict[str, Any], current: StoredExperimentOverrides
    ) -> StoredExperimentOverrides:
        if body is None or not (body.overrides or body.user_id_overrides):
            return {"overrides": [], "userIDOverrides": []}
        gone = {(o.type, o.id or o.name) for o in body.overrides}
        drop_ids: dict[str, set[str]] = {}
        for item in body.user_id_overrides:
            drop_ids.setdefault(
                _group_id(document, item.group_id, "userIDOverrides"), set()
            ).update(item.ids)
        left: list[StoredIdOverride] = []
        for entry in current["userIDOverrides"]:
            dropped = drop_ids.get(entry["groupID"], set())
            ids = [u for u in entry["ids"] if u not in dropped]
            if ids:
                left.append({**entry, "ids": ids})
        return {
            "overrides": [o for o in current["overrides"] if (o["type"], o["id"]) not in gone],
            "userIDOverrides": left,
        }

    return _change(session, change, experiment_id, edit, "Removed Experiment overrides")
