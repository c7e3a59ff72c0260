"""The cheap half of Pulse: stored per-group sums in, Console API metric objects out, with the
request's groups, confidence, CUPED choice and multiple-comparison corrections.

Count and sum metrics are winsorized by default, as Statsig Cloud does (stats.md §1.7): a stored
metric carries both ``sums`` (raw) and ``cappedSums`` (values above the 99.9th percentile
replaced by it), and results read the capped ones unless ``ResultOptions.winsorize`` is off. The
Console API has no parameter for it, so the raw sums serve internal comparisons only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

from lockgate.stats.corrections import BonferroniPlan, benjamini_hochberg, bonferroni_alpha
from lockgate.stats.pulse import (
    Directionality,
    MetricAnalysis,
    PulseSettings,
    analyze_cuped_mean,
    analyze_cuped_ratio,
    analyze_mean,
    analyze_ratio,
    pulse_metric,
)
from lockgate.stats.sufficient import CupedMeanStats, CupedRatioStats, MeanStats, RatioStats

Role = Literal["primary", "secondary"]

# PulseMetric of API version 20240601 allows exactly these keys (additionalProperties: false);
# the interval objects, sequential p-value and adjusted alpha came with a later version.
API_FIELDS = frozenset(
    {
        "metricID", "metricName", "directionality", "absoluteChange", "confidenceIntervalDelta",
        "percentChange", "sequentialTestingConfidenceIntervalDelta",
        "percentConfidenceIntervalDelta", "percentSequentialTestingConfidenceIntervalDelta",
        "testMean", "controlMean", "testStd", "controlStd", "testUnits", "controlUnits", "pValue",
        "absoluteToplineImpact", "absoluteToplineImpactDelta", "relativeToplineImpact",
        "relativeToplineImpactDelta", "projectedAbsoluteToplineImpact",
        "projectedAbsoluteToplineImpactDelta", "projectedRelativeToplineImpact",
        "projectedRelativeToplineImpactDelta",
    }
)  # fmt: skip


@dataclass(frozen=True)
class ResultOptions:
    control: str  # group name
    test: str
    cuped: bool = True
    confidence: float = 95.0
    sequential: bool = False
    bonferroni_per_variant: bool = False
    bonferroni_per_metric: bool = False
    primary_weight: float | None = None
    bh_per_metric: bool = False
    test_groups: int = 1
    winsorize: bool = True


def _mean(s: Mapping[str, float]) -> MeanStats:
    return MeanStats(int(s["n"]), s["sx"], s["sxx"])


def _pre_mean(s: Mapping[str, float]) -> MeanStats:
    return MeanStats(int(s["n"]), s.get("sxp", 0.0), s.get("sxpxp", 0.0))


def _ratio(s: Mapping[str, float], pre: bool = False) -> RatioStats:
    if pre:
        return RatioStats(int(s["n"]), s["sxp"], s["sxpxp"], s["syp"], s["sypyp"], s["sxpyp"])
    return RatioStats(int(s["n"]), s["sx"], s["sxx"], s["sy"], s["syy"], s["sxy"])


def _analysis(
    metric: Mapping[str, Any], options: ResultOptions, settings: PulseSettings
) -> MetricAnalysis | None:
    sums = (metric.get("cappedSums") if options.winsorize else None) or metric.get("sums") or {}
    control, test = sums.get(options.control), sums.get(options.test)
    if control is None or test is None or control["n"] < 2 or test["n"] < 2:
        return None
    with_pre = "sxp" in control and "sxp" in test
    if metric.get("ratio"):
        if options.cuped and with_pre and "syp" in control:
            return analyze_cuped_ratio(_cuped_ratio(control), _cuped_ratio(test), settings)
        return analyze_ratio(_ratio(control), _ratio(test), settings)
    if options.cuped and with_pre:
        return analyze_cuped_mean(_cuped_mean(control), _cuped_mean(test), settings)
    return analyze_mean(_mean(control), _mean(test), settings)


def _cuped_mean(s: Mapping[str, float]) -> CupedMeanStats:
    return CupedMeanStats(_mean(s), _pre_mean(s), s["sxxp"], int(s.get("with_pre", 0)))


def _cuped_ratio(s: Mapping[str, float]) -> CupedRatioStats:
    return CupedRatioStats(
        _ratio(s),
        _ratio(s, pre=True),
        s["sxxp"],
        s["sxyp"],
        s["syxp"],
        s["syyp"],
        int(s.get("with_pre", 0)),
    )


def scorecard(document: Mapping[str, Any], options: ResultOptions) -> dict[str, list[Any]]:
    """{primaryMetrics, secondaryMetrics, otherMetrics} for one control/test comparison."""
    metrics = [m for m in document.get("metrics") or [] if "sums" in m]
    roles: dict[Role, list[Mapping[str, Any]]] = {
        "primary": [m for m in metrics if m.get("role") == "primary"],
        "secondary": [m for m in metrics if m.get("role") == "secondary"],
    }
    plan = BonferroniPlan(
        test_groups=options.test_groups,
        per_variant=options.bonferroni_per_variant,
        per_metric=options.bonferroni_per_metric,
        primary_metrics=len(roles["primary"]),
        secondary_metrics=len(roles["secondary"]),
        primary_weight=options.primary_weight,
    )
    base = PulseSettings(confidence=options.confidence, sequential=options.sequential)
    corrected = options.bonferroni_per_variant or options.bonferroni_per_metric
    analyses: dict[Role, list[tuple[Mapping[str, Any], MetricAnalysis]]] = {}
    for role, members in roles.items():
        alpha = bonferroni_alpha(base.alpha, plan, role)
        settings = replace(base, adjusted_alpha=alpha) if corrected else base
        found = []
        for metric in members:
            analysis = _analysis(metric, options, settings)
            if analysis is not None:
                found.append((metric, analysis))
        analyses[role] = found
    if options.bh_per_metric:
        analyses = _benjamini_hochberg(analyses, options, base)
    out: dict[str, list[Any]] = {"primaryMetrics": [], "secondaryMetrics": [], "otherMetrics": []}
    keys: tuple[tuple[Role, str], ...] = (
        ("primary", "primaryMetrics"),
        ("secondary", "secondaryMetrics"),
    )
    for role, key in keys:
        for metric, analysis in analyses[role]:
            full = pulse_metric(
                metric["metricID"],
                cast(Directionality, metric.get("directionality") or "increase"),
                analysis,
                metric_name=metric.get("metricName"),
            )
            out[key].append({k: v for k, v in full.items() if k in API_FIELDS})
    return out


def _benjamini_hochberg(
    analyses: dict[Role, list[tuple[Mapping[str, Any], MetricAnalysis]]],
    options: ResultOptions,
    base: PulseSettings,
) -> dict[Role, list[tuple[Mapping[str, Any], MetricAnalysis]]]:
    """Re-run every metric at the Benjamini-Hochberg alpha of the whole scorecard."""
    family = [(role, m, a) for role, items in analyses.items() for m, a in items]
    p_values = [a.frequentist.p_value for _, _, a in family if a.frequentist.p_value is not None]
    if not p_values:
        return analyses
    alpha = benjamini_hochberg(p_values, base.alpha).adjusted_alpha
    settings = replace(base, adjusted_alpha=alpha)
    redone: dict[Role, list[tuple[Mapping[str, Any], MetricAnalysis]]] = {
        "primary": [],
        "secondary": [],
    }
    for role, metric, _ in family:
        analysis = _analysis(metric, options, settings)
        if analysis is not None:
            redone[role].append((metric, analysis))
    return redone
