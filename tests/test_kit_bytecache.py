"""``kit/bytecache.py``: byte strings kept within a budget, the oldest evicted first."""

from __future__ import annotations

import pytest

from lockgate.kit.bytecache import ENTRY_OVERHEAD, ByteCache

pytestmark = pytest.mark.database_free


def _cost(key: bytes, value: bytes) -> int:
    return len(key) + len(value) + ENTRY_OVERHEAD


def test_byte_cache__within_budget__keeps_and_counts_hits() -> None:
    cache = ByteCache(10_000)
    cache.put(b"a", b"1" * 100)
    assert cache.get(b"a") == b"1" * 100
    assert cache.get(b"b") is None
    assert (cache.hits, cache.misses, len(cache)) == (1, 1, 1)
    assert cache.size == _cost(b"a", b"1" * 100)


def test_byte_cache__over_budget__oldest_evicted_first() -> None:
    value = b"x" * 100
    cache = ByteCache(3 * _cost(b"k0", value))
    for index in range(5):
        cache.put(f"k{index}".encode(), value)
    assert [cache.get(f"k{index}".encode()) is not None for index in range(5)] == [
        False,
        False,
        True,
        True,
        True,
    ]
    assert cache.size <= cache.max_bytes


def test_byte_cache__value_larger_than_budget__not_kept() -> None:
    cache = ByteCache(100)
    cache.put(b"k", b"x" * 100)
    assert cache.get(b"k") is None
    assert cache.size == 0


def test_byte_cache__same_key_twice__first_value_kept_once() -> None:
    cache = ByteCache(10_000)
    cache.put(b"k", b"first")
    cache.put(b"k", b"second")
    assert cache.get(b"k") == b"first"
    assert cache.size == _cost(b"k", b"first")
