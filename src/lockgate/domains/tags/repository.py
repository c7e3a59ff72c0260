"""Queries over tags."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lockgate.storage.models import Tag


def get(session: Session, project_id: str, id_or_name: str, *, lock: bool = False) -> Tag | None:
    query = select(Tag).where(
        Tag.project_id == project_id, (Tag.id == id_or_name) | (Tag.name == id_or_name)
    )
    if lock:
        query = query.with_for_update()
    return session.scalars(query.order_by(Tag.id != id_or_name)).first()


def by_name(session: Session, project_id: str, name: str) -> Tag | None:
    return session.scalars(
        select(Tag).where(Tag.project_id == project_id, func.lower(Tag.name) == name.lower())
    ).first()


def names(session: Session, project_id: str) -> set[str]:
    return set(session.scalars(select(Tag.name).where(Tag.project_id == project_id)))


def list_tags(
    session: Session, project_id: str, *, offset: int, limit: int
) -> tuple[Sequence[Tag], int]:
    total = session.scalar(select(func.count()).where(Tag.project_id == project_id)) or 0
    rows = session.scalars(
        select(Tag)
        .where(Tag.project_id == project_id)
        .order_by(Tag.created_time, Tag.name)
        .offset(offset)
        .limit(limit)
    ).all()
    return rows, total


def add(session: Session, tag: Tag) -> None:
    session.add(tag)
    session.flush()


def delete(session: Session, tag: Tag) -> None:
    session.delete(tag)
    session.flush()
