"""Pure statistics for Pulse results: from per-group sufficient statistics to deltas, CIs,
p-values, CUPED, sequential tests, corrections, SRM, the Bayesian view and autotune weights.

numpy and scipy only: no I/O, no web or database imports (a test enforces it).
"""

from lockgate.cores.stats.frequentist import (
    Contrast,
    FrequentistResult,
    Interval,
    analyze,
    contrast,
)
from lockgate.cores.stats.pulse import (
    MetricAnalysis,
    PulseSettings,
    analyze_cuped_mean,
    analyze_cuped_ratio,
    analyze_mean,
    analyze_ratio,
    pulse_metric,
)
from lockgate.cores.stats.sufficient import (
    CupedMeanStats,
    CupedRatioStats,
    GroupEstimate,
    MeanStats,
    RatioStats,
)

__all__ = [
    "Contrast",
    "CupedMeanStats",
    "CupedRatioStats",
    "FrequentistResult",
    "GroupEstimate",
    "Interval",
    "MeanStats",
    "MetricAnalysis",
    "PulseSettings",
    "RatioStats",
    "analyze",
    "analyze_cuped_mean",
    "analyze_cuped_ratio",
    "analyze_mean",
    "analyze_ratio",
    "contrast",
    "pulse_metric",
]
