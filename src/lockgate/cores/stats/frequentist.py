"""Fixed-horizon frequentist comparison of a test group against control
(docs/statistics.md §Deltas to §Confidence intervals): deltas, unpooled variance, z-test with Welch
t below 100 degrees of freedom, CIs and p-values.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from lockgate.cores.stats.sufficient import GroupEstimate

Alternative = Literal["two-sided", "increase", "decrease"]
RelativeCiMethod = Literal["fieller", "delta", "simplified"]

# Statsig switches from z to Welch's t only when the Welch-Satterthwaite nu falls below this.
WELCH_DOF_THRESHOLD = 100.0
DEFAULT_ALPHA = 0.05


@dataclass(frozen=True, slots=True)
class Interval:
    """A confidence interval; a `None` bound is unbounded (one-sided tests)."""

    lower: float | None
    upper: float | None
    half_width: float


@dataclass(frozen=True, slots=True)
class Contrast:
    """Test minus control, with the variances the tests need.

    `relative` is (test - control)/control as a fraction. `dof` is the Welch-Satterthwaite nu.
    """

    control: GroupEstimate
    test: GroupEstimate
    delta: float | None
    delta_variance: float | None
    relative: float | None
    relative_variance: float | None
    dof: float | None


@dataclass(frozen=True, slots=True)
class FrequentistResult:
    contrast: Contrast
    alpha: float
    alternative: Alternative
    statistic: float | None
    dof: float | None
    """Degrees of freedom of the t distribution used, `None` when the z-test was used."""
    critical_value: float
    p_value: float | None
    absolute_ci: Interval | None
    relative_ci: Interval | None


def welch_dof(test: GroupEstimate, control: GroupEstimate) -> float | None:
    """nu = (v_t + v_c)² / (v_t²/(N_t-1) + v_c²/(N_c-1)) with v = var(X̄)."""
    v_t, v_c = test.mean_variance, control.mean_variance
    if v_t is None or v_c is None or test.units < 2 or control.units < 2:
        return None
    denominator = v_t * v_t / (test.units - 1) + v_c * v_c / (control.units - 1)
    if denominator == 0:
        return None
    return (v_t + v_c) ** 2 / denominator


def contrast(control: GroupEstimate, test: GroupEstimate) -> Contrast:
    """Contrast of two independent groups; the relative variance is the delta method
    (docs/statistics.md §Confidence intervals)."""
    m_c, m_t = control.mean, test.mean
    v_c, v_t = control.mean_variance, test.mean_variance
    delta = None if m_c is None or m_t is None else m_t - m_c
    delta_variance = None if v_c is None or v_t is None else v_t + v_c
    relative = relative_variance = None
    if delta is not None and m_c:
        assert m_t is not None
        relative = delta / m_c
        if v_c is not None and v_t is not None:
            relative_variance = v_t / m_c**2 + m_t**2 * v_c / m_c**4
    return Contrast(
        control, test, delta, delta_variance, relative, relative_variance, welch_dof(test, control)
    )


def _uses_t(dof: float | None) -> bool:
    return dof is not None and dof < WELCH_DOF_THRESHOLD


def critical_value(alpha: float, alternative: Alternative, dof: float | None = None) -> float:
    """Z_{alpha/2} (two-sided) or Z_alpha (one-sided); the t quantile when nu < 100."""
    # Imported on first use: scipy.stats takes about a second to import, which every
    # server and CLI process would pay at start for Pulse, which most never run.
    from scipy import stats as sps

    tail = alpha / 2 if alternative == "two-sided" else alpha
    if _uses_t(dof):
        return float(sps.t.isf(tail, dof))
    return float(sps.norm.isf(tail))


def p_value(statistic: float, alternative: Alternative, dof: float | None = None) -> float:
    # Imported on first use (frequentist.critical_value says why).
    from scipy import stats as sps

    def survival(x: float) -> float:
        return float(sps.t.sf(x, dof)) if _uses_t(dof) else float(sps.norm.sf(x))

    tails: dict[Alternative, Callable[[], float]] = {
        "two-sided": lambda: 2.0 * survival(abs(statistic)),
        "increase": lambda: survival(statistic),
        "decrease": lambda: survival(-statistic),
    }
    return tails[alternative]()


def interval(point: float, se: float, crit: float, alternative: Alternative) -> Interval:
    half = crit * se
    lower = None if alternative == "decrease" else point - half
    upper = None if alternative == "increase" else point + half
    return Interval(lower, upper, half)


def fieller_interval(
    test_mean: float,
    control_mean: float,
    test_mean_variance: float,
    control_mean_variance: float,
    crit: float,
    alternative: Alternative = "two-sided",
) -> Interval | None:
    """Fieller CI of test/control - 1 (docs/statistics.md §Confidence intervals); `None` when g ≥ 1
    (control ≈ 0)."""
    if control_mean == 0:
        return None
    g = crit**2 * control_mean_variance / control_mean**2
    if g >= 1:
        return None
    ratio = test_mean / control_mean
    spread = (crit / abs(control_mean)) * math.sqrt(
        ratio**2 * control_mean_variance + (1 - g) * test_mean_variance
    )
    lower = (ratio - spread) / (1 - g) - 1
    upper = (ratio + spread) / (1 - g) - 1
    point = ratio - 1
    one_sided: dict[Alternative, Callable[[], Interval]] = {
        "two-sided": lambda: Interval(lower, upper, (upper - lower) / 2),
        "increase": lambda: Interval(lower, None, point - lower),
        "decrease": lambda: Interval(None, upper, upper - point),
    }
    return one_sided[alternative]()


def relative_interval(
    c: Contrast, crit: float, method: RelativeCiMethod, alternative: Alternative
) -> Interval | None:
    """Relative CI (as a fraction) by Fieller, the delta method, or abs-CI/control mean."""
    if c.relative is None:
        return None
    m_c = c.control.mean
    assert m_c is not None
    if method == "delta":
        if c.relative_variance is None:
            return None
        return interval(c.relative, math.sqrt(c.relative_variance), crit, alternative)
    if method == "simplified":
        if c.delta_variance is None:
            return None
        return interval(c.relative, math.sqrt(c.delta_variance) / abs(m_c), crit, alternative)
    m_t, v_t, v_c = c.test.mean, c.test.mean_variance, c.control.mean_variance
    if m_t is None or v_t is None or v_c is None:
        return None
    return fieller_interval(m_t, m_c, v_t, v_c, crit, alternative)


def analyze(
    c: Contrast,
    *,
    alpha: float = DEFAULT_ALPHA,
    alternative: Alternative = "two-sided",
    relative_method: RelativeCiMethod = "fieller",
) -> FrequentistResult:
    """CI and p of the absolute delta (z, or Welch t when nu < 100) plus the relative CI.

    The p-value is always that of the absolute delta, as Statsig reports it.
    """
    dof = c.dof if _uses_t(c.dof) else None
    crit = critical_value(alpha, alternative, dof)
    statistic = p = abs_ci = rel_ci = None
    if c.delta is not None and c.delta_variance is not None and c.delta_variance > 0:
        se = math.sqrt(c.delta_variance)
        statistic = c.delta / se
        p = p_value(statistic, alternative, dof)
        abs_ci = interval(c.delta, se, crit, alternative)
        rel_ci = relative_interval(c, crit, relative_method, alternative)
    return FrequentistResult(c, alpha, alternative, statistic, dof, crit, p, abs_ci, rel_ci)
