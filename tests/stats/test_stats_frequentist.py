"""Frequentist edge cases: undefined quantities are None, the z/t switch, relative CI methods."""

from __future__ import annotations

import pytest
from scipy import stats as sps

from lockgate.cores.stats.frequentist import (
    RelativeCiMethod,
    analyze,
    contrast,
    critical_value,
    fieller_interval,
)
from lockgate.cores.stats.sufficient import GroupEstimate, MeanStats, mean_estimate

pytestmark = pytest.mark.database_free


@pytest.mark.parametrize(
    ("control", "test"),
    [
        # n < 2: no sample variance.
        (MeanStats(1, 5.0, 25.0), MeanStats(10, 50.0, 260.0)),
        # Zero variance in both groups: no test statistic.
        (MeanStats(10, 50.0, 250.0), MeanStats(10, 60.0, 360.0)),
    ],
)
def test_analyze__undefined_variance__statistic_p_and_ci_are_none(
    control: MeanStats, test: MeanStats
) -> None:
    result = analyze(contrast(mean_estimate(control), mean_estimate(test)))
    assert (result.statistic, result.p_value, result.absolute_ci) == (None, None, None)
    assert result.relative_ci is None


def test_mean_stats__no_units__mean_and_variance_none() -> None:
    assert (MeanStats(0, 0.0, 0.0).mean, MeanStats(0, 0.0, 0.0).variance) == (None, None)


def test_contrast__zero_control_mean__relative_is_none() -> None:
    c = contrast(GroupEstimate(100, 0.0, 1.0), GroupEstimate(100, 0.5, 1.0))
    result = analyze(c)
    assert c.delta == 0.5
    assert (c.relative, result.relative_ci) == (None, None)
    assert result.p_value is not None


@pytest.mark.parametrize(
    ("dof", "expected"),
    [
        (99.0, float(sps.t.isf(0.025, 99.0))),
        (100.0, float(sps.norm.isf(0.025))),
        (None, float(sps.norm.isf(0.025))),
    ],
)
def test_critical_value__dof__welch_t_only_below_100(dof: float | None, expected: float) -> None:
    assert critical_value(0.05, "two-sided", dof) == pytest.approx(expected, rel=1e-12)


def test_analyze__welch_t__p_matches_scipy_ttest_from_stats() -> None:
    # Given two groups of 20 (nu < 100) with means 1 and 2, variances 1 and 4
    control, test = GroupEstimate(20, 1.0, 1.0), GroupEstimate(20, 2.0, 4.0)
    # When analyzed
    result = analyze(contrast(control, test))
    # Then p equals scipy's Welch test from the same summary statistics
    expected = sps.ttest_ind_from_stats(2.0, 2.0, 20, 1.0, 1.0, 20, equal_var=False)
    assert result.dof is not None
    assert result.p_value == pytest.approx(float(expected.pvalue), rel=1e-12)


def test_fieller_interval__control_indistinguishable_from_zero__none() -> None:
    # g = 1.96^2 x 1/0.1^2 = 384 >= 1
    assert fieller_interval(0.2, 0.1, 1.0, 1.0, 1.959964) is None


def test_fieller_interval__hand_vector__matches_formula() -> None:
    # Given test mean 11, control mean 10, var(mean) 0.25 each, Z = 2
    #   g = 4 x 0.25/100 = 0.01; ratio = 1.1
    #   spread = (2/10) sqrt(1.21 x 0.25 + 0.99 x 0.25) = 0.2 x sqrt(0.55) = 0.148324
    #   CI(ratio) = (1.1 -+ 0.148324)/0.99 = [0.961289, 1.260934]; minus 1
    ci = fieller_interval(11.0, 10.0, 0.25, 0.25, 2.0)
    assert ci is not None
    assert (ci.lower, ci.upper) == pytest.approx((-0.038711, 0.260934), abs=1e-6)


@pytest.mark.parametrize(
    ("method", "half_width"),
    [
        # delta: sqrt(0.25/100 + 121 x 0.25/10^4) = sqrt(0.005525) = 0.074330 x 2 = 0.148661
        ("delta", 0.148661),
        # simplified: sqrt(0.5)/10 x 2 = 0.141421
        ("simplified", 0.141421),
        # fieller: (0.260934 + 0.038711)/2 = 0.149823
        ("fieller", 0.149823),
    ],
)
def test_analyze__relative_method__half_width_by_hand(
    method: RelativeCiMethod, half_width: float
) -> None:
    # Given var(mean) = 0.25 each (variance 25 over 100 units) and a critical value of 2
    c = contrast(GroupEstimate(100, 10.0, 25.0), GroupEstimate(100, 11.0, 25.0))
    alpha = 2 * float(sps.norm.sf(2.0))
    # When analyzed with that method
    result = analyze(c, alpha=alpha, relative_method=method)
    # Then the half-width is the hand-computed one
    assert result.relative_ci is not None
    assert result.relative_ci.half_width == pytest.approx(half_width, abs=1e-6)


@pytest.mark.parametrize(
    ("alternative", "lower_is_none", "upper_is_none"),
    [("increase", False, True), ("decrease", True, False)],
)
def test_analyze__one_sided__one_bound_unbounded(
    alternative: str, lower_is_none: bool, upper_is_none: bool
) -> None:
    c = contrast(GroupEstimate(1000, 10.0, 25.0), GroupEstimate(1000, 10.5, 25.0))
    result = analyze(c, alternative=alternative)  # type: ignore[arg-type]
    assert result.absolute_ci is not None
    assert (result.absolute_ci.lower is None, result.absolute_ci.upper is None) == (
        lower_is_none,
        upper_is_none,
    )
    # Z = 0.5/sqrt(0.05) = 2.236068: increase p = 1 - Phi(Z), decrease p = Phi(Z)
    p_increase = float(sps.norm.sf(2.2360680))
    assert result.p_value == pytest.approx(
        p_increase if alternative == "increase" else 1 - p_increase, rel=1e-6
    )
