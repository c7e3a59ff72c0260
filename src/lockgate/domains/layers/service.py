"""Rules of the Layers resource: create, read, list, update, delete, and layer overrides.

A layer is stored as its ``LayerContractDto`` document plus its ``salt`` (what every allocation
bucket of its experiments hashes on) and its ``overrides`` (``LayerOverridesDto``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from lockgate.cores.compiler import parameters
from lockgate.documents.stored import (
    StoredLayerConditionalOverride,
    StoredLayerIdOverride,
    StoredLayerOverrides,
    StoredParameter,
)
from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import GATE, LAYER, SEGMENT
from lockgate.domains.events import incoming
from lockgate.domains.experiments import documents as experiments
from lockgate.domains.experiments import repository as experiment_repository
from lockgate.domains.layers.schemas import (
    ConditionalOverrideIn,
    IdOverrideIn,
    LayerCreate,
    LayerFullUpdate,
    LayerOverridesIn,
    LayerPartialUpdate,
    ParameterIn,
)
from lockgate.domains.param_stores import service as param_stores
from lockgate.errors import InvalidInput
from lockgate.kit.actor import Change

INTERNAL_FIELDS = ("salt", "overrides")


def layer_dto(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in INTERNAL_FIELDS}


def load(session: Session, project_id: str, layer_id: str, *, lock: bool = False) -> Any:
    return entities.load(session, LAYER, project_id, layer_id, lock=lock)


def read(session: Session, project_id: str, layer_id: str) -> dict[str, Any]:
    return layer_dto(load(session, project_id, layer_id).document)


def list_(
    session: Session, project_id: str, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    rows, total = entities.list_rows(session, LAYER, project_id, offset=offset, limit=limit)
    return [layer_dto(r.document) for r in rows], total


def list_experiments(
    session: Session, project_id: str, layer_id: str, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    incoming.settle_before(session)
    load(session, project_id, layer_id)
    rows = experiment_repository.layer_experiments(session, project_id, layer_id)
    documents = [r.document for r in rows[offset : offset + limit]]
    return experiments.dtos(session, project_id, documents), len(rows)


def _parameters(incoming: Sequence[ParameterIn]) -> list[StoredParameter]:
    seen: set[str] = set()
    built: list[StoredParameter] = []
    for index, parameter in enumerate(incoming):
        name = parameter.name.strip()
        where = f'parameters[{index}] "{name}"' if name else f"parameters[{index}]"
        if not name:
            raise InvalidInput.field(where, "name is required")
        if name in seen:
            raise InvalidInput.field(where, f"parameter name {name!r} is used twice")
        seen.add(name)
        if not parameters.fits(parameter.type, parameter.default_value):
            raise InvalidInput.field(
                where, f"defaultValue must be a {parameter.type}, got {parameter.default_value!r}"
            )
        built.append(
            {"name": name, "type": parameter.type, "defaultValue": parameter.default_value}
        )
    return built


def create(session: Session, change: Change, body: LayerCreate) -> dict[str, Any]:
    name, layer_id = entities.derive_id(body.name, None, "plain")
    if not body.id_type:
        raise InvalidInput.field("idType", "is required")
    entities.ensure_free(session, (LAYER,), change.project_id, layer_id)
    document: dict[str, Any] = {
        "id": layer_id,
        "name": name,
        "description": body.description or "",
        "idType": body.id_type,
        "tags": [],
        "targetApps": entities.target_apps(session, change.project_id, body.target_apps),
        "holdoutIDs": [],
        "team": body.team,
        "teamID": None,
        "isImplicitLayer": False,
        "parameters": _parameters(body.parameters or []),
        "salt": str(uuid.uuid4()),
        "overrides": {"conditionalOverrides": [], "idOverrides": []},
    }
    row = entities.insert(
        session, LAYER, change, document, action="layer_create", change_log="Created Layer"
    )
    return layer_dto(row.document)


def replace(
    session: Session, change: Change, layer_id: str, body: LayerFullUpdate
) -> dict[str, Any]:
    fields = {"description", "parameters", "target_apps"}
    return _update(session, change, layer_id, body, fields)


def patch(
    session: Session, change: Change, layer_id: str, body: LayerPartialUpdate
) -> dict[str, Any]:
    return _update(session, change, layer_id, body, set(body.model_fields_set))


def _update(
    session: Session, change: Change, layer_id: str, body: LayerPartialUpdate, fields: set[str]
) -> dict[str, Any]:
    row = load(session, change.project_id, layer_id, lock=True)
    document = entities.editable(row)
    if "description" in fields:
        document["description"] = body.description or ""
    if "target_apps" in fields:
        document["targetApps"] = entities.target_apps(session, change.project_id, body.target_apps)
    if "parameters" in fields:
        document["parameters"] = _parameters(body.parameters or [])
        # Experiments of the layer must still set only parameters of the right type.
        for experiment in experiment_repository.layer_experiments(
            session, change.project_id, layer_id
        ):
            for group in experiment.document["groups"]:
                parameters.check_values(
                    document,
                    group["parameterValues"],
                    f"parameters (used by experiment {experiment.id!r}, group {group['name']!r})",
                )
    saved = entities.save(
        session,
        LAYER,
        change,
        row,
        document,
        action="layer_update",
        change_log="Updated Layer",
    )
    return layer_dto(saved.document)


def delete(session: Session, change: Change, layer_id: str) -> None:
    row = load(session, change.project_id, layer_id, lock=True)
    param_stores.ensure_unreferenced(session, change.project_id, "layer", layer_id)
    members = experiment_repository.layer_experiments(session, change.project_id, layer_id)
    if members:
        names = ", ".join(m.id for m in members)
        raise InvalidInput.because(
            f"Layer {layer_id!r} has experiments ({names}); delete them or move "
            "them to another layer first"
        )
    entities.remove(session, LAYER, change, row, action="layer_delete", change_log="Deleted Layer")


# -- overrides -------------------------------------------------------------------------------


def _stored(document: dict[str, Any]) -> StoredLayerOverrides:
    stored: StoredLayerOverrides | None = document.get("overrides")
    return stored or {"conditionalOverrides": [], "idOverrides": []}


def read_overrides(session: Session, project_id: str, layer_id: str) -> StoredLayerOverrides:
    return _stored(load(session, project_id, layer_id).document)


def _member_group(
    members: dict[str, Mapping[str, Any]], experiment: str | None, group: str, where: str
) -> tuple[str, str]:
    """Check that ``experiment`` is in the layer and has ``group``; returns the experiment's
    and the group's names."""
    if not experiment:
        raise InvalidInput.field(f"{where} experimentName", "is required")
    document = members.get(experiment)
    if document is None:
        known = ", ".join(members) or "none"
        raise InvalidInput.field(
            f"{where} experimentName",
            f"{experiment!r} is not an experiment of this layer (experiments: {known})",
        )
    found = experiments.find_group(document["groups"], group)
    if found is None:
        raise InvalidInput.field(
            f"{where} groupName", f"{group!r} is not a group of experiment {experiment!r}"
        )
    return experiment, found["name"]


