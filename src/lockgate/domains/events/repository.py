"""Bulk writes to the event tables, the moves from landing tables to indexed ones, and the
Console's reads of them.

Events arrive by the hundred thousand, so rows go to the driver's ``executemany`` as tuples with
their JSON columns already serialised: SQLAlchemy's per-row parameter processing would cost
more than the insert itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Subquery,
    Table,
    and_,
    case,
    delete,
    distinct,
    exists,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lockgate.storage.models import (
    CustomEvent,
    EventBatch,
    Exposure,
    events_incoming,
    exposures_incoming,
)
from lockgate.storage.models.base import JSONType

DAY_MS = 86_400_000

TABLES: dict[str, Table] = {
    "exposures": Exposure.__table__,  # type: ignore[dict-item]
    "events": CustomEvent.__table__,  # type: ignore[dict-item]
    "exposures_incoming": exposures_incoming,
    "events_incoming": events_incoming,
}


SQLITE_ROWS_PER_STATEMENT = 500  # x 18 columns: well under SQLite's 32,766 parameters


@cache
def insert_columns(table_name: str) -> tuple[str, ...]:
    """The columns an insert names: all but the primary key, which the database assigns."""
    return tuple(c.name for c in TABLES[table_name].columns if not c.primary_key)


@cache
def _json_columns(table_name: str) -> frozenset[str]:
    return frozenset(c.name for c in TABLES[table_name].columns if c.type is JSONType)


@cache
def _insert_sql(table_name: str, columns: tuple[str, ...], dialect: str, rows: int) -> str:
    """An INSERT of ``rows`` rows of ``columns``: one VALUES list per row on SQLite, a single
    row (for ``executemany``) on PostgreSQL."""
    json_columns = _json_columns(table_name)
    if dialect == "postgresql":
        marks = ", ".join("CAST(%s AS jsonb)" if c in json_columns else "%s" for c in columns)
    else:
        marks = ", ".join("?" for _ in columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join([f"({marks})"] * rows)
    return f'INSERT INTO "{table_name}" ({quoted}) VALUES {values}'


def insert_rows(connection: Connection, table_name: str, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows given as dicts of column values (JSON columns as Python objects).

    On SQLite many rows go in one statement: ``executemany`` releases and re-takes the GIL
    around every row, and with other request threads busy each re-take can wait a whole
    switch interval.
    """
    if not rows:
        return
    json_columns = _json_columns(table_name)
    plan = [(c, c in json_columns) for c in insert_columns(table_name)]
    dumps = orjson.dumps
    params = [
        tuple(
            [
                (None if (v := row.get(c)) is None else dumps(v).decode())
                if is_json
                else row.get(c)
                for c, is_json in plan
            ]
        )
        for row in rows
    ]
    insert_tuples(connection, table_name, insert_columns(table_name), params)


def insert_tuples(
    connection: Connection,
    table_name: str,
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """Insert rows given as tuples of ``columns``' values, JSON columns as JSON text."""
    if not rows:
        return
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.exec_driver_sql(_insert_sql(table_name, columns, dialect, 1), rows)
        return
    for start in range(0, len(rows), SQLITE_ROWS_PER_STATEMENT):
        chunk = rows[start : start + SQLITE_ROWS_PER_STATEMENT]
        flat = tuple(value for row in chunk for value in row)
        connection.exec_driver_sql(_insert_sql(table_name, columns, dialect, len(chunk)), flat)


# How long a stored batch's digest is kept: an SDK retries a failed flush within minutes.
BATCH_MEMORY_MS = 24 * 3600 * 1000


def record_batches(
    connection: Connection, batches: Sequence[tuple[str, str, int]]
) -> set[tuple[str, str]]:
    """Record (project, digest, received time) of batches about to be stored; answers those
    recorded now, leaving out the ones recorded before (by this transaction's earlier rows or by
    any other, in any process: the primary key decides)."""
    unique = list({(p, d): (p, d, t) for p, d, t in batches}.values())
    if not unique:
        return set()
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(EventBatch)
        .values([{"project_id": p, "digest": d, "received_time": t} for p, d, t in unique])
        .on_conflict_do_nothing(index_elements=["project_id", "digest"])
        .returning(EventBatch.project_id, EventBatch.digest)
    )
    return {(p, d) for p, d in connection.execute(statement)}


