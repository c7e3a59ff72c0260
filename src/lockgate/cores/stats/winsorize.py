"""Upper winsorization (docs/statistics.md §Winsorization): the cap P_x at the 99.9th percentile of
non-zero, non-null unit values, and capped sufficient statistics, either from unit values or from
the tail aggregates a database returns alongside a cap it computed itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from lockgate.cores.stats.sufficient import MeanStats, RatioStats

DEFAULT_PERCENTILE = 99.9


def winsorization_cap(values: ArrayLike, percentile: float = DEFAULT_PERCENTILE) -> float | None:
    """P_x over the non-zero, non-null (NaN) values, linearly interpolated like SQL's
    PERCENTILE_CONT; `None` when no such value exists."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v) & (v != 0)]
    if v.size == 0:
        return None
    return float(np.percentile(v, percentile))


def capped_values(values: ArrayLike, cap: float | None) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    return v if cap is None else np.minimum(v, cap)


def capped_mean_stats(values: ArrayLike, cap: float | None) -> MeanStats:
    """Sufficient statistics of min(X_i, cap); a `None` cap leaves the values unchanged."""
    return MeanStats.from_values(capped_values(values, cap))


def capped_ratio_stats(
    numerators: ArrayLike,
    denominators: ArrayLike,
    numerator_cap: float | None,
    denominator_cap: float | None,
) -> RatioStats:
    """Numerator and denominator are winsorized separately, each with its own cap."""
    return RatioStats.from_values(
        capped_values(numerators, numerator_cap), capped_values(denominators, denominator_cap)
    )


@dataclass(frozen=True, slots=True)
class TailAggregates:
    """What a database returns about the units above the cap: their count, ΣX and ΣX²."""

    count: int
    total: float
    total_sq: float


def cap_mean_stats(stats: MeanStats, tail: TailAggregates, cap: float) -> MeanStats:
    """Replace each tail value by the cap without touching unit rows:
    ΣX' = ΣX - Σ_tail X + k·cap and ΣX'² = ΣX² - Σ_tail X² + k·cap²."""
    return MeanStats(
        stats.n,
        stats.total - tail.total + tail.count * cap,
        stats.total_sq - tail.total_sq + tail.count * cap * cap,
    )


def cap_cross_total(cross_total: float, tail_cross: float, tail_other: float, cap: float) -> float:
    """Σ min(X_i, cap)·Z_i for a covariate Z (CUPED's pre-period value) from the uncapped ΣXZ and
    the tail's ΣXZ and ΣZ: ΣXZ - Σ_tail XZ + cap·Σ_tail Z."""
    return cross_total - tail_cross + cap * tail_other


def percentile_position(count: int, percentile: float = DEFAULT_PERCENTILE) -> tuple[int, float]:
    """Where P_x lies among ``count`` sorted values: the 0-based rank of the value at or below it
    and the weight of the next value, as ``np.percentile``'s linear method (PERCENTILE_CONT)
    interpolates. A database fetches those two values with ORDER BY ... LIMIT 2 OFFSET rank."""
    if count < 1:
        raise ValueError("a percentile needs at least one value")
    position = (count - 1) * percentile / 100
    rank = min(math.floor(position), count - 1)
    return rank, position - rank


def interpolate_cap(lower: float, upper: float | None, weight: float) -> float:
    """P_x between the two ranked values ``percentile_position`` named (``upper`` is None when
    ``lower`` is the largest)."""
    if upper is None or weight == 0:
        return lower
    return lower + (upper - lower) * weight
