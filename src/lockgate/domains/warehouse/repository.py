"""Queries over the project's warehouse connection."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lockgate.storage.models import WarehouseConnection


def get(session: Session, project_id: str, *, lock: bool = False) -> WarehouseConnection | None:
    query = select(WarehouseConnection).where(WarehouseConnection.project_id == project_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def exists(session: Session, project_id: str) -> bool:
    query = select(WarehouseConnection.project_id).where(
        WarehouseConnection.project_id == project_id
    )
    return session.scalar(query) is not None


def add(session: Session, connection: WarehouseConnection) -> None:
    session.add(connection)
    session.flush()
