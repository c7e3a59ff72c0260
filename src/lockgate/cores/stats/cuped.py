"""CUPED variance reduction for mean and ratio metrics (docs/statistics.md §CUPED): θ from pooled
data, Statsig's control-anchored mean shift, the delta-method variances, and the rules deciding
whether the adjusted result is used at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from lockgate.cores.stats.frequentist import Contrast, contrast, welch_dof
from lockgate.cores.stats.sufficient import (
    CupedMeanStats,
    CupedRatioStats,
    GroupEstimate,
    mean_estimate,
    ratio_estimate,
)

# Statsig applies CUPED only when *more than* this many units, and *more than* this share of
# all units, have pre-period data.
MIN_UNITS_WITH_PRE = 100
MIN_SHARE_WITH_PRE = 0.05

CupedReason = Literal[
    "applied",
    "too_few_units_with_pre",
    "too_small_share_with_pre",
    "no_variance_reduction",
    "undefined",
]


@dataclass(frozen=True, slots=True)
class CupedMoments:
    """One group's post value Y and pre covariate X as unit-level moments.

    For ratio metrics these are the moments of the linearised unit values, so var/N is the
    delta-method variance of the group ratio.
    """

    units: int
    units_with_pre: int
    post_mean: float
    pre_mean: float
    post_variance: float
    pre_variance: float
    covariance: float

    def adjusted_variance(self, theta: float) -> float:
        """var(Y - θX) = var(Y) + θ²var(X) - 2θcov(Y, X), clamped against rounding."""
        return max(
            self.post_variance + theta**2 * self.pre_variance - 2 * theta * self.covariance, 0.0
        )


@dataclass(frozen=True, slots=True)
class CupedResult:
    """`contrast` is the one to report: adjusted when `applied`, otherwise the unadjusted one."""

    theta: float | None
    applied: bool
    reason: CupedReason
    contrast: Contrast
    adjusted: Contrast | None
    unadjusted: Contrast
    variance_reduction: float | None
    """1 - var_adjusted(Δ)/var(Δ)."""


def mean_moments(stats: CupedMeanStats) -> CupedMoments | None:
    var_y, var_x, cov = stats.post.variance, stats.pre.variance, stats.covariance
    mean_y, mean_x = stats.post.mean, stats.pre.mean
    if var_y is None or var_x is None or cov is None or mean_y is None or mean_x is None:
        return None
    return CupedMoments(stats.post.n, stats.units_with_pre, mean_y, mean_x, var_y, var_x, cov)


def ratio_moments(stats: CupedRatioStats) -> CupedMoments | None:
    """Moments of the linearised Y/μ_N - μ_Y·N/μ_N² and X/μ_M - μ_X·M/μ_M²
    (docs/statistics.md §CUPED)."""
    cov = stats.covariance_matrix()
    r_post, r_pre = stats.post.ratio, stats.pre.ratio
    if cov is None or r_post is None or r_pre is None:
        return None
    n = stats.post.n
    mu_n, mu_m = stats.post.den_total / n, stats.pre.den_total / n
    grad_post = np.array([1 / mu_n, -r_post / mu_n, 0.0, 0.0])
    grad_pre = np.array([0.0, 0.0, 1 / mu_m, -r_pre / mu_m])
    return CupedMoments(
        units=n,
        units_with_pre=stats.units_with_pre,
        post_mean=r_post,
        pre_mean=r_pre,
        post_variance=max(float(grad_post @ cov @ grad_post), 0.0),
        pre_variance=max(float(grad_pre @ cov @ grad_pre), 0.0),
        covariance=float(grad_post @ cov @ grad_pre),
    )


def mean_theta(control: CupedMeanStats, test: CupedMeanStats) -> float | None:
    """θ = Cov(Y, X)/Var(X) over the units of both groups pooled around the grand mean."""
    pooled = control + test
    cov, var_x = pooled.covariance, pooled.pre.variance
    if cov is None or not var_x:
        return None
    return cov / var_x


def ratio_theta(control: CupedMoments, test: CupedMoments) -> float | None:
    """θ = Σ_g Cov_g / Σ_g Var_g over linearised values (each group centred on its own ratio)."""
    var_sum = control.pre_variance + test.pre_variance
    if var_sum == 0:
        return None
    return (control.covariance + test.covariance) / var_sum


def _relative_variance(control: CupedMoments, test: CupedMoments, theta: float) -> float:
    """Delta-method variance of (Ȳ_t - θX̄_t + θX̄_c)/Ȳ_c with the full gradient.

    The test group enters only through its adjusted mean; the control group enters through Ȳ_c
    in the denominator and X̄_c in the numerator, which are correlated.
    """
    y_c, x_c = control.post_mean, control.pre_mean
    shifted_test = test.post_mean - theta * test.pre_mean + theta * x_c
    test_part = test.adjusted_variance(theta) / (test.units * y_c**2)
    grad = np.array([-shifted_test / y_c**2, theta / y_c])
    cov_c = np.array(
        [
            [control.post_variance, control.covariance],
            [control.covariance, control.pre_variance],
        ]
    )
    return test_part + float(grad @ cov_c @ grad) / control.units


def adjusted_contrast(control: CupedMoments, test: CupedMoments, theta: float) -> Contrast:
    """Statsig's convention: control mean unadjusted, test mean Ȳ_t - θ(X̄_t - X̄_c)."""
    control_est = GroupEstimate(control.units, control.post_mean, control.adjusted_variance(theta))
    test_mean = test.post_mean - theta * (test.pre_mean - control.pre_mean)
    test_est = GroupEstimate(test.units, test_mean, test.adjusted_variance(theta))
    delta = test_mean - control.post_mean
    v_t, v_c = test_est.mean_variance, control_est.mean_variance
    delta_variance = None if v_t is None or v_c is None else v_t + v_c
    relative = relative_variance = None
    if control.post_mean != 0:
        relative = delta / control.post_mean
        relative_variance = _relative_variance(control, test, theta)
    return Contrast(
        control_est,
        test_est,
        delta,
        delta_variance,
        relative,
        relative_variance,
        welch_dof(test_est, control_est),
    )


