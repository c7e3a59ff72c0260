"""One metric's Pulse analysis end to end, and the PulseMetric-shaped dict of the Console API
(docs/statistics.md §Metric objects): every field with a published definition is filled, the others
are omitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lockgate.cores.stats.cuped import CupedResult, cuped_mean, cuped_ratio
from lockgate.cores.stats.frequentist import (
    Alternative,
    Contrast,
    FrequentistResult,
    Interval,
    RelativeCiMethod,
    analyze,
    contrast,
)
from lockgate.cores.stats.sequential import SequentialResult, sequential
from lockgate.cores.stats.sufficient import (
    CupedMeanStats,
    CupedRatioStats,
    MeanStats,
    RatioStats,
    mean_estimate,
    ratio_estimate,
)
from lockgate.cores.stats.topline import ToplineImpact, ToplineInputs, topline_impact
from lockgate.documents.pulse import Bounds, PulseMetric
from lockgate.documents.pulse import Directionality as Directionality

# The metric object's optional number fields, and its interval fields.
NumberField = Literal[
    "absoluteChange",
    "confidenceIntervalDelta",
    "percentChange",
    "percentConfidenceIntervalDelta",
    "sequentialTestingConfidenceIntervalDelta",
    "percentSequentialTestingConfidenceIntervalDelta",
    "sequentialTestingPValue",
    "testMean",
    "controlMean",
    "testStd",
    "controlStd",
    "pValue",
    "adjustedAlpha",
    "absoluteToplineImpact",
    "absoluteToplineImpactDelta",
    "relativeToplineImpact",
    "relativeToplineImpactDelta",
    "projectedAbsoluteToplineImpact",
    "projectedAbsoluteToplineImpactDelta",
]
IntervalField = Literal[
    "confidenceInterval",
    "percentConfidenceInterval",
    "sequentialTestingConfidenceInterval",
    "percentSequentialTestingConfidenceInterval",
]


@dataclass(frozen=True, slots=True)
class PulseSettings:
    confidence: float = 95.0
    """Percent, 0-100, as the API's `confidence` parameter takes it."""
    adjusted_alpha: float | None = None
    """alpha after Bonferroni/BH; when set it replaces 1 - confidence and is reported."""
    alternative: Alternative = "two-sided"
    relative_method: RelativeCiMethod = "fieller"
    sequential: bool = False
    """Apply the mSPRT adjustment: only while sequential testing is on, before the target date."""

    @property
    def alpha(self) -> float:
        if self.adjusted_alpha is not None:
            return self.adjusted_alpha
        return 1 - self.confidence / 100


@dataclass(frozen=True, slots=True)
class MetricAnalysis:
    contrast: Contrast
    frequentist: FrequentistResult
    sequential: SequentialResult | None
    cuped: CupedResult | None
    topline: ToplineImpact | None
    settings: PulseSettings


def analyze_contrast(
    c: Contrast,
    settings: PulseSettings,
    *,
    cuped: CupedResult | None = None,
    topline: ToplineImpact | None = None,
) -> MetricAnalysis:
    alpha, alternative, method = settings.alpha, settings.alternative, settings.relative_method
    fixed = analyze(c, alpha=alpha, alternative=alternative, relative_method=method)
    seq = None
    if settings.sequential:
        seq = sequential(c, alpha=alpha, alternative=alternative, relative_method=method)
    return MetricAnalysis(c, fixed, seq, cuped, topline, settings)


def analyze_mean(
    control: MeanStats,
    test: MeanStats,
    settings: PulseSettings,
    topline: ToplineInputs | None = None,
) -> MetricAnalysis:
    c = contrast(mean_estimate(control), mean_estimate(test))
    impact = None if topline is None else topline_impact(c, topline)
    return analyze_contrast(c, settings, topline=impact)


def analyze_ratio(control: RatioStats, test: RatioStats, settings: PulseSettings) -> MetricAnalysis:
    return analyze_contrast(contrast(ratio_estimate(control), ratio_estimate(test)), settings)


