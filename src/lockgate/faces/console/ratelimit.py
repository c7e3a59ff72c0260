"""Per-project Console mutation limits (README, "Calling the Console API"): every process counts
in the shared database, over sliding windows (``domains/ratelimits``)."""

from __future__ import annotations

import math

from lockgate.domains.ratelimits.service import Window, admit
from lockgate.errors import RateLimited
from lockgate.kit.clock import Clock
from lockgate.kit.db import Database

_SPANS = {"10s": (10_000, "10 seconds"), "15min": (900_000, "15 minutes")}


class RateLimiter:
    def __init__(self, database: Database, clock: Clock, per_10s: int, per_15min: int) -> None:
        self._database = database
        self._clock = clock
        limits = {"10s": per_10s, "15min": per_15min}
        # A limit of 0 turns its window off.
        self._windows = [
            Window(name, span_ms, limits[name])
            for name, (span_ms, _) in _SPANS.items()
            if limits[name] > 0
        ]

    def hit(self, project_id: str) -> None:
        """Count one mutation; raise ``RateLimited`` when a window is full."""
        if not self._windows:
            return
        with self._database.transaction(write=True) as session:
            refusal = admit(session, project_id, self._clock.now_ms(), self._windows)
        if refusal is not None:
            window = refusal.window
            raise RateLimited(
                f"Too many requests. This project may make {window.limit} mutations per "
                f"{_SPANS[window.name][1]}; retry later.",
                retry_after_s=max(1, math.ceil(refusal.retry_after_ms / 1000)),
            )
