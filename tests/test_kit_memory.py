"""``kit/memory.settle_long_lived``: survivors are exempted from collections, and what was
exempted earlier is still collected once it becomes cyclic garbage."""

from __future__ import annotations

import gc
import weakref

from lockgate.kit.memory import settle_long_lived


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_settle_long_lived__survivors__exempted_from_collections() -> None:
    # Given a long-lived structure
    kept = [_Node() for _ in range(100)]
    # When it is settled
    settle_long_lived()
    # Then the collector no longer tracks it in its generations
    assert gc.get_freeze_count() >= len(kept)
    gc.unfreeze()


def test_settle_long_lived__earlier_survivor_turned_cyclic_garbage__collected_next_time() -> None:
    # Given a reference cycle settled while alive
    first, second = _Node(), _Node()
    first.other, second.other = second, first
    alive = weakref.ref(first)
    settle_long_lived()
    # When it becomes garbage (reference counting cannot free a cycle) and a later structure
    # is settled
    del first, second
    gc.collect()
    assert alive() is not None  # exempted: ordinary collections leave it alone
    settle_long_lived()
    # Then the cycle has been collected
    assert alive() is None
    gc.unfreeze()
