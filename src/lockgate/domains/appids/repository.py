"""Queries over target apps."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lockgate.storage.models import TargetApp


def get(
    session: Session, project_id: str, id_or_name: str, *, lock: bool = False
) -> TargetApp | None:
    """The app whose id is ``id_or_name``, else the one with that name (ids win)."""
    query = select(TargetApp).where(
        TargetApp.project_id == project_id,
        (TargetApp.id == id_or_name) | (TargetApp.name == id_or_name),
    )
    if lock:
        query = query.with_for_update()
    return session.scalars(query.order_by(TargetApp.id != id_or_name)).first()


def by_name(session: Session, project_id: str, name: str) -> TargetApp | None:
    return session.scalars(
        select(TargetApp).where(
            TargetApp.project_id == project_id, func.lower(TargetApp.name) == name.lower()
        )
    ).first()


def all_apps(session: Session, project_id: str) -> Sequence[TargetApp]:
    return session.scalars(
        select(TargetApp)
        .where(TargetApp.project_id == project_id)
        .order_by(TargetApp.created_time, TargetApp.name)
    ).all()


def list_apps(
    session: Session, project_id: str, *, offset: int, limit: int
) -> tuple[Sequence[TargetApp], int]:
    total = session.scalar(select(func.count()).where(TargetApp.project_id == project_id)) or 0
    rows = session.scalars(
        select(TargetApp)
        .where(TargetApp.project_id == project_id)
        .order_by(TargetApp.created_time, TargetApp.name)
        .offset(offset)
        .limit(limit)
    ).all()
    return rows, total


def add(session: Session, app: TargetApp) -> None:
    session.add(app)
    session.flush()


def delete(session: Session, app: TargetApp) -> None:
    session.delete(app)
    session.flush()
