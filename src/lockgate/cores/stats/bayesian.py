"""Statsig's Bayesian view (docs/statistics.md §Bayesian view): a normal-normal update of the
treatment effect with an optional prior on the relative effect, giving a credible interval, chance
to beat and expected loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lockgate.cores.stats.frequentist import Contrast, Interval


@dataclass(frozen=True, slots=True)
class GaussianPrior:
    """Prior N(mean, sd²) on the relative effect (fractions: 0.01 is +1%)."""

    mean: float
    sd: float


@dataclass(frozen=True, slots=True)
class BayesianResult:
    relative: bool
    """Whether the effect below is relative (a fraction of the control mean) or absolute."""
    mean: float
    sd: float
    credible_interval: Interval
    chance_to_beat: float
    """P(effect > threshold) under the posterior."""
    expected_loss_test: float
    """E[max(-effect, 0)]: what shipping test costs if it is in fact worse."""
    expected_loss_control: float
    """E[max(effect, 0)]: what keeping control costs if test is in fact better."""


def posterior(
    effect: float, standard_error: float, prior: GaussianPrior | None
) -> tuple[float, float]:
    """Precision-weighted mean and sd; no prior means N(0, ∞), so the data pass through."""
    if prior is None:
        return effect, standard_error
    precision_prior = 1 / prior.sd**2
    precision_data = 1 / standard_error**2
    precision = precision_prior + precision_data
    mean = (prior.mean * precision_prior + effect * precision_data) / precision
    return mean, math.sqrt(1 / precision)


def bayesian(
    c: Contrast,
    *,
    relative: bool = False,
    prior: GaussianPrior | None = None,
    credibility: float = 0.95,
    threshold: float = 0.0,
) -> BayesianResult | None:
    """Posterior of the absolute or relative effect; `None` when its variance is undefined.

    The prior is on the relative effect; for an absolute analysis it is scaled by |control mean|.
    """
    # Imported on first use (frequentist.critical_value says why).
    from scipy import stats as sps

    effect, variance = (
        (c.relative, c.relative_variance) if relative else (c.delta, c.delta_variance)
    )
    if effect is None or variance is None or variance <= 0:
        return None
    if prior is not None and not relative:
        if not c.control.mean:
            return None
        scale = abs(c.control.mean)
        prior = GaussianPrior(prior.mean * scale, prior.sd * scale)
    mean, sd = posterior(effect, math.sqrt(variance), prior)
    half = float(sps.norm.isf((1 - credibility) / 2)) * sd
    ratio = mean / sd
    density = float(sps.norm.pdf(ratio))
    return BayesianResult(
        relative=relative,
        mean=mean,
        sd=sd,
        credible_interval=Interval(mean - half, mean + half, half),
        chance_to_beat=float(sps.norm.sf((threshold - mean) / sd)),
        expected_loss_test=sd * density - mean * float(sps.norm.cdf(-ratio)),
        expected_loss_control=sd * density + mean * float(sps.norm.cdf(ratio)),
    )
