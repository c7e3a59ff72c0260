"""Read a project's entities from the database into a ``ProjectSnapshot``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lockgate.cores.compiler.compiler import INLINE_ID_LIST_LIMIT
from lockgate.cores.compiler.snapshot import IdListInfo, ProjectSnapshot
from lockgate.documents.stored import StoredSegment
from lockgate.storage.models import (
    Autotune,
    DynamicConfig,
    EntityMixin,
    Experiment,
    Gate,
    Holdout,
    Layer,
    ParamStore,
    Project,
    Segment,
    SegmentMember,
)

ID_LIST_TYPES = ("id_list", "user_store_id_list")


def revision(session: Session, project_id: str) -> tuple[int, int] | None:
    """(spec revision, spec time) of a project: the one query the SDK hot path makes."""
    row = session.execute(
        select(Project.spec_revision, Project.spec_updated_time).where(Project.id == project_id)
    ).first()
    return None if row is None else (int(row[0]), int(row[1]))


def load_snapshot(session: Session, project_id: str) -> ProjectSnapshot:
    project = session.get(Project, project_id)
    if project is None:
        raise LookupError(project_id)

    def documents(model: type[EntityMixin]) -> list[Any]:
        """The kind's documents in creation order. The JSON column holds what the services
        wrote: ``ProjectSnapshot`` gives them their ``lockgate.documents.stored`` types."""
        rows = session.scalars(
            select(model.document)
            .where(model.project_id == project_id)
            .order_by(model.created_time, model.id)
        )
        return list(rows)

    segments: list[StoredSegment] = documents(Segment)
    list_ids = [s["id"] for s in segments if s.get("type") in ID_LIST_TYPES]
    counts: dict[str, int] = {}
    if list_ids:
        counts = {
            segment_id: int(count)
            for segment_id, count in session.execute(
                select(SegmentMember.segment_id, func.count())
                .where(
                    SegmentMember.project_id == project_id,
                    SegmentMember.segment_id.in_(list_ids),
                )
                .group_by(SegmentMember.segment_id)
            )
        }
    id_lists: dict[str, IdListInfo] = {}
    for segment in segments:
        if segment["id"] not in list_ids:
            continue
        count = counts.get(segment["id"], 0)
        inline = None
        if count < INLINE_ID_LIST_LIMIT:
            inline = tuple(
                session.scalars(
                    select(SegmentMember.unit_id).where(
                        SegmentMember.project_id == project_id,
                        SegmentMember.segment_id == segment["id"],
                    )
                )
            )
        id_lists[segment["id"]] = IdListInfo(
            segment_id=segment["id"],
            count=count,
            version=int(segment.get("idListVersion") or segment.get("version") or 1),
            modified_time=int(segment.get("lastModifiedTime") or project.spec_updated_time),
            inline_ids=inline,
        )
    return ProjectSnapshot(
        project_id=project_id,
        company_id=project.company_id,
        time_ms=project.spec_updated_time,
        gates=documents(Gate),
        configs=documents(DynamicConfig),
        segments=segments,
        experiments=documents(Experiment),
        layers=documents(Layer),
        holdouts=documents(Holdout),
        autotunes=documents(Autotune),
        param_stores=documents(ParamStore),
        id_lists=id_lists,
    )
