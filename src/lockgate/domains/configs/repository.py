"""Queries over dynamic configs and the entities their rules may reference."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from lockgate.kit.sqljson import json_list_overlaps
from lockgate.storage.models import DynamicConfig, Gate, Segment


@dataclass(frozen=True)
class ConfigFilter:
    """The filters of ``GET /dynamic_configs``; empty fields do not filter."""

    creator_name: str | None = None
    creator_id: str | None = None
    release_pipeline_id: str | None = None
    tags: tuple[str, ...] = ()


def filter_conditions(session: Session, flt: ConfigFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.creator_name:
        conditions.append(func.lower(DynamicConfig.creator_name) == flt.creator_name.lower())
    if flt.creator_id:
        conditions.append(DynamicConfig.creator_id == flt.creator_id)
    if flt.release_pipeline_id:
        # Not a column: release pipelines are rare, so a JSON lookup in the document suffices.
        pipeline: Any = DynamicConfig.document["releasePipelineID"]
        conditions.append(pipeline.as_string() == flt.release_pipeline_id)
    if flt.tags:
        dialect = session.get_bind().dialect.name
        conditions.append(json_list_overlaps(DynamicConfig.tags, flt.tags, dialect))
    return conditions


def _exists(session: Session, model: Any, project_id: str, entity_id: str) -> bool:
    found = session.scalar(
        select(func.count()).where(model.project_id == project_id, model.id == entity_id)
    )
    return bool(found)


def gate_exists(session: Session, project_id: str, gate_id: str) -> bool:
    return _exists(session, Gate, project_id, gate_id)


def segment_exists(session: Session, project_id: str, segment_id: str) -> bool:
    return _exists(session, Segment, project_id, segment_id)
