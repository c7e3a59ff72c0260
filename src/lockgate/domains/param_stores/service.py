"""Rules for parameter stores: creation, updates that replace the parameter list, deletion, and
the check other kinds make before they delete an entity a store reads from.

A store is kept under its name (the path identifier and the key SDK payloads use); the
22-character id the API shows is ``storeID`` in the document. Every write goes through
``entities`` so that it is versioned, audited and bumps the spec revision.
"""

from __future__ import annotations

import re
from typing import Any, Final

from sqlalchemy.orm import Session

from lockgate.domains.appids.resolve import resolve_target_apps
from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import (
    DYNAMIC_CONFIG,
    EXPERIMENT,
    GATE,
    LAYER,
    PARAM_STORE,
    EntityKind,
)
from lockgate.domains.entities.tags import checked_tags
from lockgate.domains.param_stores import parameters, repository
from lockgate.domains.param_stores.schemas import ParamStoreCreate, ParamStoreUpdate
from lockgate.errors import Conflict, InvalidInput
from lockgate.kit.actor import Change
from lockgate.kit.ids import random_id

# Store names are kept verbatim (they are payload keys) and may hold spaces, as Statsig's do.
_NAME: Final = re.compile(r"^[A-Za-z0-9_\-.: ]+$")
MAX_NAME_LENGTH: Final = 100
REFERENCED_KINDS: Final[dict[str, EntityKind]] = {
    "gate": GATE,
    "dynamic_config": DYNAMIC_CONFIG,
    "experiment": EXPERIMENT,
    "layer": LAYER,
}
_DTO_FIELDS: Final = (
    "name",
    "displayName",
    "description",
    "createdTime",
    "creatorID",
    "lastModifierID",
    "team",
    "teamID",
    "parameters",
    "targetAppIDs",
    "tags",
)


def store_dto(document: dict[str, Any]) -> dict[str, Any]:
    """A stored parameter store as the API shows it (``ParamStoreDto``)."""
    dto: dict[str, Any] = {"id": document["storeID"]}
    for field in _DTO_FIELDS:
        if field == "teamID" and document.get(field) is None:
            continue  # ``teamID`` is a string when present
        dto[field] = document.get(field)
    return dto


def _checked_name(name: str) -> str:
    if not name or not name.strip():
        raise InvalidInput.field("name", "is required")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput.field("name", f"must be at most {MAX_NAME_LENGTH} characters")
    if name != name.strip() or not _NAME.match(name):
        raise InvalidInput.field(
            "name",
            f"{name!r} may contain only letters, digits, spaces, _, -, . and :, and may not "
            "start or end with a space",
        )
    return name


def _exists(session: Session, project_id: str) -> parameters.Exists:
    def exists(ref_type: str, name: str) -> bool:
        return entities.exists(session, REFERENCED_KINDS[ref_type], project_id, name)

    return exists


def load(session: Session, project_id: str, name: str, *, lock: bool = False) -> Any:
    return entities.load(session, PARAM_STORE, project_id, name, lock=lock)


def read(session: Session, project_id: str, name: str) -> dict[str, Any]:
    return store_dto(load(session, project_id, name).document)


def list_(
    session: Session, project_id: str, *, offset: int, limit: int | None
) -> tuple[list[dict[str, Any]], int]:
    rows, total = entities.list_rows(session, PARAM_STORE, project_id, offset=offset, limit=limit)
    return [store_dto(row.document) for row in rows], total


def create(session: Session, change: Change, body: ParamStoreCreate) -> Any:
    name = _checked_name(body.name)
    taken = {existing.lower() for existing in repository.names(session, change.project_id)}
    if name.lower() in taken:
        raise Conflict()
    document: dict[str, Any] = {
        "id": name,
        "storeID": random_id(),
        "name": name,
        "displayName": body.display_name,
        "description": body.description,
        "team": body.team,
        "teamID": None,
        "tags": checked_tags(session, change.project_id, body.tags),
        "targetAppIDs": resolve_target_apps(
            session, change.project_id, body.target_app_ids, field="targetAppIDs"
        ),
        "parameters": [],
    }
    return entities.insert(
        session,
        PARAM_STORE,
        change,
        document,
        action="param_store_create",
        change_log="Created Param Store",
    )


def patch(session: Session, change: Change, name: str, body: ParamStoreUpdate) -> Any:
    row = load(session, change.project_id, name, lock=True)
    document = entities.editable(row)
    if body.description is not None:
        document["description"] = body.description
    if body.parameters is not None:
        document["parameters"] = parameters.check_parameters(
            body.parameters, _exists(session, change.project_id)
        )
    if body.target_app_ids is not None:
        document["targetAppIDs"] = resolve_target_apps(
            session, change.project_id, body.target_app_ids, field="targetAppIDs"
        )
    if body.tags is not None:
        document["tags"] = checked_tags(session, change.project_id, body.tags)
    return entities.save(
        session,
        PARAM_STORE,
        change,
        row,
        document,
        action="param_store_update",
        change_log="Updated Param Store",
    )


def delete(session: Session, change: Change, name: str) -> None:
    row = load(session, change.project_id, name, lock=True)
    entities.remove(
        session,
        PARAM_STORE,
        change,
        row,
        action="param_store_delete",
        change_log="Deleted Param Store",
    )


def remove_target_app(session: Session, change: Change, app_id: str) -> None:
    """Take a deleted target app off every store tagged with it (docs/console.md §Target apps)."""
    for row in entities.all_rows(session, PARAM_STORE, change.project_id):
        apps = [str(a) for a in row.document.get("targetAppIDs") or []]
        if app_id not in apps:
            continue
        locked = load(session, change.project_id, row.id, lock=True)
        document = entities.editable(locked)
        document["targetAppIDs"] = [a for a in apps if a != app_id]
        entities.save(
            session,
            PARAM_STORE,
            change,
            locked,
            document,
            action="param_store_update",
            change_log="Removed deleted target app",
        )


def ensure_unreferenced(session: Session, project_id: str, ref_type: str, entity_id: str) -> None:
    """Refuse to delete an entity a parameter store reads from: the store would then resolve to
    its fallback everywhere without anyone having chosen that."""
    users = [
        document["name"]
        for document in repository.documents(session, project_id)
        if (ref_type, entity_id) in parameters.references(document.get("parameters") or [])
    ]
    if users:
        label = REFERENCED_KINDS[ref_type].label
        raise InvalidInput.because(
            f"{label} {entity_id!r} is referenced by param store "
            f"{', '.join(repr(u) for u in users)}; remove those parameters first"
        )
