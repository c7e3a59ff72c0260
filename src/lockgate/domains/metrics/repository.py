"""Queries over metric definitions and the entities that reference them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import String, func, literal, select, update
from sqlalchemy.orm import Session

from lockgate.domains.metrics.sql import MetricSpec, unit_values_query
from lockgate.storage.models import EntityVersion, Metric, PulseResult


def metric_rows(session: Session, project_id: str) -> Sequence[Metric]:
    return session.scalars(
        select(Metric)
        .where(Metric.project_id == project_id)
        .order_by(Metric.created_time, Metric.id)
    ).all()


def move_versions(session: Session, project_id: str, old_id: str, new_id: str) -> None:
    """A renamed metric keeps its history under its new id."""
    session.execute(
        update(EntityVersion)
        .where(
            EntityVersion.project_id == project_id,
            EntityVersion.entity_type == "metric",
            EntityVersion.entity_id == old_id,
        )
        .values(entity_id=new_id)
    )


def unit_totals(
    session: Session,
    spec: MetricSpec,
    start_ms: int,
    end_ms: int,
    unit_type: str | None,
    *,
    participating_only: bool,
) -> tuple[int, Any, Any, Any]:
    """(units, sum of values, sum of numerators, sum of denominators) over one window.

    ``unit_type=None`` reads events without a unit id as one ``overall`` unit per event;
    ``participating_only`` keeps the units with a non-zero denominator.
    """
    unit: Any = literal("overall", String) if unit_type is None else unit_type
    units = unit_values_query(spec, start_ms, end_ms, unit).subquery()
    query = select(
        func.count(),
        func.sum(units.c.value),
        func.sum(units.c.numerator),
        func.sum(units.c.denominator),
    )
    if participating_only:
        query = query.where(units.c.denominator != 0)
    count, total, numerator, denominator = session.execute(query).one()
    return int(count), total, numerator, denominator


def stored_values(
    session: Session, project_id: str, entity_type: str, metric_id: str, view: str, ds: str
) -> dict[str, Any] | None:
    """The stored daily values of a metric for day ``ds`` (a Pulse result), or None."""
    return session.scalars(
        select(PulseResult.document).where(
            PulseResult.project_id == project_id,
            PulseResult.entity_type == entity_type,
            PulseResult.entity_id == metric_id,
            PulseResult.rule_id == "",
            PulseResult.view == view,
            PulseResult.ds == ds,
        )
    ).first()
