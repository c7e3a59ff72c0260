"""Queries over audit log entries and entity versions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session

from lockgate.kit.sqljson import json_list_overlaps
from lockgate.storage.models import AuditLog, EntityVersion

SORT_COLUMNS: dict[str, Any] = {
    "id": AuditLog.id,
    "name": AuditLog.name,
    "changeLog": AuditLog.change_log,
    "actionType": AuditLog.action_type,
    "date": AuditLog.seq,
    "time": AuditLog.seq,
    "updatedBy": AuditLog.actor_name,
    "updatedByUserID": AuditLog.actor_id,
}


@dataclass(frozen=True)
class AuditFilter:
    id: str | None = None
    latest_seq: int | None = None
    tags: tuple[str, ...] = ()
    action_types: tuple[str, ...] = ()
    start_ms: int | None = None
    end_ms: int | None = None
    sort_key: str = "date"
    descending: bool = True
    # The web console's filters: exact entity type, name containing (any case), author.
    entity_type: str | None = None
    name_contains: str | None = None
    author: str | None = None  # the author's name or email, exactly


def add(session: Session, entry: AuditLog) -> None:
    """Queue the entry: it is inserted by the session's next flush (the next query of the
    transaction, or its commit), with the version snapshot and whatever else waits, in one
    pass rather than a flush per row."""
    session.add(entry)


def seq_of(session: Session, project_id: str, audit_id: str) -> int | None:
    return session.scalar(
        select(AuditLog.seq).where(AuditLog.project_id == project_id, AuditLog.id == audit_id)
    )


def list_entries(
    session: Session, project_id: str, flt: AuditFilter, *, offset: int, limit: int
) -> tuple[Sequence[AuditLog], int]:
    conditions: list[ColumnElement[bool]] = [AuditLog.project_id == project_id]
    if flt.id:
        conditions.append(or_(AuditLog.id == flt.id, AuditLog.entity_id == flt.id))
    if flt.latest_seq is not None:
        conditions.append(AuditLog.seq <= flt.latest_seq)
    if flt.action_types:
        conditions.append(AuditLog.action_type.in_(flt.action_types))
    if flt.tags:
        dialect = session.get_bind().dialect.name
        conditions.append(json_list_overlaps(AuditLog.tags, flt.tags, dialect))
    if flt.entity_type:
        conditions.append(AuditLog.entity_type == flt.entity_type)
    if flt.name_contains:
        conditions.append(
            func.lower(AuditLog.name).contains(flt.name_contains.lower(), autoescape=True)
        )
    if flt.author:
        conditions.append(
            or_(AuditLog.actor_name == flt.author, AuditLog.actor_email == flt.author)
        )
    if flt.start_ms is not None:
        conditions.append(AuditLog.created_time >= flt.start_ms)
    if flt.end_ms is not None:
        conditions.append(AuditLog.created_time < flt.end_ms)
    query = select(AuditLog).where(*conditions)
    column = SORT_COLUMNS[flt.sort_key]
    order = [column.desc() if flt.descending else column.asc()]
    if column is not AuditLog.seq:
        order.append(AuditLog.seq.desc())
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(*order).offset(offset).limit(limit)).all()
    return rows, total


def entity_types(session: Session, project_id: str) -> list[str]:
    """The entity types the project's audit log names, in alphabetical order."""
    return list(
        session.scalars(
            select(AuditLog.entity_type)
            .where(AuditLog.project_id == project_id)
            .distinct()
            .order_by(AuditLog.entity_type)
        )
    )


def next_version(session: Session, project_id: str, entity_type: str, entity_id: str) -> int:
    current = session.scalar(
        select(func.max(EntityVersion.version)).where(
            EntityVersion.project_id == project_id,
            EntityVersion.entity_type == entity_type,
            EntityVersion.entity_id == entity_id,
        )
    )
    return int(current or 0) + 1


def add_version(session: Session, version: EntityVersion) -> None:
    """Queue the snapshot, as ``add`` queues an audit entry."""
    session.add(version)


def list_versions(
    session: Session, project_id: str, entity_type: str, entity_id: str, *, offset: int, limit: int
) -> tuple[Sequence[EntityVersion], int]:
    conditions = (
        EntityVersion.project_id == project_id,
        EntityVersion.entity_type == entity_type,
        EntityVersion.entity_id == entity_id,
    )
    total = session.scalar(select(func.count()).where(*conditions)) or 0
    rows = session.scalars(
        select(EntityVersion)
        .where(*conditions)
        .order_by(EntityVersion.version.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return rows, total


def delete_versions(session: Session, project_id: str, entity_type: str, entity_id: str) -> None:
    session.execute(
        delete(EntityVersion).where(
            EntityVersion.project_id == project_id,
            EntityVersion.entity_type == entity_type,
            EntityVersion.entity_id == entity_id,
        )
    )
