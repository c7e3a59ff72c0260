"""Topline and projected impact of count and sum metrics (docs/statistics.md §Topline impact). CUPED
never applies here, so these take the unadjusted contrast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lockgate.cores.stats.frequentist import Contrast


@dataclass(frozen=True, slots=True)
class ToplineInputs:
    topline: float
    """The metric's observed total over the analysis window, all groups."""
    days: int
    projection_factor: float | None = None
    """m = rollup / Σ_days(layer allocation x group share); `None` skips the projection."""


@dataclass(frozen=True, slots=True)
class ToplineImpact:
    absolute: float
    absolute_se: float
    relative: float | None
    relative_se: float | None
    projected_absolute: float | None
    projected_absolute_se: float | None


def topline_impact(c: Contrast, inputs: ToplineInputs) -> ToplineImpact | None:
    """Impact_abs = Δ·N_t/days; Impact_rel = Impact_abs/(Topline - Impact_abs).

    Statsig documents var(Impact_abs) = var(Δ)·N_t², which is the per-day form; we divide by
    days² so that the SE scales with the point estimate for any window.
    """
    if c.delta is None or c.delta_variance is None or inputs.days < 1:
        return None
    scale = c.test.units / inputs.days
    absolute = c.delta * scale
    absolute_se = math.sqrt(c.delta_variance) * scale
    relative = relative_se = None
    base = inputs.topline - absolute
    if base != 0:
        relative = absolute / base
        relative_se = absolute_se * abs(inputs.topline - 2 * absolute) / base**2
    m = inputs.projection_factor
    return ToplineImpact(
        absolute,
        absolute_se,
        relative,
        relative_se,
        None if m is None else m * absolute,
        None if m is None else m * absolute_se,
    )
