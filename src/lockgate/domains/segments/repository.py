"""Queries over segment members (the ``segment_ids`` table).

Id lists can hold millions of ids, so every query here works in batches or pages in SQL and
never loads a whole list into memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    Table,
    bindparam,
    delete,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lockgate.domains.entities import repository as entities_repository
from lockgate.storage.models import Segment, SegmentMember


def tag_conditions(session: Session, tags: Sequence[str]) -> list[ColumnElement[bool]]:
    """Segments carrying any of ``tags``; none when ``tags`` is empty."""
    return entities_repository.creator_and_tag_conditions(
        session, Segment, creator_name=None, creator_id=None, tags=tags
    )


# Rows per SQLite INSERT/DELETE round trip: far below its 32766 bind-parameter limit.
BATCH_SIZE = 5_000
# PostgreSQL takes a whole batch as one array parameter.
PG_BATCH_SIZE = 50_000
_KEY = ["project_id", "segment_id", "unit_id"]
# The Core table, not the mapped class: the ORM's per-row bookkeeping would cost more than the
# database work on lists of 100,000 ids.
MEMBERS = cast(Table, SegmentMember.__table__)


def _batches(items: Sequence[str], size: int = BATCH_SIZE) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _id_array(batch: Sequence[str]) -> Any:
    """The batch as one PostgreSQL array parameter, unnested into rows of ``unit_id``."""
    return (
        func.unnest(bindparam("ids", value=list(batch), type_=ARRAY(String)))
        .table_valued("unit_id")
        .render_derived(name="batch")
    )


def add_members(
    session: Session, project_id: str, segment_id: str, unit_ids: Sequence[str], now_ms: int
) -> None:
    """Insert ids that are not yet members; existing ones are left as they are."""
    if _is_postgresql(session):
        for batch in _batches(unit_ids, PG_BATCH_SIZE):
            rows = _id_array(batch)
            session.execute(
                pg_insert(MEMBERS)
                .from_select(
                    ["project_id", "segment_id", "unit_id", "added_time"],
                    select(
                        literal(project_id, String),
                        literal(segment_id, String),
                        rows.c.unit_id,
                        literal(now_ms, BigInteger),
                    )
                    # Without a WHERE, PostgreSQL would read ON CONFLICT as a join's ON.
                    .where(rows.c.unit_id.is_not(None)),
                )
                .on_conflict_do_nothing(index_elements=_KEY)
            )
        return
    statement = sqlite_insert(MEMBERS).on_conflict_do_nothing(index_elements=_KEY)
    for batch in _batches(unit_ids):
        session.execute(
            statement,
            [
                {
                    "project_id": project_id,
                    "segment_id": segment_id,
                    "unit_id": unit_id,
                    "added_time": now_ms,
                }
                for unit_id in batch
            ],
        )


def remove_members(
    session: Session, project_id: str, segment_id: str, unit_ids: Sequence[str]
) -> None:
    of_segment = (
        MEMBERS.c.project_id == project_id,
        MEMBERS.c.segment_id == segment_id,
    )
    if _is_postgresql(session):
        # A join on one array parameter, not ``IN ($1..$n)``: with parameters PostgreSQL may
        # filter every member against the list linearly (minutes for 100,000 ids).
        for batch in _batches(unit_ids, PG_BATCH_SIZE):
            rows = _id_array(batch)
            session.execute(delete(MEMBERS).where(*of_segment, MEMBERS.c.unit_id == rows.c.unit_id))
        return
    for batch in _batches(unit_ids):
        session.execute(delete(MEMBERS).where(*of_segment, MEMBERS.c.unit_id.in_(batch)))


def clear_members(session: Session, project_id: str, segment_id: str) -> None:
    session.execute(
        delete(MEMBERS).where(
            MEMBERS.c.project_id == project_id, MEMBERS.c.segment_id == segment_id
        )
    )


def count_members(session: Session, project_id: str, segment_id: str) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                MEMBERS.c.project_id == project_id, MEMBERS.c.segment_id == segment_id
            )
        )
        or 0
    )


def member_counts(session: Session, project_id: str, segment_ids: Sequence[str]) -> dict[str, int]:
    """``{segment id: member count}`` for the listed segments that have members."""
    rows = session.execute(
        select(MEMBERS.c.segment_id, func.count())
        .where(MEMBERS.c.project_id == project_id, MEMBERS.c.segment_id.in_(segment_ids))
        .group_by(MEMBERS.c.segment_id)
    )
    return {segment_id: int(count) for segment_id, count in rows}


def page_members(
    session: Session, project_id: str, segment_id: str, *, offset: int, limit: int | None
) -> list[str]:
    """Members in id order from ``offset``; ``limit=None`` reads to the end."""
    query = (
        select(MEMBERS.c.unit_id)
        .where(MEMBERS.c.project_id == project_id, MEMBERS.c.segment_id == segment_id)
        .order_by(MEMBERS.c.unit_id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def segments_by_id(
    session: Session, project_id: str, segment_ids: Sequence[str]
) -> dict[str, Segment]:
    rows = session.scalars(
        select(Segment).where(Segment.project_id == project_id, Segment.id.in_(segment_ids))
    )
    return {row.id: row for row in rows}


def iter_members(
    session: Session, project_id: str, segment_id: str, *, page_size: int = 10_000
) -> Iterator[str]:
    """Every member in id order, fetched a page at a time by keyset (no growing OFFSET)."""
    after: str | None = None
    while True:
        query = select(MEMBERS.c.unit_id).where(
            MEMBERS.c.project_id == project_id, MEMBERS.c.segment_id == segment_id
        )
        if after is not None:
            query = query.where(MEMBERS.c.unit_id > after)
        page = list(session.scalars(query.order_by(MEMBERS.c.unit_id).limit(page_size)))
        yield from page
        if len(page) < page_size:
            return
        after = page[-1]


def has_member(session: Session, project_id: str, segment_id: str, unit_id: str) -> bool:
    found = session.scalar(
        select(MEMBERS.c.unit_id).where(
            MEMBERS.c.project_id == project_id,
            MEMBERS.c.segment_id == segment_id,
            MEMBERS.c.unit_id == unit_id,
        )
    )
    return found is not None
