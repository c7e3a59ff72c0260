"""The map behind the SDK face's key and revision caches: values reused for a bounded time,
read again at once after a local change, refreshed ahead in the background on one long-lived
thread."""

from __future__ import annotations

import threading
import time

import pytest

from lockgate.kit.freshness import MISSING, FreshMap, Refresher

pytestmark = pytest.mark.database_free


class _Reads:
    """A database stand-in counting its reads; each read returns the next number."""

    def __init__(self) -> None:
        self.count = 0
        self.done = threading.Event()

    def __call__(self, key: str) -> int:
        self.count += 1
        self.done.set()
        return self.count


def _map(reads: _Reads, now: list[float], generation: list[int]) -> FreshMap[str, int]:
    return FreshMap(reads, 0.5, lambda: generation[0], now=lambda: now[0])


def test_fresh_map__within_ttl__served_without_reading() -> None:
    reads, now, generation = _Reads(), [0.0], [0]
    values = _map(reads, now, generation)
    assert values.cached("k") is MISSING
    assert values.get("k") == 1
    now[0] = 0.2
    assert values.get("k") == 1
    assert reads.count == 1


def test_fresh_map__past_ttl__read_again() -> None:
    reads, now, generation = _Reads(), [0.0], [0]
    values = _map(reads, now, generation)
    values.get("k")
    now[0] = 0.5
    assert values.cached("k") is MISSING
    assert values.get("k") == 2


def test_fresh_map__generation_moved__read_again_at_once() -> None:
    reads, now, generation = _Reads(), [0.0], [0]
    values = _map(reads, now, generation)
    values.get("k")
    generation[0] = 1
    assert values.cached("k") is MISSING
    assert values.get("k") == 2


def test_fresh_map__past_half_ttl__old_value_served_and_read_in_background() -> None:
    reads, now, generation = _Reads(), [0.0], [0]
    values = _map(reads, now, generation)
    values.get("k")
    reads.done.clear()
    now[0] = 0.3
    assert values.cached("k") == 1
    # The background read stores its value just after it returns: wait for that.
    deadline = time.monotonic() + 5
    while values.cached("k") != 2 and time.monotonic() < deadline:
        reads.done.wait(0.01)
    assert values.get("k") == 2  # read at 0.3: fresh until 0.8
    assert reads.count == 2


def test_fresh_map__zero_ttl__every_call_reads() -> None:
    reads, generation = _Reads(), [0]
    values: FreshMap[str, int] = FreshMap(reads, 0, lambda: generation[0], now=lambda: 0.0)
    assert [values.get("k") for _ in range(3)] == [1, 2, 3]


class _Threads(_Reads):
    """Reads that also note the thread each ran on."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[threading.Thread] = []

    def __call__(self, key: str) -> int:
        self.threads.append(threading.current_thread())
        return super().__call__(key)


def _wait_for(values: FreshMap[str, int], key: str, expected: int) -> None:
    deadline = time.monotonic() + 5
    while values.cached(key) != expected and time.monotonic() < deadline:
        time.sleep(0.005)


def test_fresh_map__refreshed_ahead_again_and_again__one_long_lived_thread_reads() -> None:
    # Given a map with a refresher of its own, read once
    reads, now, generation = _Threads(), [0.0], [0]
    values = FreshMap(reads, 0.5, lambda: generation[0], now=lambda: now[0], refresher=Refresher())
    values.get("k")
    # When its value is past half its life three times over, each time read in the background
    for step in range(1, 4):
        now[0] += 0.3
        assert values.cached("k") == step
        _wait_for(values, "k", step + 1)
    # Then the three background reads ran on one thread, not the caller's, and not one each
    background = reads.threads[1:]
    assert len(background) == 3
    assert all(thread is background[0] for thread in background)
    assert background[0] is not threading.current_thread()


def test_refresher__work_fails__later_work_still_runs() -> None:
    # Given a refresher whose first piece of work fails
    refresher, ran = Refresher(), threading.Event()

    def fail() -> None:
        raise RuntimeError("database away")

    refresher.submit(fail)
    # When more work comes
    refresher.submit(ran.set)
    # Then it runs
    assert ran.wait(5)
