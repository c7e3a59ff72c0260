"""CUPED applicability rules (docs/statistics.md §CUPED) on constructed sufficient statistics."""

from __future__ import annotations

import pytest

from lockgate.cores.stats.cuped import CupedReason, cuped_mean
from lockgate.cores.stats.sufficient import CupedMeanStats, MeanStats

pytestmark = pytest.mark.database_free


def _group(n: int, with_pre: int, post_mean: float) -> CupedMeanStats:
    # Pre X is 0 or 2, half the units each; post Y = X + (post_mean - 1) exactly, so
    # sum X = n, sum X^2 = 2n, sum XY = sum X^2 + offset sum X, and CUPED removes all variance.
    offset = post_mean - 1.0
    x_total, x_sq = float(n), 2.0 * n
    y_sq = x_sq + 2 * offset * x_total + offset**2 * n
    return CupedMeanStats(
        MeanStats(n, post_mean * n, y_sq),
        MeanStats(n, x_total, x_sq),
        x_sq + offset * x_total,
        with_pre,
    )


@pytest.mark.parametrize(
    ("with_pre", "reason"),
    [
        # 50 + 50 = 100 units with pre data: not *more than* 100.
        (50, "too_few_units_with_pre"),
        # 200 + 200 = 400 of 10,000 units: 4% is not more than 5%.
        (200, "too_small_share_with_pre"),
        # 300 + 300 = 600 of 10,000: 6% > 5% and > 100 units.
        (300, "applied"),
    ],
)
def test_cuped_mean__units_with_pre__statsig_rules(with_pre: int, reason: CupedReason) -> None:
    result = cuped_mean(_group(5000, with_pre, 3.0), _group(5000, with_pre, 3.2))
    assert result.reason == reason
    assert result.applied == (reason == "applied")
    expected = result.adjusted if result.applied else result.unadjusted
    assert result.contrast == expected


def test_cuped_mean__uncorrelated_pre__no_variance_reduction_falls_back() -> None:
    # Given pre values with zero covariance with post: cov = (sum_xy - sum_x sum_y/n)/(n-1) = 0
    n = 1000
    post, pre = MeanStats(n, 3000.0, 10000.0), MeanStats(n, 1000.0, 2000.0)
    group = CupedMeanStats(post, pre, 3000.0 * 1000.0 / n, n)
    # When CUPED is evaluated
    result = cuped_mean(group, group)
    # Then theta is 0, nothing is gained and the unadjusted contrast is reported
    assert result.theta == pytest.approx(0.0, abs=1e-12)
    assert (result.applied, result.reason) == (False, "no_variance_reduction")
    assert result.contrast == result.unadjusted


def test_cuped_mean__no_pre_variance__undefined() -> None:
    post, pre = MeanStats(500, 1500.0, 5000.0), MeanStats(500, 0.0, 0.0)
    group = CupedMeanStats(post, pre, 0.0, 0)
    result = cuped_mean(group, group)
    assert (result.theta, result.reason, result.adjusted) == (None, "undefined", None)