def any_batch_before(connection: Connection, before_ms: int) -> bool:
    found = connection.execute(
        select(EventBatch.digest).where(EventBatch.received_time < before_ms).limit(1)
    ).first()
    return found is not None


def forget_batches(connection: Connection, before_ms: int) -> int:
    """Drop the digests of batches received before ``before_ms``."""
    result = connection.execute(delete(EventBatch).where(EventBatch.received_time < before_ms))
    return int(result.rowcount or 0)


# -- reads for the Console (events catalog, automatic metrics) --------------------------------


@dataclass(frozen=True)
class EventSummary:
    """One logged event name: how often, by how many users, and its latest event."""

    name: str
    count: int
    user_count: int
    first_time: int
    last_time: int
    latest: CustomEvent


# Each landing table with the indexed table its rows move to, and the columns a move copies.
_MOVES = tuple(
    (TABLES[f"{name}_incoming"], TABLES[name], insert_columns(name))
    for name in ("exposures", "events")
)
_MOVE_LOCK = 0x6C6F636B6D6F7665  # PostgreSQL advisory lock key taken by every move


def lock_moves(connection: Connection) -> None:
    """Take the move lock until the caller's transaction ends (PostgreSQL only)."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(_MOVE_LOCK)))


def highest_seqs(connection: Connection) -> tuple[int, int]:
    """The highest ``seq`` of the indexed exposures and events (0 when empty)."""
    return tuple(  # type: ignore[return-value]
        int(connection.scalar(select(func.coalesce(func.max(indexed.c.seq), 0))) or 0)
        for _, indexed, _ in _MOVES
    )


def newest_landed_ms(session: Session) -> int | None:
    """When the newest landed row was received (None: no row waits); one step down each
    table's primary key."""
    newest = [
        session.scalar(select(landing.c.received_time).order_by(landing.c.seq.desc()).limit(1))
        for landing, _, _ in _MOVES
    ]
    found = [int(each) for each in newest if each is not None]
    return max(found) if found else None


def any_landed(session: Session) -> bool:
    """Whether any landed row waits to be moved."""
    return any(session.scalar(select(exists().select_from(landing))) for landing, _, _ in _MOVES)


def move_landed(connection: Connection, limit: int | None) -> int:
    """Copy up to ``limit`` landed rows per table, oldest first, into the indexed tables and
    delete them from the landing ones; returns how many rows moved. Rows go in in unit order
    (see ``incoming.move``)."""
    moved = 0
    for incoming, indexed, columns in _MOVES:
        if limit is None:
            last = connection.scalar(select(func.max(incoming.c.seq)))
        else:
            oldest = select(incoming.c.seq).order_by(incoming.c.seq).limit(limit).subquery()
            last = connection.scalar(select(func.max(oldest.c.seq)))
        if last is None:
            continue
        if connection.dialect.name == "postgresql":
            # One statement, so a batch committed by another writer between a copy and a
            # delete can neither be deleted uncopied nor be copied twice.
            taken = (
                incoming.delete()
                .where(incoming.c.seq <= last)
                .returning(incoming.c.seq, *(incoming.c[name] for name in columns))
                .cte("taken")
            )
            copied = select(*(taken.c[name] for name in columns)).order_by(
                taken.c.project_id, taken.c.user_id
            )
            # The driver reports no row count for an INSERT fed by a data-modifying CTE.
            moved += int(
                connection.scalar(
                    select(func.count()).select_from(incoming).where(incoming.c.seq <= last)
                )
                or 0
            )
            connection.execute(indexed.insert().from_select(columns, copied))
        else:
            # SQLite has one writer at a time: nothing lands between these two statements.
            landed = (
                select(*(incoming.c[name] for name in columns))
                .where(incoming.c.seq <= last)
                .order_by(incoming.c.project_id, incoming.c.user_id)
            )
            result = connection.execute(indexed.insert().from_select(columns, landed))
            connection.execute(incoming.delete().where(incoming.c.seq <= last))
            moved += max(result.rowcount or 0, 0)
    return moved


