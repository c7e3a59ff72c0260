"""The cheap half of Pulse: stored per-group sums in, Console API metric objects out, with the
request's groups, confidence, CUPED choice and multiple-comparison corrections.

Count and sum metrics are winsorized by default, as Statsig Cloud does
(docs/statistics.md §Winsorization): a stored metric carries both ``sums`` (raw) and ``cappedSums``
(values above the 99.9th percentile replaced by it), and results read the capped ones unless
``ResultOptions.winsorize`` is off. The Console API has no parameter for it, so the raw sums serve
internal comparisons only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

from lockgate.cores.stats.bayesian import bayesian
from lockgate.cores.stats.corrections import BonferroniPlan, benjamini_hochberg, bonferroni_alpha
from lockgate.cores.stats.frequentist import contrast
from lockgate.cores.stats.pulse import (
    Directionality,
    MetricAnalysis,
    PulseSettings,
    analyze_contrast,
    analyze_cuped_mean,
    analyze_cuped_ratio,
    analyze_mean,
    analyze_ratio,
    bounds,
    pulse_metric,
)
from lockgate.cores.stats.sufficient import (
    CupedMeanStats,
    CupedRatioStats,
    GroupEstimate,
    MeanStats,
    RatioStats,
)

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


# The Bayesian view's own figures (docs/statistics.md §Bayesian view), in percent like
# percentChange. PulseMetric has no field for them: results list them per metric under ``bayesian``.
BAYESIAN_FIELDS = ("chanceToBeat", "expectedLoss")


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
    bh_per_variant: bool = False
    bh_primary_only: bool = False
    test_groups: int = 1
    groups: tuple[str, ...] = ()
    """Every group's name: the variants a per-variant Benjamini-Hochberg family spans."""
    winsorize: bool = True
    bayesian: bool = False


def _mean(s: Mapping[str, float]) -> MeanStats:
    return MeanStats(int(s["n"]), s["sx"], s["sxx"])


def _pre_mean(s: Mapping[str, float]) -> MeanStats:
    return MeanStats(int(s["n"]), s.get("sxp", 0.0), s.get("sxpxp", 0.0))


def _ratio(s: Mapping[str, float], pre: bool = False) -> RatioStats:
    if pre:
        return RatioStats(int(s["n"]), s["sxp"], s["sxpxp"], s["syp"], s["sypyp"], s["sxpyp"])
    return RatioStats(int(s["n"]), s["sx"], s["sxx"], s["sy"], s["syy"], s["sxy"])


def _percentile_analysis(
    estimates: Mapping[str, Any], options: ResultOptions, settings: PulseSettings
) -> MetricAnalysis | None:
    """A warehouse-native percentile metric: each group's percentile and its variance, as
    the pipeline estimated them (docs/warehouse.md §Warehouse-native metrics); no CUPED."""
    control, test = estimates.get(options.control), estimates.get(options.test)
    if control is None or test is None or control["units"] < 2 or test["units"] < 2:
        return None
    found = [GroupEstimate(e["units"], e["value"], e["variance"]) for e in (control, test)]
    return analyze_contrast(contrast(found[0], found[1]), settings)


def _analysis(
    metric: Mapping[str, Any], options: ResultOptions, settings: PulseSettings
) -> MetricAnalysis | None:
    if "percentile" in metric:
        return _percentile_analysis(metric["percentile"], options, settings)
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


def metric_results(document: Mapping[str, Any], options: ResultOptions) -> dict[str, list[Any]]:
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
    if options.bh_per_metric or options.bh_per_variant:
        analyses = _benjamini_hochberg(analyses, options, base)
    out: dict[str, list[Any]] = {"primaryMetrics": [], "secondaryMetrics": [], "otherMetrics": []}
    keys: tuple[tuple[Role, str], ...] = (
        ("primary", "primaryMetrics"),
        ("secondary", "secondaryMetrics"),
    )
    chances: list[dict[str, Any]] = []
    for role, key in keys:
        for metric, analysis in analyses[role]:
            direction = cast(Directionality, metric.get("directionality") or "increase")
            full: Mapping[str, Any] = pulse_metric(
                metric["metricID"], direction, analysis, metric_name=metric.get("metricName")
            )
            if options.bayesian:
                full = bayesian_view(full, analysis, direction, options.confidence)
                chances.append(
                    {"metricID": metric["metricID"]}
                    | {k: full[k] for k in BAYESIAN_FIELDS if k in full}
                )
            out[key].append({k: v for k, v in full.items() if k in API_FIELDS})
    if options.bayesian:
        # PulseMetric allows no other keys; the results object does.
        out["bayesian"] = chances
    return out


