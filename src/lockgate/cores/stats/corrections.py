"""Multiple-comparison corrections as Statsig applies them
(docs/statistics.md §Multiple comparisons): Bonferroni alpha splitting per variant, per metric
(primary/secondary weights) and per dimension, and Benjamini-Hochberg.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

MetricRole = Literal["primary", "secondary"]


@dataclass(frozen=True, slots=True)
class BonferroniPlan:
    """How alpha is split. Counts are those of the metrics being corrected."""

    test_groups: int = 1
    per_variant: bool = False
    per_metric: bool = False
    primary_metrics: int = 0
    secondary_metrics: int = 0
    primary_weight: float | None = None
    """Share w of alpha for primary metrics; `None` splits alpha evenly over all metrics."""
    dimension_values: int | None = None
    """Values of the dimension being broken down (only inside a breakdown)."""


def bonferroni_alpha(alpha: float, plan: BonferroniPlan, role: MetricRole) -> float:
    """alpha after the enabled corrections, which combine multiplicatively.

    alpha_primary = w·alpha/#primary and alpha_secondary = (1-w)·alpha/#secondary. When one
    role has no metrics, the other keeps the whole alpha: there is nobody to give the share to.
    """
    adjusted = alpha
    if plan.per_variant and plan.test_groups > 1:
        adjusted /= plan.test_groups
    if plan.per_metric:
        adjusted *= _metric_share(plan, role)
        if plan.dimension_values and plan.dimension_values > 1:
            adjusted /= plan.dimension_values
    return adjusted


def _metric_share(plan: BonferroniPlan, role: MetricRole) -> float:
    own = plan.primary_metrics if role == "primary" else plan.secondary_metrics
    other = plan.secondary_metrics if role == "primary" else plan.primary_metrics
    own = max(own, 1)
    if plan.primary_weight is None:
        return 1.0 / (own + other)
    if other == 0:
        return 1.0 / own
    weight = plan.primary_weight if role == "primary" else 1.0 - plan.primary_weight
    return weight / own


@dataclass(frozen=True, slots=True)
class BenjaminiHochbergResult:
    adjusted_alpha: float
    """The alpha every comparison in the family is judged (and its CI drawn) at."""
    significant: tuple[bool, ...]
    """In the order the p-values were given."""


def benjamini_hochberg(p_values: Sequence[float], q: float) -> BenjaminiHochbergResult:
    """BH at FDR q: the new alpha is the largest k·q/m with p_(k) ≤ k·q/m.

    With no discovery the new alpha is q/m, the rank-1 threshold, which no p-value reached.
    """
    m = len(p_values)
    if m == 0:
        return BenjaminiHochbergResult(q, ())
    ranked = sorted(p_values)
    adjusted = q / m
    for k, p in enumerate(ranked, start=1):
        threshold = k * q / m
        if p <= threshold:
            adjusted = threshold
    return BenjaminiHochbergResult(adjusted, tuple(p <= adjusted for p in p_values))