def _summary_groups(project_id: str) -> Subquery:
    events = CustomEvent
    return (
        select(
            events.event_name.label("name"),
            func.count().label("count"),
            func.count(distinct(events.user_id)).label("user_count"),
            func.min(events.time).label("first_time"),
            func.max(events.time).label("last_time"),
        )
        .where(events.project_id == project_id)
        .group_by(events.event_name)
        .subquery("summary")
    )


def _latest(project_id: str, groups: Subquery) -> Subquery:
    """Per name, the ``seq`` of its latest event (by event time, then by arrival)."""
    events = CustomEvent
    return (
        select(events.event_name.label("name"), func.max(events.seq).label("last_seq"))
        .join(
            groups,
            and_(events.event_name == groups.c.name, events.time == groups.c.last_time),
        )
        .where(events.project_id == project_id)
        .group_by(events.event_name)
        .subquery("latest")
    )


def event_summaries(
    session: Session, project_id: str, *, offset: int, limit: int
) -> tuple[list[EventSummary], int]:
    """Every event name, most recently seen first."""
    groups = _summary_groups(project_id)
    latest = _latest(project_id, groups)
    total = session.scalar(select(func.count()).select_from(groups)) or 0
    rows = session.execute(
        select(CustomEvent, groups)
        .join(latest, CustomEvent.seq == latest.c.last_seq)
        .join(groups, groups.c.name == latest.c.name)
        .order_by(groups.c.last_time.desc(), groups.c.name)
        .offset(offset)
        .limit(limit)
    ).all()
    found = [
        EventSummary(
            name=row.name,
            count=int(row._mapping["count"]),
            user_count=int(row.user_count),
            first_time=int(row.first_time),
            last_time=int(row.last_time),
            latest=row.CustomEvent,
        )
        for row in rows
    ]
    return found, int(total)


def event_names(session: Session, project_id: str) -> list[tuple[str, int]]:
    """``(name, first seen ms)`` of every logged event name, by name."""
    rows = session.execute(
        select(CustomEvent.event_name, func.min(CustomEvent.time))
        .where(CustomEvent.project_id == project_id)
        .group_by(CustomEvent.event_name)
        .order_by(CustomEvent.event_name)
    ).all()
    return [(name, int(first)) for name, first in rows]


def first_seen(session: Session, project_id: str, name: str) -> int | None:
    """When ``name`` was first logged, or None if it never was."""
    found = session.scalar(
        select(func.min(CustomEvent.time)).where(
            CustomEvent.project_id == project_id, CustomEvent.event_name == name
        )
    )
    return None if found is None else int(found)


