"""Queries over the mutation log of the rate limits (``rate_limit_counters``).

Each row counts the mutations a project made in one millisecond (``window`` is ``"1ms"``,
``window_start`` the millisecond), so a sum over a span of rows is the count in that span. One
row per project (``window`` ``"lock"``) is locked to take turns between processes.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lockgate.storage.models import RateLimitCounter

LOG = "1ms"
LOCK = "lock"
_KEY = ["project_id", "window", "window_start"]


def lock(session: Session, project_id: str) -> None:
    """Hold the project's lock row until the transaction ends, so one process at a time counts
    and records a project's mutations (SQLite's write transaction already holds its one lock)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(RateLimitCounter)
        .values(project_id=project_id, window=LOCK, window_start=0, count=0)
        .on_conflict_do_update(index_elements=_KEY, set_={"count": RateLimitCounter.count})
    )
    session.execute(statement)


def recent(session: Session, project_id: str, since_ms: int) -> Sequence[tuple[int, int]]:
    """``(millisecond, mutations)`` of the project after ``since_ms``, oldest first."""
    rows = session.execute(
        select(RateLimitCounter.window_start, RateLimitCounter.count)
        .where(
            RateLimitCounter.project_id == project_id,
            RateLimitCounter.window == LOG,
            RateLimitCounter.window_start > since_ms,
        )
        .order_by(RateLimitCounter.window_start)
    ).all()
    return [(int(start), int(count)) for start, count in rows]


def record(session: Session, project_id: str, now_ms: int) -> None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(RateLimitCounter)
        .values(project_id=project_id, window=LOG, window_start=now_ms, count=1)
        .on_conflict_do_update(index_elements=_KEY, set_={"count": RateLimitCounter.count + 1})
    )
    session.execute(statement)


def forget(session: Session, project_id: str, until_ms: int) -> None:
    """Drop the project's counts up to ``until_ms`` (and those of older, fixed-window versions)."""
    session.execute(
        delete(RateLimitCounter).where(
            RateLimitCounter.project_id == project_id,
            RateLimitCounter.window != LOCK,
            RateLimitCounter.window_start <= until_ms,
        )
    )
