"""Queries over metric definitions and the entities that reference them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from lockgate.storage.models import EntityVersion, Experiment, Metric


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


def experiment_documents(
    session: Session, project_id: str, conditions: Sequence[ColumnElement[bool]] = ()
) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Experiment)
        .where(Experiment.project_id == project_id, *conditions)
        .order_by(Experiment.created_time, Experiment.id)
    ).all()
    return [row.document for row in rows]