def recent_events(
    session: Session, project_id: str, name: str, *, offset: int, limit: int
) -> tuple[Sequence[CustomEvent], int]:
    where = (CustomEvent.project_id == project_id, CustomEvent.event_name == name)
    total = session.scalar(select(func.count()).select_from(CustomEvent).where(*where)) or 0
    rows = session.scalars(
        select(CustomEvent)
        .where(*where)
        .order_by(CustomEvent.time.desc(), CustomEvent.seq.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return rows, int(total)


def daily_counts(
    session: Session, project_id: str, names: Sequence[str], since_ms: int
) -> dict[str, dict[int, int]]:
    """Per event name of ``names``, its number of events per UTC day number since ``since_ms``."""
    if not names:
        return {}
    day = (CustomEvent.time // DAY_MS).label("day")
    rows = session.execute(
        select(CustomEvent.event_name, day, func.count())
        .where(
            CustomEvent.project_id == project_id,
            CustomEvent.event_name.in_(names),
            CustomEvent.time >= since_ms,
        )
        .group_by(CustomEvent.event_name, day)
    ).all()
    counts: dict[str, dict[int, int]] = {}
    for name, day_number, count in rows:
        counts.setdefault(name, {})[int(day_number)] = int(count)
    return counts


def newest_values(
    session: Session, project_id: str, name: str, limit: int
) -> list[tuple[str | None, dict[str, Any] | None]]:
    """``(value, metadata)`` of ``name``'s newest ``limit`` events (name and time index)."""
    rows = session.execute(
        select(CustomEvent.value_text, CustomEvent.event_metadata)
        .where(CustomEvent.project_id == project_id, CustomEvent.event_name == name)
        .order_by(CustomEvent.time.desc(), CustomEvent.seq.desc())
        .limit(limit)
    ).all()
    return [(value, metadata) for value, metadata in rows]


def exposure_daily_counts(
    session: Session, project_id: str, kind: str, names: Sequence[str], since_ms: int, until_ms: int
) -> dict[str, dict[int, tuple[int, int]]]:
    """Per entity of ``names`` (exposures of ``kind``), its ``(passed, total)`` exposures per
    UTC day number in ``[since_ms, until_ms)``: one grouped query through
    ``ix_exposures_entity_time``, whatever the number of names. ``passed`` counts the exposures
    whose value is ``true`` (a gate check that passed)."""
    if not names:
        return {}
    day = (Exposure.time // DAY_MS).label("day")
    rows = session.execute(
        select(
            Exposure.name,
            day,
            func.sum(case((Exposure.value == "true", 1), else_=0)),
            func.count(),
        )
        .where(
            Exposure.project_id == project_id,
            Exposure.name.in_(names),
            Exposure.time >= since_ms,
            Exposure.time < until_ms,
            Exposure.kind == kind,
        )
        .group_by(Exposure.name, day)
    ).all()
    counts: dict[str, dict[int, tuple[int, int]]] = {}
    for name, day_number, passed, total in rows:
        counts.setdefault(name, {})[int(day_number)] = (int(passed or 0), int(total))
    return counts


def newest_events(
    session: Session, project_id: str, name: str | None, limit: int
) -> list[CustomEvent]:
    """The newest ``limit`` events, newest event time first: of ``name`` through the name and
    time index; of any name, among the ``limit`` rows stored last (the primary key, so the
    whole table is never sorted; rows of one move are stored in unit order, not by time)."""
    query = select(CustomEvent).where(CustomEvent.project_id == project_id)
    if name is not None:
        query = query.where(CustomEvent.event_name == name).order_by(
            CustomEvent.time.desc(), CustomEvent.seq.desc()
        )
    else:
        query = query.order_by(CustomEvent.seq.desc())
    rows = list(session.scalars(query.limit(limit)))
    rows.sort(key=lambda e: (e.time, e.seq), reverse=True)
    return rows


def _unit(table: Any, id_type: str) -> Any:
    """The column of ``table`` (exposures or events) holding units of ``id_type``: ``userID``
    and ``stableID`` have columns of their own, other types live in the ``custom_ids`` map."""
    lowered = id_type.lower()
    if lowered == "userid":
        return table.user_id
    if lowered == "stableid":
        return table.stable_id
    custom: Any = table.custom_ids[id_type]
    return custom.as_string()


def unit_exposures(
    session: Session, project_id: str, id_type: str, unit_id: str, *, limit: int
) -> Sequence[Exposure]:
    """A unit's latest exposures, newest first. A ``userID`` is read through
    ``ix_exposures_user_time``; other unit types have no index, so their lookup scans the
    project's exposures (the console's user lookup, one unit at a time)."""
    return session.scalars(
        select(Exposure)
        .where(Exposure.project_id == project_id, _unit(Exposure, id_type) == unit_id)
        .order_by(Exposure.time.desc(), Exposure.seq.desc())
        .limit(limit)
    ).all()


def unit_events(
    session: Session, project_id: str, id_type: str, unit_id: str, *, limit: int
) -> Sequence[CustomEvent]:
    """A unit's latest custom events, newest first. ``userID`` and ``stableID`` are indexed
    columns; other unit types live in a JSON column no index covers, so their lookup scans."""
    return session.scalars(
        select(CustomEvent)
        .where(CustomEvent.project_id == project_id, _unit(CustomEvent, id_type) == unit_id)
        .order_by(CustomEvent.time.desc(), CustomEvent.seq.desc())
        .limit(limit)
    ).all()
