"""``kit/memory``: ``settle_long_lived`` exempts survivors from collections, and what was
exempted earlier is still collected once it becomes cyclic garbage; ``settle_recent`` collects
and exempts only what was made since, leaving what was exempted before unwalked; a warm-up
settles the recent way; ``collector_paused`` holds automatic collections off for its block
alone, nested and across threads."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from lockgate.kit.memory import Warmup, collector_paused, settle_long_lived, settle_recent

pytestmark = pytest.mark.database_free


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


def _cycle() -> weakref.ref[_Node]:
    """A reference cycle that is garbage once the caller drops the returned weak reference's
    referent (it keeps none): reference counting alone cannot free it."""
    first, second = _Node(), _Node()
    first.other, second.other = second, first
    return weakref.ref(first)


def test_settle_recent__cycle_made_since_last_settle__collected() -> None:
    # Given a settled process, then a reference cycle made and dropped
    settle_long_lived()
    alive = _cycle()
    try:
        # When the recent objects are settled
        settle_recent()
        # Then the cycle has been collected
        assert alive() is None
    finally:
        gc.unfreeze()


def test_settle_recent__earlier_survivor_turned_cyclic_garbage__left_for_the_full_settle() -> None:
    # Given a reference cycle exempted while alive, then dropped
    first, second = _Node(), _Node()
    first.other, second.other = second, first
    alive = weakref.ref(first)
    settle_long_lived()
    frozen = gc.get_freeze_count()
    del first, second
    try:
        # When the recent objects are settled
        settle_recent()
        # Then what was exempted before was not walked: the cycle is still there, still exempt
        assert alive() is not None
        assert gc.get_freeze_count() >= frozen
        # And the next full settle frees it
        settle_long_lived()
        assert alive() is None
    finally:
        gc.unfreeze()


def test_warmup__default_settle__walks_only_what_was_made_since() -> None:
    # Given an exempted cycle turned garbage, and a warm-up of one request, armed
    first, second = _Node(), _Node()
    first.other, second.other = second, first
    exempted = weakref.ref(first)
    settle_long_lived()
    del first, second
    recent = _cycle()
    warmup = Warmup(1)
    warmup.arm()
    try:
        # When the request that completes it is counted
        warmup.count()
        # Then it settled the recent way: the new cycle collected, the exempted one not walked
        assert warmup.settled == 1
        assert recent() is None
        assert exempted() is not None
    finally:
        settle_long_lived()
        gc.unfreeze()


def test_collector_paused__inside__no_automatic_collection_then_running_again() -> None:
    # Given the collector running
    assert gc.isenabled()
    # When a block runs paused
    with collector_paused():
        # Then automatic collections are off inside it
        assert not gc.isenabled()
    # And on again after it
    assert gc.isenabled()


def test_collector_paused__nested_and_raising__on_again_only_when_the_last_leaves() -> None:
    # Given two nested paused blocks, the inner one failing
    with pytest.raises(RuntimeError), collector_paused():
        with pytest.raises(ValueError), collector_paused():
            raise ValueError("inner")
        # When the inner one has left, the outer is still inside
        assert not gc.isenabled()
        raise RuntimeError("outer")
    # Then the collector runs again once both have left
    assert gc.isenabled()


def test_collector_paused__collector_off_before__stays_off() -> None:
    # Given a collector someone switched off
    gc.disable()
    try:
        # When a block runs paused
        with collector_paused():
            pass
        # Then it is still off afterwards
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_collector_paused__threads_overlapping__on_again_when_all_left() -> None:
    # Given a block paused in another thread that is still inside when this one leaves
    entered, release = threading.Event(), threading.Event()

    def other() -> None:
        with collector_paused():
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    assert entered.wait(10)
    with collector_paused():
        pass
    # When this thread's block has left, the other's keeps the pause
    assert not gc.isenabled()
    release.set()
    thread.join(10)
    # Then the collector runs again once the other has left too
    assert gc.isenabled()


def test_collector_paused__cycle_made_inside__collected_afterwards() -> None:
    # Given a reference cycle that became garbage inside a paused block
    with collector_paused():
        first, second = _Node(), _Node()
        first.other, second.other = second, first
        alive = weakref.ref(first)
        del first, second
    # When the collector runs after the block
    gc.collect()
    # Then the cycle is freed
    assert alive() is None


def test_warmup__armed__settles_once_at_the_nth_request() -> None:
    # Given a warm-up of three requests, armed
    settles: list[int] = []
    warmup = Warmup(3, settle=lambda: settles.append(1))
    warmup.arm()
    # When two requests are counted, nothing is settled yet
    warmup.count()
    warmup.count()
    assert settles == []
    # Then the third settles, and later ones do not
    warmup.count()
    assert settles == [1]
    for _ in range(10):
        warmup.count()
    assert (settles, warmup.settled) == ([1], 1)


def test_warmup__never_armed__never_settles() -> None:
    settles: list[int] = []
    warmup = Warmup(1, settle=lambda: settles.append(1))
    for _ in range(5):
        warmup.count()
    assert settles == []


def test_warmup__armed_again_midway__counts_from_the_new_arming() -> None:
    # Given a warm-up armed, two requests in, then armed again (a new evaluator)
    settles: list[int] = []
    warmup = Warmup(3, settle=lambda: settles.append(1))
    warmup.arm()
    warmup.count()
    warmup.count()
    warmup.arm()
    # When two more requests come, nothing is settled; the third after the new arming settles
    warmup.count()
    warmup.count()
    assert settles == []
    warmup.count()
    assert settles == [1]