def analyze_cuped_mean(
    control: CupedMeanStats,
    test: CupedMeanStats,
    settings: PulseSettings,
    topline: ToplineInputs | None = None,
) -> MetricAnalysis:
    result = cuped_mean(control, test)
    # Topline impact never uses CUPED (docs/statistics.md §Topline impact).
    impact = None if topline is None else topline_impact(result.unadjusted, topline)
    return analyze_contrast(result.contrast, settings, cuped=result, topline=impact)


def analyze_cuped_ratio(
    control: CupedRatioStats, test: CupedRatioStats, settings: PulseSettings
) -> MetricAnalysis:
    result = cuped_ratio(control, test)
    return analyze_contrast(result.contrast, settings, cuped=result)


def bounds(ci: Interval, scale: float = 1.0) -> Bounds:
    """An interval as the API's {lower, upper}, times ``scale`` (100 for percent)."""
    return {
        "lower": None if ci.lower is None else ci.lower * scale,
        "upper": None if ci.upper is None else ci.upper * scale,
    }


def _put(out: PulseMetric, key: NumberField, value: float | None) -> None:
    if value is not None:
        out[key] = value


def _put_ci(
    out: PulseMetric,
    delta_key: NumberField,
    ci_key: IntervalField,
    ci: Interval | None,
    scale: float,
) -> None:
    if ci is not None:
        out[delta_key] = ci.half_width * scale
        out[ci_key] = bounds(ci, scale)


def pulse_metric(
    metric_id: str,
    directionality: Directionality,
    analysis: MetricAnalysis,
    *,
    metric_name: str | None = None,
) -> PulseMetric:
    """The Console API metric object; relative fields are in percent, "Std" fields are SEs."""
    c, fixed = analysis.contrast, analysis.frequentist
    out: PulseMetric = {
        "metricID": metric_id,
        "metricName": metric_name if metric_name is not None else metric_id.split("::")[0],
        "directionality": directionality,
    }
    _put(out, "absoluteChange", c.delta)
    _put_ci(out, "confidenceIntervalDelta", "confidenceInterval", fixed.absolute_ci, 1.0)
    _put(out, "percentChange", None if c.relative is None else c.relative * 100)
    _put_ci(
        out, "percentConfidenceIntervalDelta", "percentConfidenceInterval", fixed.relative_ci, 100
    )
    seq = analysis.sequential
    if seq is not None:
        _put_ci(
            out,
            "sequentialTestingConfidenceIntervalDelta",
            "sequentialTestingConfidenceInterval",
            seq.absolute_ci,
            1.0,
        )
        _put_ci(
            out,
            "percentSequentialTestingConfidenceIntervalDelta",
            "percentSequentialTestingConfidenceInterval",
            seq.relative_ci,
            100,
        )
        _put(out, "sequentialTestingPValue", seq.p_value)
    _put(out, "testMean", c.test.mean)
    _put(out, "controlMean", c.control.mean)
    _put(out, "testStd", c.test.standard_error)
    _put(out, "controlStd", c.control.standard_error)
    out["testUnits"] = c.test.units
    out["controlUnits"] = c.control.units
    _put(out, "pValue", fixed.p_value)
    _put(out, "adjustedAlpha", analysis.settings.adjusted_alpha)
    impact = analysis.topline
    if impact is not None:
        crit = fixed.critical_value
        _put(out, "absoluteToplineImpact", impact.absolute)
        _put(out, "absoluteToplineImpactDelta", crit * impact.absolute_se)
        # Relative topline fields follow percentChange and are in percent.
        if impact.relative is not None and impact.relative_se is not None:
            out["relativeToplineImpact"] = impact.relative * 100
            out["relativeToplineImpactDelta"] = crit * impact.relative_se * 100
        _put(out, "projectedAbsoluteToplineImpact", impact.projected_absolute)
        if impact.projected_absolute_se is not None:
            out["projectedAbsoluteToplineImpactDelta"] = crit * impact.projected_absolute_se
    return out
