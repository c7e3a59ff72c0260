"""Queries over a project's environments."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from lockgate.storage.models import ApiKey, Environment


def list_environments(
    session: Session, project_id: str, *, lock: bool = False
) -> Sequence[Environment]:
    query = (
        select(Environment)
        .where(Environment.project_id == project_id)
        .order_by(Environment.position, Environment.id)
    )
    if lock:
        query = query.with_for_update()
    return session.scalars(query).all()


def names(session: Session, project_id: str) -> list[str]:
    return [e.name for e in list_environments(session, project_id)]


def project_keys(session: Session, project_id: str, *, lock: bool = False) -> Sequence[ApiKey]:
    query = select(ApiKey).where(ApiKey.project_id == project_id).order_by(ApiKey.id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).all()


def add_all(session: Session, rows: Sequence[Environment]) -> None:
    session.add_all(rows)
    session.flush()


def delete(session: Session, row: Environment) -> None:
    session.delete(row)
    session.flush()
