"""A map of values read from the database and reused for a bounded time.

The SDK face reads keys and spec revisions through it. A value is served for at most ``ttl``
seconds after the read that produced it began, and never across a change of ``generation()``
(this process's own commits that matter), so staleness stays bounded. Past half its life a
value is read again in the background while the old one is still served, so a steady stream of
requests never waits for the database; of many requests that must wait, one reads and the
others take its result. The background reads run one after another on one long-lived thread
(``Refresher``): a thread started per read made the event loop that asked for it wait until
the new thread had run, a wait of a few milliseconds on a busy worker, several times a second.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

logger = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")


class Missing:
    """Not known fresh: the caller must ``load``."""


MISSING: Final = Missing()


@dataclass(frozen=True)
class _Entry(Generic[V]):
    value: V
    read_at: float
    generation: int


class Refresher:
    """Runs the work handed to it one piece after another on a daemon thread of its own,
    started with the first piece (and again in a forked process, where it does not run); a
    piece that fails is logged and the next one runs."""

    def __init__(self, name: str = "lockgate-refresh") -> None:
        self._name = name
        self._queue: queue.SimpleQueue[Callable[[], object]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, work: Callable[[], object]) -> None:
        """Queue ``work``; never waits for it, nor (but the first time) for a thread."""
        self._queue.put(work)
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            work = self._queue.get()
            try:
                work()
            except Exception:
                logger.warning("%s: background work failed", self._name, exc_info=True)


# The process's background reads, of every map that is given no refresher of its own.
_REFRESHER: Final = Refresher()


class FreshMap(Generic[K, V]):
    def __init__(
        self,
        read: Callable[[K], V],
        ttl_seconds: float,
        generation: Callable[[], int],
        *,
        max_entries: int = 10_000,
        now: Callable[[], float] = time.monotonic,
        refresher: Refresher | None = None,
    ) -> None:
        self._refresher = refresher or _REFRESHER
        self._read = read
        self._ttl = ttl_seconds
        self._generation = generation
        self._max = max_entries
        self._now = now
        self._entries: dict[K, _Entry[V]] = {}
        self._locks: dict[K, threading.Lock] = {}
        self._refreshing: set[K] = set()
        self._guard = threading.Lock()

    def cached(self, key: K) -> V | Missing:
        """The value if fresh enough, without reading; else ``MISSING``."""
        entry = self._entries.get(key)
        if entry is None or entry.generation != self._generation():
            return MISSING
        age = self._now() - entry.read_at
        if age >= self._ttl:
            return MISSING
        if age >= self._ttl / 2 and key not in self._refreshing:
            self._refresh_ahead(key)
        return entry.value

    def load(self, key: K) -> V:
        """Read the value (blocking), unless another caller just did."""
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            found = self.cached(key)
            if not isinstance(found, Missing):
                return found
            return self._store(key)

    def get(self, key: K) -> V:
        found = self.cached(key)
        return self.load(key) if isinstance(found, Missing) else found

    def clear(self) -> None:
        self._entries.clear()

    def _store(self, key: K) -> V:
        generation, read_at = self._generation(), self._now()
        value = self._read(key)
        with self._guard:
            if len(self._entries) >= self._max:
                self._entries.clear()
                self._locks.clear()
            self._entries[key] = _Entry(value, read_at, generation)
        return value

    def _refresh_ahead(self, key: K) -> None:
        with self._guard:
            if key in self._refreshing:
                return
            self._refreshing.add(key)

        def refresh() -> None:
            try:
                self._store(key)
            except Exception:
                # The value expires on time; the request that then reads it meets the error.
                logger.debug("background refresh failed", exc_info=True)
            finally:
                with self._guard:
                    self._refreshing.discard(key)

        self._refresher.submit(refresh)
