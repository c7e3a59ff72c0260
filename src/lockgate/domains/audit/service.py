"""Recording changes: one audit entry, and for versioned entities one snapshot, per mutation.

Callers run inside the request's transaction, so the entry commits or rolls back with the change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.audit import repository
from lockgate.kit.actor import Actor
from lockgate.kit.ids import random_id
from lockgate.storage.models import AuditLog, EntityVersion


def field_changes(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Per-field ``{old, new}`` for the fields that differ, as Statsig's audit log shows them."""
    old, new = dict(before or {}), dict(after or {})
    changed: dict[str, Any] = {}
    for field in sorted(old.keys() | new.keys()):
        if old.get(field) != new.get(field):
            changed[field] = {"old": old.get(field), "new": new.get(field)}
    return changed


def record_audit(
    session: Session,
    *,
    project_id: str,
    actor: Actor,
    now_ms: int,
    entity_type: str,
    entity_id: str,
    name: str,
    action_type: str,
    change_log: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    tags: Sequence[str] = (),
) -> AuditLog:
    entry = AuditLog(
        id=random_id(),
        project_id=project_id,
        entity_type=entity_type,
        entity_id=entity_id,
        name=name,
        action_type=action_type,
        change_log=change_log,
        actor_id=actor.id,
        actor_name=actor.name,
        actor_email=actor.email,
        changes=field_changes(before, after),
        tags=list(tags),
        created_time=now_ms,
    )
    repository.add(session, entry)
    return entry


def record_version(
    session: Session,
    *,
    project_id: str,
    actor: Actor,
    now_ms: int,
    entity_type: str,
    entity_id: str,
    document: Mapping[str, Any],
) -> int:
    """Store a snapshot and return its version number (strictly increasing per entity).

    The caller holds the entity's row lock, so two writers cannot pick the same number.
    """
    version = repository.next_version(session, project_id, entity_type, entity_id)
    repository.add_version(
        session,
        EntityVersion(
            project_id=project_id,
            entity_type=entity_type,
            entity_id=entity_id,
            version=version,
            document={**document, "version": version},
            created_time=now_ms,
            actor_id=actor.id,
        ),
    )
    return version


def audit_dto(entry: AuditLog) -> dict[str, Any]:
    moment = datetime.fromtimestamp(entry.created_time / 1000, tz=UTC)
    return {
        "id": entry.id,
        "name": entry.name,
        "changeLog": entry.change_log,
        "actionType": entry.action_type,
        "date": moment.strftime("%a %b %d %Y"),
        "time": moment.strftime("%H:%M:%S GMT+0000 (Coordinated Universal Time)"),
        "updatedBy": entry.actor_name,
        "updatedByUserID": entry.actor_id,
        "modifierEmail": entry.actor_email,
        "changes": entry.changes,
        "tags": list(entry.tags or []),
        "targetAppIDs": list(entry.target_app_ids or []),
    }
