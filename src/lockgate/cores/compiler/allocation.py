"""Which of a layer's 1000 buckets an experiment owns (`docs/compiling.md` §Allocation).

Pure functions. Allocations of experiments in one layer never overlap; growing an allocation
keeps every bucket the experiment already had (so no allocated user is re-randomised), and
shrinking drops the most recently added ones.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from decimal import ROUND_HALF_UP, Decimal

LAYER_BUCKETS = 1000


def bucket_count(allocation: float) -> int:
    """|A| = round(allocation * 10), rounding halves up as Statsig's thresholds do."""
    return int((Decimal(str(allocation)) * 10).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def reserve(current: Sequence[int], count: int, taken: Collection[int]) -> list[int] | None:
    """The buckets to own: ``current`` kept (in order) up to ``count``, then free buckets in
    ascending order; ``None`` when the layer has too few free buckets."""
    if count <= len(current):
        return list(current[:count])
    owned = set(current)
    free = [b for b in range(LAYER_BUCKETS) if b not in owned and b not in taken]
    needed = count - len(current)
    if len(free) < needed:
        return None
    return [*current, *free[:needed]]


def thresholds(sizes: Sequence[float]) -> list[int]:
    """Cumulative ``user_bucket lt`` thresholds over 1000 buckets, in decimal
    (docs/compiling.md §Group thresholds)."""
    result: list[int] = []
    total = Decimal(0)
    for size in sizes:
        total += Decimal(str(size))
        result.append(int((total * 10).quantize(Decimal(1), rounding=ROUND_HALF_UP)))
    if result:
        result[-1] = LAYER_BUCKETS
    return result
