"""Read a project's entities from the database into a ``ProjectSnapshot``; keep the entry
checksums of the protobuf documents streamed, for deltas from any process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lockgate.cores.compiler.compiler import INLINE_ID_LIST_LIMIT
from lockgate.cores.compiler.snapshot import IdListInfo, ProjectSnapshot
from lockgate.documents.stored import StoredSegment
from lockgate.domains.revisions.repository import FEED_WINDOW
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
    ProtoDocument,
    Segment,
    SegmentMember,
    SpecChange,
)

ID_LIST_TYPES = ("id_list", "user_store_id_list")
# (spec revision, spec time, company): the one query the SDK hot path makes, built once.
_PROJECT = select(Project.spec_revision, Project.spec_updated_time, Project.company_id).where(
    Project.id == bindparam("project_id")
)


def revision(session: Session, project_id: str) -> tuple[int, int] | None:
    """(spec revision, spec time) of a project: the one query the SDK hot path makes."""
    row = session.connection().execute(_PROJECT, {"project_id": project_id}).first()
    return None if row is None else (int(row[0]), int(row[1]))


# The entity kinds a snapshot holds, by ``ProjectSnapshot`` field: the entity type the change
# feed names them by and the table, read in creation order.
_KINDS: dict[str, tuple[str, type[EntityMixin]]] = {
    "gates": ("gate", Gate),
    "configs": ("dynamic_config", DynamicConfig),
    "segments": ("segment", Segment),
    "experiments": ("experiment", Experiment),
    "layers": ("layer", Layer),
    "holdouts": ("holdout", Holdout),
    "autotunes": ("autotune", Autotune),
    "param_stores": ("param_store", ParamStore),
}
# Ids per query when reading changed documents, under every dialect's parameter limit.
_BATCH = 500

RowKey = tuple[int, int, int]

# The statements of a load through the change feed, built once: on a small project building
# them costs more than running them.
_CHANGES = select(SpecChange.entity_type, SpecChange.entity_id).where(
    SpecChange.project_id == bindparam("project_id"), SpecChange.revision > bindparam("since")
)
_ROWS = {
    model: select(
        model.id, model.version, model.last_modified_time, model.created_time, model.document
    ).where(
        model.project_id == bindparam("project_id"),
        model.id.in_(bindparam("ids", expanding=True)),
    )
    for _, model in _KINDS.values()
}


@dataclass
class KeptDocuments:
    """A project's documents kept between loads, by kind and id in creation order, each with
    the row's (version, last modified time, created time) when it was read, and the spec
    ``revision`` they are complete up to.

    A load after a known revision reads the change feed (``domains/revisions``): the entities
    changed since, and only those rows. Without a usable feed (the first load, a change that
    names no entity such as a key's or an environment's, a feed pruned past the kept revision)
    it reads every row's key and the documents of rows whose key moved; every write through
    ``domains/entities`` moves the version. Either way an unchanged row's document stays the
    same object, which is what the incremental compile checks (``cores/compiler/fragments.py``).
    The one write that keeps versions, an environment rename, rewrites documents in place and
    changes the project's environments, which form the ``epoch``: a new epoch reads everything
    again.
    """

    epoch: tuple[str, ...] | None = None
    revision: int | None = None
    rows: dict[str, dict[str, tuple[RowKey, Any]]] = field(default_factory=dict)
    documents: dict[str, list[Any]] = field(default_factory=dict)  # each kind's, in order
    positions: dict[str, dict[str, int]] = field(default_factory=dict)  # index in documents
    read: int = 0  # documents the last load read from the database
    scanned: bool = False  # whether the last load read every row's key


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
) -> tuple[dict[str, tuple[RowKey, Any]], int]:
    """The kind's rows in creation order, reading only documents that changed since ``kept``.

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
    for row_id, version, modified, created in keys:
        document = fresh[row_id] if row_id in fresh else kept[row_id][1]
        rows[row_id] = ((version, modified, created), document)
    return rows, len(fresh)


def _changed(session: Session, project_id: str, since: int) -> dict[str | None, set[str]] | None:
    """The ids of the entities changed after revision ``since``, by entity type; None when a
    change named no entity, so anything may have changed."""
    changed: dict[str | None, set[str]] = {}
    for entity_type, entity_id in session.connection().execute(
        _CHANGES, {"project_id": project_id, "since": since}
    ):
        if entity_type is None or entity_id is None:
            return None
        changed.setdefault(entity_type, set()).add(entity_id)
    return changed