def _validated(
    session: Session, project_id: str, layer: dict[str, Any], body: LayerOverridesIn
) -> StoredLayerOverrides:
    members: dict[str, Mapping[str, Any]] = {
        r.id: r.document
        for r in experiment_repository.layer_experiments(session, project_id, layer["id"])
    }
    conditional = []
    for index, item in enumerate(body.conditional_overrides):
        where = f"conditionalOverrides[{index}]"
        conditional.append(_conditional(session, project_id, members, item, where))
    by_ids = []
    for index, entry in enumerate(body.id_overrides):
        where = f"idOverrides[{index}]"
        by_ids.append(_by_ids(members, entry, where, layer["idType"]))
    return {"conditionalOverrides": conditional, "idOverrides": by_ids}


def _conditional(
    session: Session,
    project_id: str,
    members: dict[str, Mapping[str, Any]],
    item: ConditionalOverrideIn,
    where: str,
) -> StoredLayerConditionalOverride:
    if item.type not in ("gate", "segment"):
        raise InvalidInput.field(f"{where} type", 'must be "gate" or "segment"')
    kind = GATE if item.type == "gate" else SEGMENT
    if not entities.exists(session, kind, project_id, item.name):
        raise InvalidInput.field(f"{where} name", f"{item.type} {item.name!r} does not exist")
    _, group = _member_group(members, item.experiment_name, item.group_name, where)
    return {
        "type": item.type,
        "name": item.name,
        "experimentName": item.experiment_name,
        "groupName": group,
    }


