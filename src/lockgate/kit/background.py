"""A server process's background work: one daemon thread calling a function at an interval."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)


class Periodic:
    """Calls ``work`` every ``interval`` seconds between ``start`` and ``stop``; a failing call
    is logged and the next one runs as planned (a database hiccup must not end the thread)."""

    def __init__(self, name: str, work: Callable[[], object]) -> None:
        self._name = name
        self._work = work
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, interval: float) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, args=(interval,), name=self._name, daemon=True
        )
        self._thread.start()
        logger.info("%s: started, every %g s", self._name, interval)

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            if self._thread.is_alive():
                logger.warning("%s: did not stop within %g s", self._name, timeout)
            else:
                logger.info("%s: stopped", self._name)
            self._thread = None

    def _loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self._work()
            except Exception:
                logger.exception("%s: iteration failed", self._name)
