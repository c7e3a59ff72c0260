"""The map behind the SDK face's key and revision caches: values reused for a bounded time,
read again at once after a local change, refreshed ahead in the background."""

from __future__ import annotations

import threading
import time

import pytest

from lockgate.kit.freshness import MISSING, FreshMap

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