def _by_ids(
    members: dict[str, Mapping[str, Any]], entry: IdOverrideIn, where: str, id_type: str
) -> StoredLayerIdOverride:
    experiment, group = _member_group(members, entry.experiment_name, entry.group_name, where)
    if any(not i for i in entry.ids):
        raise InvalidInput.field(f"{where} ids", "ids must not be empty strings")
    return {
        "groupName": group,
        "ids": list(dict.fromkeys(entry.ids)),
        "idType": entry.id_type or id_type,
        "environment": entry.environment,
        "experimentName": experiment,
    }


Edit = Callable[[dict[str, Any], StoredLayerOverrides], StoredLayerOverrides]


def _change_overrides(
    session: Session, change: Change, layer_id: str, edit: Edit, text: str
) -> StoredLayerOverrides:
    row = load(session, change.project_id, layer_id, lock=True)
    document = entities.editable(row)
    document["overrides"] = edit(document, _stored(document))
    saved = entities.save(
        session, LAYER, change, row, document, action="layer_overrides_update", change_log=text
    )
    return _stored(saved.document)


def _merge(entries: Sequence[StoredLayerIdOverride]) -> list[StoredLayerIdOverride]:
    merged: dict[tuple[str, str, str, str | None], StoredLayerIdOverride] = {}
    for entry in entries:
        key = (entry["experimentName"], entry["groupName"], entry["idType"], entry["environment"])
        target = merged.setdefault(key, {**entry, "ids": []})
        target["ids"] += [i for i in entry["ids"] if i not in target["ids"]]
    return [e for e in merged.values() if e["ids"]]


def _dedupe(
    entries: Sequence[StoredLayerConditionalOverride],
) -> list[StoredLayerConditionalOverride]:
    kept: dict[tuple[str, str, str], StoredLayerConditionalOverride] = {}
    for entry in entries:
        key = (entry["type"], entry["name"], entry["experimentName"])
        kept.pop(key, None)
        kept[key] = entry
    return list(kept.values())


def replace_overrides(
    session: Session, change: Change, layer_id: str, body: LayerOverridesIn
) -> StoredLayerOverrides:
    def edit(document: dict[str, Any], _current: StoredLayerOverrides) -> StoredLayerOverrides:
        built = _validated(session, change.project_id, document, body)
        return {
            "conditionalOverrides": _dedupe(built["conditionalOverrides"]),
            "idOverrides": _merge(built["idOverrides"]),
        }

    return _change_overrides(session, change, layer_id, edit, "Updated Layer overrides")


def add_overrides(
    session: Session, change: Change, layer_id: str, body: LayerOverridesIn
) -> StoredLayerOverrides:
    def edit(document: dict[str, Any], current: StoredLayerOverrides) -> StoredLayerOverrides:
        built = _validated(session, change.project_id, document, body)
        return {
            "conditionalOverrides": _dedupe(
                [*current["conditionalOverrides"], *built["conditionalOverrides"]]
            ),
            "idOverrides": _merge([*current["idOverrides"], *built["idOverrides"]]),
        }

    return _change_overrides(session, change, layer_id, edit, "Added Layer overrides")


def remove_overrides(
    session: Session, change: Change, layer_id: str, body: LayerOverridesIn | None
) -> StoredLayerOverrides:
    def edit(_document: dict[str, Any], current: StoredLayerOverrides) -> StoredLayerOverrides:
        if body is None or not (body.conditional_overrides or body.id_overrides):
            return {"conditionalOverrides": [], "idOverrides": []}
        gone = {(o.type, o.name, o.experiment_name) for o in body.conditional_overrides}
        drop = {
            (e.experiment_name, e.group_name.lower(), i) for e in body.id_overrides for i in e.ids
        }
        remaining: list[StoredLayerIdOverride] = [
            {
                **e,
                "ids": [
                    i
                    for i in e["ids"]
                    if (e["experimentName"], e["groupName"].lower(), i) not in drop
                ],
            }
            for e in current["idOverrides"]
        ]
        return {
            "conditionalOverrides": [
                o
                for o in current["conditionalOverrides"]
                if (o["type"], o["name"], o["experimentName"]) not in gone
            ],
            "idOverrides": [e for e in remaining if e["ids"]],
        }

    return _change_overrides(session, change, layer_id, edit, "Removed Layer overrides")
