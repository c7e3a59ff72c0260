"""Incoming event rows: where SDK batches land, and how they reach the indexed tables.

An SDK request commits its rows to ``exposures_incoming`` / ``events_incoming``, which have no
secondary index, so the commit writes a few appended pages whatever the size of the indexed
tables. ``move`` then copies landed rows into ``exposures`` / ``events`` in one large
transaction, where maintaining the unit indexes costs a fraction of what it costs per request.

Rows are durable from the request's commit on. Everything that reads the indexed tables calls
``settle`` (a service: ``settle_before``) first, so a read sees every event acknowledged before
it; a server process also moves rows in the background (``mover``), so reads rarely find much to
move.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from lockgate.domains.events import repository
from lockgate.kit.background import Periodic
from lockgate.kit.clock import Clock
from lockgate.kit.db import Database, connection_transaction

logger = logging.getLogger(__name__)

MOVE_ROWS = 200_000  # per table and transaction: bounds how long other writers wait


def serialize_moves(connection: Connection) -> None:
    """Hold the move lock until the caller's transaction ends (PostgreSQL; SQLite has one
    writer anyway). Moves then commit one after another, so the sequence numbers they give
    rise in commit order: a reader holding the lock sees every row below the highest ``seq``
    it reads, and any row committed later gets a higher one."""
    repository.lock_moves(connection)


def watermark(connection: Connection) -> tuple[int, int]:
    """The highest ``seq`` of the indexed exposures and events (0 when empty), every row
    at or below them committed. Call in a transaction of its own: it holds the move lock
    until that ends."""
    serialize_moves(connection)
    return repository.highest_seqs(connection)


def move(connection: Connection, limit: int | None = MOVE_ROWS) -> int:
    """Move up to ``limit`` landed rows per table, oldest first, in the caller's transaction.
    Returns how many rows moved.

    The rows of one move are inserted in unit order: the unit indexes, the largest, then take
    them as runs of neighbouring keys instead of one random page per row (about 1.5x faster
    on the rgstr bench's data). So ``seq`` follows arrival from one move to the next, and unit
    order within one."""
    serialize_moves(connection)
    return repository.move_landed(connection, limit)


def pending(session: Session) -> bool:
    """Whether any landed row waits to be moved."""
    return repository.any_landed(session)


def settle(database: Database) -> int:
    """Move every landed row now, so that a read of the indexed tables that follows sees all
    acknowledged events. Cheap when nothing waits: one read, no write lock."""
    return _settle(lambda write: database.transaction(write=write))


def settle_before(session: Session) -> int:
    """``settle`` for a service about to read the indexed tables through ``session``.

    The move commits in transactions of its own, so this must come before the session's first
    statement: a SQLite read keeps the snapshot its first statement took, and a SQLite write
    session holds the one write lock the move needs. Later calls on the same session are free.
    """
    if session.info.get(_SETTLED):
        return 0
    if session.in_transaction():
        raise RuntimeError("settle_before must run before the session's first statement")
    with session.get_bind().engine.connect() as connection:
        moved = _settle(lambda write: connection_transaction(connection, write=write))
    session.info[_SETTLED] = True
    return moved


_SETTLED = "lockgate_events_settled"
Transaction = Callable[[bool], AbstractContextManager[Session]]


def _settle(transaction: Transaction) -> int:
    with transaction(False) as session:
        if not pending(session):
            return 0
    return _drain(transaction)


def _drain(transaction: Transaction) -> int:
    moved = 0
    while True:
        with transaction(True) as session:
            step = move(session.connection())
        moved += step
        if step < MOVE_ROWS:  # each table moved less than a full transaction: drained
            return moved


def forget_old_batches(database: Database, clock: Clock) -> int:
    """Forget the digests of batches received more than ``repository.BATCH_MEMORY_MS`` ago
    (taking the write lock only when there is one to forget)."""
    before = clock.now_ms() - repository.BATCH_MEMORY_MS
    with database.transaction(write=False) as session:
        stale = repository.any_batch_before(session.connection(), before)
    if not stale:
        return 0
    with database.transaction(write=True) as session:
        return repository.forget_batches(session.connection(), before)


class Mover:
    """A server process's background mover: each turn moves every landed row (``settle``) and
    forgets the digests of batches older than ``repository.BATCH_MEMORY_MS``.

    While SDK batches keep arriving (a row landed within the last ``interval_ms``, through any
    process), a turn is skipped, for at most ``defer_ms`` in a row: on SQLite a move holds the
    one write lock that every acknowledgement waits for, and each row costs less to index in
    one large sorted move than in many small ones. Deferring costs nothing in durability (the
    rows were committed before their 202) nor in what reads see (every read of the indexed
    tables settles first); it only leaves more for the next move to do.
    """

    def __init__(
        self, database: Database, clock: Clock, *, interval_ms: int = 1_000, defer_ms: int = 0
    ) -> None:
        self._database = database
        self._clock = clock
        self._interval_ms = interval_ms
        self._defer_ms = defer_ms
        self._deferred_since: int | None = None
        self.periodic = Periodic("lockgate-incoming", self.run_once)

    def due(self) -> bool:
        """Whether this turn moves: batches stopped arriving, or the move waited long enough."""
        if self._defer_ms <= 0:
            return True
        with self._database.transaction(write=False) as session:
            newest = repository.newest_landed_ms(session)
        now = self._clock.now_ms()
        if newest is None or now - newest >= self._interval_ms:
            return True
        if self._deferred_since is None:
            self._deferred_since = now
        return now - self._deferred_since >= self._defer_ms

    def run_once(self) -> int:
        """One turn: how many rows it moved (0 when deferred)."""
        if not self.due():
            return 0
        self._deferred_since = None
        moved = settle(self._database)
        if moved:
            logger.debug("moved %d acknowledged event row(s) to the indexed tables", moved)
        forget_old_batches(self._database, self._clock)
        return moved

    def start(self, interval: float) -> None:
        self.periodic.start(interval)

    def stop(self) -> None:
        self.periodic.stop()
