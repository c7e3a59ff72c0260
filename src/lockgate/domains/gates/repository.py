"""Queries over gates, and the reads of other kinds' tables that gate references need."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from lockgate.domains.entities import repository as entities_repository
from lockgate.storage.models import DynamicConfig, Gate


@dataclass(frozen=True)
class ColumnFilter:
    """The list filters that indexed columns answer."""

    id_types: tuple[str, ...] = ()
    gate_type: str | None = None
    creator_name: str | None = None
    creator_id: str | None = None
    tags: tuple[str, ...] = ()
    name_contains: str | None = None  # the web console's catalog search, case-insensitive
    statuses: tuple[str, ...] = ()  # the web console's status chips


def conditions(session: Session, flt: ColumnFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if flt.id_types:
        where.append(Gate.id_type.in_(flt.id_types))
    if flt.statuses:
        where.append(Gate.status.in_(flt.statuses))
    if flt.gate_type is not None:
        where.append(Gate.gate_type == flt.gate_type)
    if flt.name_contains:
        where.append(func.lower(Gate.name).contains(flt.name_contains.lower(), autoescape=True))
    return where + entities_repository.creator_and_tag_conditions(
        session, Gate, creator_name=flt.creator_name, creator_id=flt.creator_id, tags=flt.tags
    )


def gates_by_id(session: Session, project_id: str, ids: Sequence[str]) -> Sequence[Gate]:
    """The project's gates among ``ids``, in creation order."""
    if not ids:
        return []
    return session.scalars(
        select(Gate)
        .where(Gate.project_id == project_id, Gate.id.in_(ids))
        .order_by(Gate.created_time, Gate.id)
    ).all()


def configs_by_id(session: Session, project_id: str, ids: Sequence[str]) -> Sequence[DynamicConfig]:
    """The project's dynamic configs among ``ids``, in creation order."""
    if not ids:
        return []
    return session.scalars(
        select(DynamicConfig)
        .where(DynamicConfig.project_id == project_id, DynamicConfig.id.in_(ids))
        .order_by(DynamicConfig.created_time, DynamicConfig.id)
    ).all()
