"""Read a project's entities from the database into a ``ProjectSnapshot``."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    Environment,
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


# The entity kinds a snapshot holds, by ``ProjectSnapshot`` field, each table read in creation
# order.
_KINDS: dict[str, type[EntityMixin]] = {
    "gates": Gate,
    "configs": DynamicConfig,
    "segments": Segment,
    "experiments": Experiment,
    "layers": Layer,
    "holdouts": Holdout,
    "autotunes": Autotune,
    "param_stores": ParamStore,
}
# Ids per query when reading changed documents, under every dialect's parameter limit.
_BATCH = 500

RowKey = tuple[int, int, int]


@dataclass
class KeptDocuments:
    """A project's documents kept between loads, by kind and id, each with the row's
    (version, last modified time, created time) when it was read.

    Every write through ``domains/entities`` moves the version, so a row whose key is unchanged
    is not read again and its document stays the same object, which is what the incremental
    compile checks (``cores/compiler/fragments.py``). The one write that keeps versions, an
    environment rename, rewrites documents in place and changes the project's environments,
    which form the ``epoch``: a new epoch reads everything again.
    """

    epoch: tuple[str, ...] | None = None
    rows: dict[str, dict[str, tuple[RowKey, Any]]] = field(default_factory=dict)
    read: int = 0  # documents the last load read from the database


def _environments(session: Session, project_id: str) -> tuple[str, ...]:
    rows = session.execute(
        select(Environment.id, Environment.name)
        .where(Environment.project_id == project_id)
        .order_by(Environment.position, Environment.id)
    )
    return tuple(f"{env_id}\x00{name}" for env_id, name in rows)


def _documents(
    session: Session,
    model: type[EntityMixin],
    project_id: str,
    kept: dict[str, tuple[RowKey, Any]],
) -> tuple[list[Any], dict[str, tuple[RowKey, Any]], int]:
    """The kind's documents in creation order, reading only rows that changed since ``kept``.

    The queries run on the session's connection: plain rows, without the ORM's result
    processing, which costs more than the query on a large project."""
    connection = session.connection()
    keys = connection.execute(
        select(model.id, model.version, model.last_modified_time, model.created_time)
        .where(model.project_id == project_id)
        .order_by(model.created_time, model.id)
    ).all()
    wanted = [
        row_id
        for row_id, version, modified, created in keys
        if (found := kept.get(row_id)) is None or found[0] != (version, modified, created)
    ]
    fresh: dict[str, Any] = {}
    for start in range(0, len(wanted), _BATCH):
        batch = wanted[start : start + _BATCH]
        result = connection.execute(
            select(model.id, model.document).where(
                model.project_id == project_id, model.id.in_(batch)
            )
        )
        fresh.update((row_id, document) for row_id, document in result)
    rows: dict[str, tuple[RowKey, Any]] = {}
    documents = []
    for row_id, version, modified, created in keys:
        document = fresh[row_id] if row_id in fresh else kept[row_id][1]
        rows[row_id] = ((version, modified, created), document)
        documents.append(document)
    return documents, rows, len(fresh)


def load_snapshot(
    session: Session, project_id: str, kept: KeptDocuments | None = None
) -> ProjectSnapshot:
    """The project's snapshot. With ``kept``, documents whose rows did not change since the
    last load through it are reused (the same objects) instead of read, and ``kept`` is
    updated."""
    project = session.get(Project, project_id)
    if project is None:
        raise LookupError(project_id)
    kept = kept if kept is not None else KeptDocuments()
    epoch = _environments(session, project_id)
    if epoch != kept.epoch:
        kept.rows = {}
        kept.epoch = epoch
    kept.read = 0
    kinds: dict[str, list[Any]] = {}
    for name, model in _KINDS.items():
        documents, rows, read = _documents(session, model, project_id, kept.rows.get(name, {}))
        kinds[name] = documents
        kept.rows[name] = rows
        kept.read += read
    segments: list[StoredSegment] = kinds["segments"]
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
        gates=kinds["gates"],
        configs=kinds["configs"],
        segments=segments,
        experiments=kinds["experiments"],
        layers=kinds["layers"],
        holdouts=kinds["holdouts"],
        autotunes=kinds["autotunes"],
        param_stores=kinds["param_stores"],
        id_lists=id_lists,
    )
