"""Incoming event rows: where SDK batches land, and how they reach the indexed tables.

An SDK request commits its rows to ``exposures_incoming`` / ``events_incoming``, which have no
secondary index, so the commit writes a few appended pages whatever the size of the indexed
tables. ``move`` then copies landed rows into ``exposures`` / ``events`` in one large
transaction, where maintaining the unit indexes costs a fraction of what it costs per request.

Rows are durable from the request's commit on. Everything that reads the indexed tables calls
``settle`` first, so a read sees every event acknowledged before it; a server process also
moves rows in the background (``mover``), so reads rarely find much to move.
"""

from __future__ import annotations

from sqlalchemy import Connection, exists, func, select
from sqlalchemy.orm import Session

from lockgate.domains.events.repository import TABLES, insert_columns
from lockgate.kit.background import Periodic
from lockgate.kit.db import Database

PAIRS = tuple(
    (TABLES[f"{name}_incoming"], TABLES[name], insert_columns(name))
    for name in ("exposures", "events")
)
MOVE_ROWS = 200_000  # per table and transaction: bounds how long other writers wait
MOVE_LOCK = 0x6C6F636B6D6F7665  # PostgreSQL advisory lock key taken by every move


def serialize_moves(connection: Connection) -> None:
    """Hold the move lock until the caller's transaction ends (PostgreSQL; SQLite has one
    writer anyway). Moves then commit one after another, so the sequence numbers they give
    rise in commit order: a reader holding the lock sees every row below the highest ``seq``
    it reads, and any row committed later gets a higher one."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(MOVE_LOCK)))


def watermark(connection: Connection) -> tuple[int, int]:
    """The highest ``seq`` of the indexed exposures and events (0 when empty), every row
    at or below them committed. Call in a transaction of its own: it holds the move lock
    until that ends."""
    serialize_moves(connection)
    return tuple(  # type: ignore[return-value]
        int(connection.scalar(select(func.coalesce(func.max(indexed.c.seq), 0))) or 0)
        for _, indexed, _ in PAIRS
    )


def move(connection: Connection, limit: int | None = MOVE_ROWS) -> int:
    """Move up to ``limit`` landed rows per table, oldest first, in the caller's transaction.
    Returns how many rows moved.

    The rows of one move are inserted in unit order: the unit indexes, the largest, then take
    them as runs of neighbouring keys instead of one random page per row (about 1.5x faster
    on the rgstr bench's data). So ``seq`` follows arrival from one move to the next, and unit
    order within one."""
    moved = 0
    serialize_moves(connection)
    for incoming, indexed, columns in PAIRS:
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


def pending(session: Session) -> bool:
    """Whether any landed row waits to be moved."""
    return any(session.scalar(select(exists().select_from(incoming))) for incoming, _, _ in PAIRS)


def move_all(database: Database) -> int:
    """Move every landed row, in transactions of at most MOVE_ROWS rows per table."""
    moved = 0
    while True:
        with database.transaction(write=True) as session:
            step = move(session.connection())
        moved += step
        if step < MOVE_ROWS:  # each table moved less than a full transaction: drained
            return moved


def settle(database: Database) -> int:
    """Move every landed row now, so that a read of the indexed tables that follows sees all
    acknowledged events. Cheap when nothing waits: one read, no write lock."""
    with database.transaction(write=False) as session:
        if not pending(session):
            return 0
    return move_all(database)


def mover(database: Database) -> Periodic:
    """A server process's background mover (started at ``interval`` seconds by the app)."""
    return Periodic("lockgate-incoming", lambda: settle(database))
