"""Rules for unit id types: built-ins reserved, names unique, types in use kept, all audited.

``userID`` and ``stableID`` always exist and are never listed; a custom type must be defined
before an entity, condition, override or metric names it (docs/console.md §Unit ID types).
Types only gate what may be written: they change nothing SDKs download.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.audit.service import record_audit
from lockgate.domains.entities import repository as entities_repository
from lockgate.domains.entities.kinds import ALL_KINDS
from lockgate.domains.entities.references import BUILT_IN_ID_TYPES, id_types_in, is_built_in_id_type
from lockgate.domains.unit_id_types import repository
from lockgate.domains.unit_id_types.schemas import UnitIdTypeCreate, UnitIdTypeUpdate
from lockgate.errors import Conflict, InvalidInput, NotFound
from lockgate.kit.actor import Actor
from lockgate.storage.models import UnitIdType

BUILT_IN = BUILT_IN_ID_TYPES
_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")
NOT_FOUND = "Unit ID Type not found."


def dto(row: UnitIdType) -> dict[str, Any]:
    shown: dict[str, Any] = {"name": row.name}
    if row.description is not None:
        shown["description"] = row.description
    return shown


def is_built_in(name: str) -> bool:
    return is_built_in_id_type(name)


def load(session: Session, project_id: str, name: str, *, lock: bool = False) -> UnitIdType:
    if is_built_in(name):
        raise InvalidInput.field("name", f"{name!r} is a built-in unit id type")
    row = repository.get(session, project_id, name, lock=lock)
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


def read(session: Session, project_id: str, name: str) -> dict[str, Any]:
    return dto(load(session, project_id, name))


def list_(
    session: Session, project_id: str, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    rows, total = repository.list_types(session, project_id, offset=offset, limit=limit)
    return [dto(r) for r in rows], total


def users(session: Session, project_id: str, name: str) -> list[str]:
    """``kind id`` of every document that names the type (compared case-insensitively)."""
    lowered = name.lower()
    found = []
    for kind in ALL_KINDS:
        rows, _ = entities_repository.list_rows(session, kind, project_id)
        for row in rows:
            if any(t.lower() == lowered for t in id_types_in(row.document)):
                found.append(f"{kind.entity_type} {row.id}")
    return found


def create(
    session: Session, project_id: str, actor: Actor, now_ms: int, body: UnitIdTypeCreate
) -> UnitIdType:
    name = body.name.strip()
    if not _NAME.match(name):
        raise InvalidInput.field(
            "name", "must be 1 to 100 letters, digits, _ or - (e.g. companyID)"
        )
    if is_built_in(name):
        raise InvalidInput.field("name", f"{name!r} is a built-in unit id type")
    if repository.get(session, project_id, name) is not None:
        raise Conflict()
    row = UnitIdType(
        project_id=project_id, name=name, description=body.description, created_time=now_ms
    )
    repository.add(session, row)
    _audit(session, row, actor, now_ms, "company_ID_type_add", "Added ID Type", None, dto(row))
    return row


def patch(
    session: Session,
    project_id: str,
    actor: Actor,
    now_ms: int,
    name: str,
    body: UnitIdTypeUpdate,
) -> UnitIdType:
    row = load(session, project_id, name, lock=True)
    before = dto(row)
    row.description = body.description
    session.flush()
    _audit(session, row, actor, now_ms, "company_ID_type_edit", "Edited ID Type", before, dto(row))
    return row


def delete(session: Session, project_id: str, actor: Actor, now_ms: int, name: str) -> None:
    row = load(session, project_id, name, lock=True)
    in_use = users(session, project_id, row.name)
    if in_use:
        shown = ", ".join(in_use[:10]) + (
            f" and {len(in_use) - 10} more" if len(in_use) > 10 else ""
        )
        raise InvalidInput.field("name", f"unit id type {row.name!r} is used by {shown}")
    before = dto(row)
    repository.delete(session, row)
    _audit(session, row, actor, now_ms, "company_ID_type_delete", "Deleted ID Type", before, None)


def _audit(
    session: Session,
    row: UnitIdType,
    actor: Actor,
    now_ms: int,
    action: str,
    change_log: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    record_audit(
        session,
        project_id=row.project_id,
        actor=actor,
        now_ms=now_ms,
        entity_type="unit_id_type",
        entity_id=row.name,
        name=row.name,
        action_type=action,
        change_log=change_log,
        before=before,
        after=after,
    )
