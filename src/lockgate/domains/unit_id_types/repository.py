"""Queries over custom unit id types."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lockgate.storage.models import UnitIdType


def get(session: Session, project_id: str, name: str, *, lock: bool = False) -> UnitIdType | None:
    """The type named ``name``, compared case-insensitively (SDKs read custom ids either way)."""
    query = select(UnitIdType).where(
        UnitIdType.project_id == project_id, func.lower(UnitIdType.name) == name.lower()
    )
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def names(session: Session, project_id: str) -> list[str]:
    return list(
        session.scalars(
            select(UnitIdType.name)
            .where(UnitIdType.project_id == project_id)
            .order_by(UnitIdType.created_time, UnitIdType.name)
        )
    )


def list_types(
    session: Session, project_id: str, *, offset: int, limit: int
) -> tuple[Sequence[UnitIdType], int]:
    where = UnitIdType.project_id == project_id
    total = session.scalar(select(func.count()).select_from(UnitIdType).where(where)) or 0
    rows = session.scalars(
        select(UnitIdType)
        .where(where)
        .order_by(UnitIdType.created_time, UnitIdType.name)
        .offset(offset)
        .limit(limit)
    ).all()
    return rows, total


def add(session: Session, row: UnitIdType) -> None:
    session.add(row)
    session.flush()


def delete(session: Session, row: UnitIdType) -> None:
    session.delete(row)
    session.flush()
