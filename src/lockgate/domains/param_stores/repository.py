"""Queries over parameter stores beyond the shared entity ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lockgate.storage.models import ParamStore


def names(session: Session, project_id: str) -> list[str]:
    return list(session.scalars(select(ParamStore.id).where(ParamStore.project_id == project_id)))


def documents(session: Session, project_id: str) -> Sequence[dict[str, Any]]:
    rows = session.scalars(
        select(ParamStore.document)
        .where(ParamStore.project_id == project_id)
        .order_by(ParamStore.created_time, ParamStore.id)
    )
    return list(rows)