def decide(
    control: CupedMoments, test: CupedMoments, adjusted: Contrast, unadjusted: Contrast
) -> CupedReason:
    """Statsig's applicability rules. E[X̂] = E[X] holds by construction of the mean shift."""
    with_pre = control.units_with_pre + test.units_with_pre
    total = control.units + test.units
    if with_pre <= MIN_UNITS_WITH_PRE:
        return "too_few_units_with_pre"
    if with_pre <= MIN_SHARE_WITH_PRE * total:
        return "too_small_share_with_pre"
    if (
        adjusted.delta_variance is None
        or unadjusted.delta_variance is None
        or not adjusted.delta_variance < unadjusted.delta_variance
    ):
        return "no_variance_reduction"
    return "applied"


def _result(
    control: CupedMoments | None,
    test: CupedMoments | None,
    theta: float | None,
    unadjusted: Contrast,
) -> CupedResult:
    if control is None or test is None or theta is None or not math.isfinite(theta):
        return CupedResult(theta, False, "undefined", unadjusted, None, unadjusted, None)
    adjusted = adjusted_contrast(control, test, theta)
    reason = decide(control, test, adjusted, unadjusted)
    reduction = None
    if adjusted.delta_variance is not None and unadjusted.delta_variance:
        reduction = 1 - adjusted.delta_variance / unadjusted.delta_variance
    chosen = adjusted if reason == "applied" else unadjusted
    return CupedResult(theta, reason == "applied", reason, chosen, adjusted, unadjusted, reduction)


def cuped_mean(control: CupedMeanStats, test: CupedMeanStats) -> CupedResult:
    unadjusted = contrast(mean_estimate(control.post), mean_estimate(test.post))
    return _result(mean_moments(control), mean_moments(test), mean_theta(control, test), unadjusted)


def cuped_ratio(control: CupedRatioStats, test: CupedRatioStats) -> CupedResult:
    unadjusted = contrast(ratio_estimate(control.post), ratio_estimate(test.post))
    c, t = ratio_moments(control), ratio_moments(test)
    theta = None if c is None or t is None else ratio_theta(c, t)
    return _result(c, t, theta, unadjusted)
