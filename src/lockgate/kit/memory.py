"""Keeping Python's cycle collector off large, long-lived structures, and out of the way while a
large short-lived one is built.

A compiled project of 10,000 entities is hundreds of thousands of objects that live until the
next spec revision. Left in the collector's oldest generation, every full collection (which
the many short-lived objects of each ``/v1/initialize`` trigger) walks all of them, and a
response's cost grows with the size of the project instead of with what it evaluates.

Every collection holds the interpreter lock while it walks, so a worker answers nothing during
one. ``settle_long_lived`` walks every object the process has (hundreds of thousands: modules,
the framework, the compiled project) and belongs before serving or beside a new revision's
compile; ``settle_recent`` walks only what was made since the last settle, and is what a
serving worker's warm-up runs.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pause_lock = threading.Lock()
# How many callers are inside ``collector_paused`` now, and whether the collector was running
# when the first of them came in (it is switched back on only then).
_pauses = 0
_was_enabled = False


def settle_long_lived() -> None:
    """Collect what is garbage now, then exempt every surviving object from later collections.

    Called after a long-lived structure is built (a new revision's evaluator). Objects
    exempted earlier are collected first, so a structure that became garbage since the last
    call (an older revision) is still freed, cycles included. Reference counting frees
    exempted objects as usual.
    """
    with _lock:
        gc.unfreeze()
        gc.collect()
        gc.freeze()


def settle_recent() -> None:
    """Collect what is garbage among the objects made since the last settle, then exempt the
    survivors from later collections too.

    Objects exempted earlier are not walked: the collection costs what was made since, not
    what the process holds (on the bench project under a quarter of it), which is why a
    serving worker's warm-up settles this way. What was exempted earlier and has become garbage
    since is freed by reference counting as usual; only a reference cycle among such objects
    waits for the next ``settle_long_lived``. A compiled revision and the renderings its answers
    fill hold no cycles (a test drops one and sees it freed without a collection), so a revision
    replaced after its warm-up leaves nothing behind.
    """
    with _lock:
        gc.collect()
        gc.freeze()


class Warmup:
    """Settles a worker's long-lived objects once more when it has warmed up.

    Much of what a worker keeps for good is made after its start-up settle, on first use: the
    framework builds its routes' request parsers (pydantic validators, thousands of objects)
    when the first request reaches the router, a new revision's evaluator is compiled by the
    first request that needs it and fills its shared renderings as answers need them, keys
    and caches are read. Left unsettled, every full collection (which the short-lived objects
    of SDK requests trigger again and again) walks all of them. So ``arm`` (at start-up and
    whenever a new evaluator is built) and ``count`` each request: the ``after``-th request
    counted since the last ``arm`` settles, once, in that request, with ``settle_recent``: a
    collection of what was made since the last settle alone. A full collection there (every
    object of the process, then exempted again) stalled every request in flight on the worker
    for a quarter of a second and more (docs/sdk.md §Serving speed).
    """

    def __init__(self, after: int, settle: Callable[[], None] = settle_recent) -> None:
        self.after = after
        self.settled = 0  # how many settles it has run, for the tests
        self._settle = settle
        self._left = 0  # requests until the next settle; 0: none due

    def arm(self) -> None:
        """Settle once ``after`` more requests have been counted."""
        self._left = self.after

    def count(self) -> None:
        """One request: the one that completes the warm-up settles."""
        left = self._left
        if left <= 0:
            return
        # Not locked: a count lost to a race only moves the settle by a request.
        self._left = left - 1
        if left == 1:
            self.settled += 1
            self._settle()


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic cycle collection while the block runs, in any thread.

    An initialize answer is tens of thousands of fresh containers (a 10,000-entity project's is
    over a hundred thousand), all alive until it is encoded and all freed by reference counting
    right after. Built with the collector on, it triggers young collections that promote it
    generation by generation and then full ones that walk it whole: work that finds nothing,
    and that grows faster than the answer (docs/sdk.md §Speed of evaluation). Paused, those
    collections do not run; what the block leaves alive (caches filled on first use) is
    collected as usual afterwards. Nested and concurrent blocks (the loop's and a worker
    thread's) share one pause, ended by the last to leave; a collector that was off when the
    first came in stays off.
    """
    global _pauses, _was_enabled
    with _pause_lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()