def _apply_changes(
    session: Session,
    model: type[EntityMixin],
    project_id: str,
    kept: dict[str, tuple[RowKey, Any]],
    ids: set[str],
) -> tuple[dict[str, tuple[RowKey, Any]], int, bool]:
    """``kept`` with the rows ``ids`` read again: updated in place, removed when gone, added in
    creation order; and whether every one was updated in place."""
    connection = session.connection()
    wanted = sorted(ids)
    fresh: dict[str, tuple[RowKey, Any]] = {}
    statement = _ROWS[model]
    for start in range(0, len(wanted), _BATCH):
        result = connection.execute(
            statement, {"project_id": project_id, "ids": wanted[start : start + _BATCH]}
        )
        for row_id, version, modified, created, document in result:
            fresh[row_id] = ((version, modified, created), document)
    rows = dict(kept)
    placed = True  # every row still sits in creation order
    in_place = True
    for row_id in wanted:
        found = fresh.get(row_id)
        old = rows.get(row_id)
        if found is not None and old is not None and old[0][2] == found[0][2]:
            rows[row_id] = found  # same creation time: the same place
            continue
        in_place = False
        if found is None:
            rows.pop(row_id, None)
        else:
            rows.pop(row_id, None)
            if rows:
                last_id, (last_key, _) = next(reversed(rows.items()))
                placed = placed and (last_key[2], last_id) < (found[0][2], row_id)
            rows[row_id] = found
    if not placed:
        rows = dict(sorted(rows.items(), key=lambda item: (item[1][0][2], item[0])))
    return rows, len(fresh), in_place


def load_snapshot(
    session: Session, project_id: str, kept: KeptDocuments | None = None
) -> ProjectSnapshot:
    """The project's snapshot. With ``kept``, documents whose rows did not change since the
    last load through it are reused (the same objects) instead of read, and ``kept`` is
    updated."""
    found = session.connection().execute(_PROJECT, {"project_id": project_id}).first()
    if found is None:
        raise LookupError(project_id)
    revision, spec_time, company_id = int(found[0]), int(found[1]), str(found[2])
    kept = kept if kept is not None else KeptDocuments()
    changed = None
    if kept.revision is not None and 0 <= revision - kept.revision <= FEED_WINDOW:
        changed = _changed(session, project_id, kept.revision)
    kept.read = 0
    kept.scanned = changed is None
    if changed is None:
        epoch = _environments(session, project_id)
        if epoch != kept.epoch:
            kept.rows = {}
            kept.epoch = epoch
    kinds: dict[str, list[Any]] = {}
    for name, (entity_type, model) in _KINDS.items():
        rows = kept.rows.get(name, {})
        in_place = False
        if changed is None:
            rows, read = _documents(session, model, project_id, rows)
        elif entity_type in changed:
            ids = changed[entity_type]
            rows, read, in_place = _apply_changes(session, model, project_id, rows, ids)
        else:
            read = 0
        documents = kept.documents.get(name)
        if documents is not None and rows is kept.rows.get(name):
            pass  # the kind did not change
        elif documents is not None and in_place:
            # Rows changed in place: the last list with their documents replaced.
            positions = kept.positions.get(name)
            if positions is None:
                positions = kept.positions[name] = {row_id: i for i, row_id in enumerate(rows)}
            documents = documents.copy()
            for row_id in changed[entity_type] if changed else ():
                documents[positions[row_id]] = rows[row_id][1]
        else:
            documents = [document for _, document in rows.values()]
            kept.positions.pop(name, None)
        kinds[name] = kept.documents[name] = documents
        kept.rows[name] = rows
        kept.read += read
    kept.revision = revision
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
            modified_time=int(segment.get("lastModifiedTime") or spec_time),
            inline_ids=inline,
        )
    return ProjectSnapshot(
        project_id=project_id,
        company_id=company_id,
        time_ms=spec_time,
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


_PROTO_DOCUMENT = select(ProtoDocument.entries).where(
    ProtoDocument.project_id == bindparam("project_id"),
    ProtoDocument.scope == bindparam("scope"),
    ProtoDocument.checksum == bindparam("checksum"),
)


def proto_document(session: Session, project_id: str, scope: str, checksum: str) -> bytes | None:
    """The packed entry checksums of a streamed protobuf document, if kept."""
    row = (
        session.connection()
        .execute(_PROTO_DOCUMENT, {"project_id": project_id, "scope": scope, "checksum": checksum})
        .first()
    )
    return None if row is None else bytes(row[0])


def save_proto_document(
    session: Session,
    project_id: str,
    scope: str,
    checksum: str,
    *,
    revision: int,
    spec_time: int,
    entries: bytes,
    keep: int,
) -> None:
    """Keep a streamed document's packed entry checksums (a document already kept stays as it
    is: the same checksum names the same entries), and drop the scope's documents older than
    its newest ``keep``."""
    values = {
        "project_id": project_id,
        "scope": scope,
        "checksum": checksum,
        "revision": revision,
        "spec_time": spec_time,
        "entries": entries,
    }
    upsert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(upsert(ProtoDocument).values(values).on_conflict_do_nothing())
    same_scope = (ProtoDocument.project_id == project_id, ProtoDocument.scope == scope)
    oldest_kept = session.scalar(
        select(ProtoDocument.revision)
        .where(*same_scope)
        .order_by(ProtoDocument.revision.desc())
        .offset(keep - 1)
        .limit(1)
    )
    if oldest_kept is not None:
        session.execute(
            delete(ProtoDocument).where(*same_scope, ProtoDocument.revision < oldest_kept)
        )
