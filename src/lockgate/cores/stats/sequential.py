"""Statsig's sequential testing: the mSPRT-adjusted critical value, CI and p-value of
docs/statistics.md §Sequential testing (Zhao et al. 2019), applied to results computed before the
experiment's target date.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lockgate.cores.stats.frequentist import (
    DEFAULT_ALPHA,
    Alternative,
    Contrast,
    Interval,
    RelativeCiMethod,
    interval,
    relative_interval,
)


@dataclass(frozen=True, slots=True)
class SequentialResult:
    z_star: float
    """The mSPRT critical value that replaces Z_{alpha/2} (or Z_alpha one-sided)."""
    tau: float
    """Mixing parameter τ."""
    sigma: float
    """Z*/Z: how much wider the sequential CI is than the fixed-horizon z CI."""
    p_value: float | None
    absolute_ci: Interval | None
    relative_ci: Interval | None


def msprt_z_star(
    delta_variance: float,
    test_variance: float,
    control_variance: float,
    test_units: int,
    control_units: int,
    *,
    alpha: float = DEFAULT_ALPHA,
    alternative: Alternative = "two-sided",
) -> tuple[float, float] | None:
    """Return (Z*, τ) for V = var(Δ) and the unit-level group variances; `None` if undefined.

    τ = Z²·(var(X_t) + var(X_c))/(N_t + N_c) and
    Z* = √((V+τ)/τ · (-2 ln a - ln(V/(V+τ)))), with a = alpha/2 two-sided, alpha one-sided.
    """
    # Imported on first use (frequentist.critical_value says why).
    from scipy import stats as sps

    a = alpha / 2 if alternative == "two-sided" else alpha
    units = test_units + control_units
    if delta_variance <= 0 or units == 0:
        return None
    tau = float(sps.norm.isf(a)) ** 2 * (test_variance + control_variance) / units
    if tau <= 0:
        return None
    v = delta_variance
    return math.sqrt((v + tau) / tau * (-2 * math.log(a) - math.log(v / (v + tau)))), tau


def sequential(
    c: Contrast,
    *,
    alpha: float = DEFAULT_ALPHA,
    alternative: Alternative = "two-sided",
    relative_method: RelativeCiMethod = "fieller",
) -> SequentialResult | None:
    """mSPRT-adjusted CI and p for a contrast; `None` when the variances are undefined.

    The relative CI uses the same method as the fixed-horizon one with Z* as critical value.
    """
    # Imported on first use (frequentist.critical_value says why).
    from scipy import stats as sps

    v_t, v_c = c.test.variance, c.control.variance
    if c.delta is None or c.delta_variance is None or v_t is None or v_c is None:
        return None
    found = msprt_z_star(
        c.delta_variance,
        v_t,
        v_c,
        c.test.units,
        c.control.units,
        alpha=alpha,
        alternative=alternative,
    )
    if found is None:
        return None
    z_star, tau = found
    # sigma = Z*/(√2·erfinv(1-alpha)) two-sided; both one-sided forms reduce to Z*/Z_alpha.
    z_fixed = float(sps.norm.isf(alpha / 2 if alternative == "two-sided" else alpha))
    sigma = z_star / z_fixed
    se = math.sqrt(c.delta_variance)
    z_scaled = c.delta / se / sigma
    tails = {
        "two-sided": 2 * float(sps.norm.sf(abs(z_scaled))),
        "increase": float(sps.norm.sf(z_scaled)),
        "decrease": float(sps.norm.cdf(z_scaled)),
    }
    return SequentialResult(
        z_star=z_star,
        tau=tau,
        sigma=sigma,
        p_value=tails[alternative],
        absolute_ci=interval(c.delta, se, z_star, alternative),
        relative_ci=relative_interval(c, z_star, relative_method, alternative),
    )
