"""Winsorization (docs/statistics.md §Winsorization) against vectors worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lockgate.cores.stats.sufficient import MeanStats
from lockgate.cores.stats.winsorize import (
    TailAggregates,
    cap_cross_total,
    cap_mean_stats,
    capped_mean_stats,
    capped_ratio_stats,
    interpolate_cap,
    percentile_position,
    winsorization_cap,
)

pytestmark = pytest.mark.database_free

# Units: two zeros, a null, and 1..10. Zeros and nulls are excluded from the percentile.
UNITS = [0.0, 0.0, math.nan, *range(1, 11)]


@pytest.mark.parametrize(
    ("percentile", "expected"),
    [
        # 10 values, position 9 x 0.999 = 8.991 -> 9 + 0.991 x (10 - 9) = 9.991
        (99.9, 9.991),
        # position 9 x 0.5 = 4.5 -> 5 + 0.5 x (6 - 5) = 5.5
        (50.0, 5.5),
    ],
)
def test_winsorization_cap__zeros_and_nulls__ignored_and_interpolated(
    percentile: float, expected: float
) -> None:
    assert winsorization_cap(UNITS, percentile) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("values", [[], [0.0, 0.0], [math.nan]])
def test_winsorization_cap__no_positive_values__returns_none(values: list[float]) -> None:
    assert winsorization_cap(values) is None


def test_capped_mean_stats__cap_9_991__only_the_top_value_changes() -> None:
    # Given 0, 0, 1..10 (12 units) and cap 9.991
    values = np.array([0.0, 0.0, *range(1, 11)])
    # Then sum = 55 - 10 + 9.991 = 54.991 and sum of squares = 385 - 100 + 99.820081 = 384.820081
    capped = capped_mean_stats(values, 9.991)
    assert capped.n == 12
    assert (capped.total, capped.total_sq) == pytest.approx((54.991, 384.820081), rel=1e-12)


def test_cap_mean_stats__tail_aggregates_from_db__same_as_capping_units() -> None:
    # Given the uncapped stats (12, 55, 385) and the DB's tail above the cap: 1 unit, 10, 100
    capped = cap_mean_stats(MeanStats(12, 55.0, 385.0), TailAggregates(1, 10.0, 100.0), 9.991)
    # Then the result is the unit-level capping above: 55 - 10 + 9.991, 385 - 100 + 9.991^2
    assert capped.n == 12
    assert capped.total == pytest.approx(54.991, rel=1e-12)
    assert capped.total_sq == pytest.approx(384.820081, rel=1e-12)


def test_capped_ratio_stats__separate_caps__numerator_and_denominator_capped_alone() -> None:
    # Given numerators 1, 50 and denominators 2, 4, capped at 10 and 3
    stats = capped_ratio_stats([1.0, 50.0], [2.0, 4.0], 10.0, 3.0)
    # Then X = 1, 10 and Y = 2, 3: sums 11 and 5, squares 101 and 13, cross 1x2 + 10x3 = 32
    assert (stats.num_total, stats.den_total) == (11.0, 5.0)
    assert (stats.num_total_sq, stats.den_total_sq, stats.num_den_total) == (101.0, 13.0, 32.0)


def test_capped_mean_stats__no_cap__unchanged() -> None:
    assert capped_mean_stats([1.0, 2.0], None) == MeanStats(2, 3.0, 5.0)


@pytest.mark.parametrize("count", [1, 2, 3, 10, 999, 1000, 1001, 1002, 4321])
def test_percentile_position__ranked_pair__equals_numpy_percentile(count: int) -> None:
    # Given sorted values with distinct gaps, when P_x is read from the two values at the rank
    values = np.sort(np.random.default_rng(count).lognormal(size=count))
    rank, weight = percentile_position(count)
    upper = values[rank + 1] if rank + 1 < count else None
    # Then it is np.percentile's linear interpolation, as a database's LIMIT 2 OFFSET rank gives it
    cap = interpolate_cap(float(values[rank]), None if upper is None else float(upper), weight)
    assert cap == pytest.approx(winsorization_cap(values), rel=1e-12)


def test_cap_cross_total__tail_sums__same_as_capping_units() -> None:
    # Given X = 1, 5, 9 with covariate Z = 2, 3, 4 and cap 6 (only 9 is above it)
    x, z = np.array([1.0, 5.0, 9.0]), np.array([2.0, 3.0, 4.0])
    # Then Σ min(X, 6)·Z = 2 + 15 + 24 = 41
    assert cap_cross_total(float(x @ z), 9.0 * 4.0, 4.0, 6.0) == pytest.approx(41.0)
