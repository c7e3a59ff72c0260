"""Keeping Python's cycle collector off large, long-lived structures.

A compiled project of 10,000 entities is hundreds of thousands of objects that live until the
next spec revision. Left in the collector's oldest generation, every full collection (which
the many short-lived objects of each ``/v1/initialize`` trigger) walks all of them, and a
response's cost grows with the size of the project instead of with what it evaluates.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()


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
