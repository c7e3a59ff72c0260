"""Recording changes: one audit entry, and for versioned entities one snapshot, per mutation.

Callers run inside the request's transaction, so the entry commits or rolls back with the change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.audit import repository
from lockgate.domains.audit.action_types import ACTION_TYPES
from lockgate.errors import InvalidInput
from lockgate.kit.actor import Actor, Change
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


def audit_change(
    session: Session,
    change: Change,
    *,
    entity_type: str,
    entity_id: str,
    name: str,
    action_type: str,
    change_log: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    tags: Sequence[str] = (),
) -> AuditLog:
    """``record_audit`` for a service holding the request's ``Change``: who, where, when."""
    return record_audit(
        session,
        project_id=change.project_id,
        actor=change.actor,
        now_ms=change.now_ms,
        entity_type=entity_type,
        entity_id=entity_id,
        name=name,
        action_type=action_type,
        change_log=change_log,
        before=before,
        after=after,
        tags=tags,
    )


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


def entity_types(session: Session, project_id: str) -> list[str]:
    return repository.entity_types(session, project_id)


def _day_start_ms(name: str, raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput.field(
            name, f"expected a date in the form YYYY-MM-DD, got {raw!r}", location="query"
        ) from None
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def list_(
    session: Session,
    project_id: str,
    *,
    entity_id: str | None,
    tags: Sequence[str],
    action_types: Sequence[str],
    latest_id: str | None,
    start_date: str | None,
    end_date: str | None,
    sort_key: str,
    descending: bool,
    offset: int,
    limit: int,
    entity_type: str | None = None,
    name_contains: str | None = None,
    author: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """A page of the project's audit entries; the dates are UTC days, ``end_date`` included.
    ``entity_type``, ``name_contains`` and ``author`` (a name or an email) are the web
    console's filters; an empty one does not filter."""
    unknown = [a for a in action_types if a not in ACTION_TYPES]
    if unknown:
        raise InvalidInput.field(
            "actionType", f"unknown action type {unknown[0]!r}", location="query"
        )
    latest_seq = None
    if latest_id:
        latest_seq = repository.seq_of(session, project_id, latest_id)
        if latest_seq is None:
            raise InvalidInput.field(
                "latestID", f"no audit log entry {latest_id!r}", location="query"
            )
    end_ms = _day_start_ms("endDate", end_date)
    flt = repository.AuditFilter(
        id=entity_id,
        latest_seq=latest_seq,
        tags=tuple(tags),
        action_types=tuple(action_types),
        start_ms=_day_start_ms("startDate", start_date),
        # endDate is inclusive: everything before the start of the next day.
        end_ms=None if end_ms is None else end_ms + int(timedelta(days=1).total_seconds() * 1000),
        sort_key=sort_key,
        descending=descending,
        entity_type=entity_type or None,
        name_contains=name_contains or None,
        author=author or None,
    )
    rows, total = repository.list_entries(session, project_id, flt, offset=offset, limit=limit)
    return [audit_dto(r) for r in rows], total