# The fields a Bayesian view replaces or drops: no p-value, no sequential testing, no
# frequentist correction.
_FREQUENTIST_ONLY = (
    "pValue", "adjustedAlpha", "sequentialTestingPValue",
    "sequentialTestingConfidenceIntervalDelta", "sequentialTestingConfidenceInterval",
    "percentSequentialTestingConfidenceIntervalDelta",
    "percentSequentialTestingConfidenceInterval",
)  # fmt: skip


def bayesian_view(
    metric: Mapping[str, Any],
    analysis: MetricAnalysis,
    directionality: Directionality,
    confidence: float,
) -> dict[str, Any]:
    """A metric object as Statsig's Bayesian analysis shows it (docs/statistics.md §Bayesian view):
    changes are posterior means and the interval fields credible intervals at ``confidence``; the
    p-value goes, and ``chanceToBeat`` (P(test is better, in the metric's direction)) and
    ``expectedLoss`` (the relative change shipping test costs if it is in fact worse) come, in
    percent. With no informative prior the posterior is the data's own normal likelihood."""
    out = {k: v for k, v in metric.items() if k not in _FREQUENTIST_ONLY}
    credibility = confidence / 100
    absolute = bayesian(analysis.contrast, relative=False, credibility=credibility)
    if absolute is not None:
        out["absoluteChange"] = absolute.mean
        out["confidenceIntervalDelta"] = absolute.credible_interval.half_width
        out["confidenceInterval"] = bounds(absolute.credible_interval, 1.0)
    relative = bayesian(analysis.contrast, relative=True, credibility=credibility)
    if relative is not None:
        out["percentChange"] = relative.mean * 100
        out["percentConfidenceIntervalDelta"] = relative.credible_interval.half_width * 100
        out["percentConfidenceInterval"] = bounds(relative.credible_interval, 100)
        increase = directionality == "increase"
        chance = relative.chance_to_beat if increase else 1 - relative.chance_to_beat
        loss = relative.expected_loss_test if increase else relative.expected_loss_control
        out["chanceToBeat"] = chance * 100
        out["expectedLoss"] = loss * 100
    return out


def _benjamini_hochberg(
    analyses: dict[Role, list[tuple[Mapping[str, Any], MetricAnalysis]]],
    options: ResultOptions,
    base: PulseSettings,
) -> dict[Role, list[tuple[Mapping[str, Any], MetricAnalysis]]]:
    """Re-run the metrics at their Benjamini-Hochberg alpha
    (docs/statistics.md §Multiple comparisons). The family of a metric is every compared metric (per
    metric), every test group's comparison of the metric with control (per variant), or both pooled;
    with ``bh_primary_only`` only primary metrics are corrected."""
    family = [
        (role, metric, analysis)
        for role, items in analyses.items()
        for metric, analysis in items
        if role == "primary" or not options.bh_primary_only
    ]

    def p_values(metric: Mapping[str, Any], analysis: MetricAnalysis) -> list[float]:
        if not options.bh_per_variant:
            found = [analysis.frequentist.p_value]
        else:
            found = []
            for group in options.groups or (options.test,):
                if group == options.control:
                    continue
                other = _analysis(metric, replace(options, test=group), base)
                found.append(None if other is None else other.frequentist.p_value)
        return [p for p in found if p is not None]

    alphas: dict[int, float] = {}
    if options.bh_per_metric:
        pooled = [p for _, metric, analysis in family for p in p_values(metric, analysis)]
        if pooled:
            alpha = benjamini_hochberg(pooled, base.alpha).adjusted_alpha
            alphas = {id(metric): alpha for _, metric, _ in family}
    else:
        for _, metric, analysis in family:
            own = p_values(metric, analysis)
            if own:
                alphas[id(metric)] = benjamini_hochberg(own, base.alpha).adjusted_alpha
    redone: dict[Role, list[tuple[Mapping[str, Any], MetricAnalysis]]] = {
        role: [] for role in analyses
    }
    for role, items in analyses.items():
        for metric, analysis in items:
            corrected = alphas.get(id(metric))
            if corrected is not None:
                settings = replace(base, adjusted_alpha=corrected)
                analysis = _analysis(metric, options, settings) or analysis
            redone[role].append((metric, analysis))
    return redone
