"""Per-project mutation rate limits, counted in the database so every process sees them."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lockgate.errors import RateLimited
from lockgate.kit.clock import Clock
from lockgate.kit.db import Database
from lockgate.storage.models import RateLimitCounter

_WINDOWS = (("10s", 10_000), ("15min", 900_000))
_KEEP_MS = 3_600_000


class RateLimiter:
    def __init__(self, database: Database, clock: Clock, per_10s: int, per_15min: int) -> None:
        self._database = database
        self._clock = clock
        self._limits = {"10s": per_10s, "15min": per_15min}

    def hit(self, project_id: str) -> None:
        """Count one mutation; raise ``RateLimited`` when a window is over its limit."""
        active = [(name, size) for name, size in _WINDOWS if self._limits[name] > 0]
        if not active:
            return
        now = self._clock.now_ms()
        insert = pg_insert if not self._database.is_sqlite else sqlite_insert
        exceeded: str | None = None
        with self._database.transaction(write=True) as session:
            for name, size in active:
                start = now - now % size
                statement = (
                    insert(RateLimitCounter)
                    .values(project_id=project_id, window=name, window_start=start, count=1)
                    .on_conflict_do_update(
                        index_elements=["project_id", "window", "window_start"],
                        set_={"count": RateLimitCounter.count + 1},
                    )
                    .returning(RateLimitCounter.count)
                )
                count = session.execute(statement).scalar_one()
                if count == 1:
                    # A new window opened: drop counters nobody will read again.
                    session.execute(
                        delete(RateLimitCounter).where(
                            RateLimitCounter.project_id == project_id,
                            RateLimitCounter.window_start < now - _KEEP_MS,
                        )
                    )
                if count > self._limits[name] and exceeded is None:
                    exceeded = name
        if exceeded is not None:
            raise RateLimited(_message(exceeded, self._limits[exceeded]))

    def reset(self) -> None:
        with self._database.transaction(write=True) as session:
            session.execute(update(RateLimitCounter).values(count=0))


def _message(window: str, limit: int) -> str:
    span = "10 seconds" if window == "10s" else "15 minutes"
    return f"Too many requests. This project may make {limit} mutations per {span}; retry later."
