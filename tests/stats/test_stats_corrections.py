"""Bonferroni and Benjamini-Hochberg (docs/statistics.md §Multiple comparisons) against vectors
worked by hand."""

from __future__ import annotations

from typing import TypedDict

import pytest

from lockgate.cores.stats.corrections import (
    BonferroniPlan,
    MetricRole,
    benjamini_hochberg,
    bonferroni_alpha,
)

pytestmark = pytest.mark.database_free


class _MetricSplit(TypedDict):
    primary_metrics: int
    secondary_metrics: int
    primary_weight: float


DOCS_EXAMPLE: _MetricSplit = {"primary_metrics": 2, "secondary_metrics": 4, "primary_weight": 0.6}


@pytest.mark.parametrize(
    ("plan", "role", "expected"),
    [
        # Nothing enabled: alpha unchanged.
        (BonferroniPlan(test_groups=3), "primary", 0.05),
        # Per variant, 3 test groups: 0.05/3.
        (BonferroniPlan(test_groups=3, per_variant=True), "primary", 0.05 / 3),
        # The example of docs/statistics.md §Multiple comparisons:
        # 0.6 x 0.05/2 = 0.015 primary, 0.4 x 0.05/4 = 0.005 secondary.
        (BonferroniPlan(per_metric=True, **DOCS_EXAMPLE), "primary", 0.015),
        (BonferroniPlan(per_metric=True, **DOCS_EXAMPLE), "secondary", 0.005),
        # Both, multiplicatively: 0.015/3 = 0.005.
        (
            BonferroniPlan(test_groups=3, per_variant=True, per_metric=True, **DOCS_EXAMPLE),
            "primary",
            0.005,
        ),
        # No weight: alpha split evenly over 2 + 4 metrics, 0.05/6.
        (
            BonferroniPlan(per_metric=True, primary_metrics=2, secondary_metrics=4),
            "primary",
            0.05 / 6,
        ),
        # Inside a breakdown with 5 dimension values: 0.015/5 = 0.003.
        (BonferroniPlan(per_metric=True, dimension_values=5, **DOCS_EXAMPLE), "primary", 0.003),
        # No secondary metrics: the primaries keep all of alpha, 0.05/2.
        (
            BonferroniPlan(per_metric=True, primary_metrics=2, primary_weight=0.6),
            "primary",
            0.025,
        ),
    ],
)
def test_bonferroni_alpha__plan__splits_alpha_as_documented(
    plan: BonferroniPlan, role: MetricRole, expected: float
) -> None:
    assert bonferroni_alpha(0.05, plan, role) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("p_values", "expected_alpha", "significant"),
    [
        # m = 5, q = 0.05: sorted 0.005 <= 0.01, 0.01 <= 0.02, 0.03 <= 0.03, 0.04 <= 0.04,
        # 0.20 > 0.05: largest passing threshold is 4 x 0.05/5 = 0.04.
        ([0.01, 0.04, 0.03, 0.005, 0.20], 0.04, (True, True, True, True, False)),
        # m = 4: 0.001 <= 0.0125; 0.035 > 0.025; 0.5 > 0.0375; 0.9 > 0.05: alpha = 0.0125.
        ([0.001, 0.5, 0.035, 0.9], 0.0125, (True, False, False, False)),
        # Step-up: 0.03 > 0.025 at rank 1 but 0.04 <= 0.05 at rank 2, so both pass at 0.05.
        ([0.03, 0.04], 0.05, (True, True)),
        # No discovery: alpha is the rank-1 threshold 0.05/2 and nothing is significant.
        ([0.5, 0.6], 0.025, (False, False)),
    ],
)
def test_benjamini_hochberg__p_values__largest_passing_threshold(
    p_values: list[float], expected_alpha: float, significant: tuple[bool, ...]
) -> None:
    result = benjamini_hochberg(p_values, 0.05)
    assert result.adjusted_alpha == pytest.approx(expected_alpha, rel=1e-12)
    assert result.significant == significant


def test_benjamini_hochberg__no_p_values__keeps_q() -> None:
    assert benjamini_hochberg([], 0.05).adjusted_alpha == 0.05
