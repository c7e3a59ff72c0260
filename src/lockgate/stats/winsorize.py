"""Upper winsorization (stats.md §1.7): the cap P_x at the 99.9th percentile of non-zero, non-null
unit values, and capped sufficient statistics, either from unit values or from the tail aggregates
a database returns alongside a cap it computed itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from lockgate.stats.sufficient import MeanStats, RatioStats

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
