"""Queries over dynamic configs: the list filters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlalchemy.orm import Session

from lockgate.kit.sqljson import json_list_overlaps
from lockgate.storage.models import DynamicConfig


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
