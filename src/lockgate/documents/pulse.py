"""Pulse results: the metric objects the Console API returns for experiments, gate rules and
holdouts, and the per-group sums a Pulse load stores for them.

A result metric holds every field of the API's ``PulseMetric`` that has a published definition
(relative figures in percent, "Std" fields standard errors), plus the interval objects, the
sequential p-value and the adjusted alpha that later API versions added; the Bayesian view
swaps p-values for ``chanceToBeat`` and ``expectedLoss``. Fields that are undefined for the data
(no variance, no units) are left out rather than null.
"""

from typing import Literal, NotRequired, TypedDict

Directionality = Literal["increase", "decrease"]

# A group's sufficient statistics under their short names: n, sx, sxx, sy, syy, sxy, the
# pre-exposure sxp, sxpxp, sxxp..., nonzero (units with a non-zero value), with_pre.
GroupSums = dict[str, float]


class Bounds(TypedDict):
    """A confidence (or credible) interval as the API writes it; an unbounded side is null."""

    lower: float | None
    upper: float | None


class PulseMetric(TypedDict):
    """One metric of a comparison between a test group and control."""

    metricID: str
    metricName: str
    directionality: Directionality
    absoluteChange: NotRequired[float]
    confidenceIntervalDelta: NotRequired[float]
    confidenceInterval: NotRequired[Bounds]
    percentChange: NotRequired[float]
    percentConfidenceIntervalDelta: NotRequired[float]
    percentConfidenceInterval: NotRequired[Bounds]
    sequentialTestingConfidenceIntervalDelta: NotRequired[float]
    sequentialTestingConfidenceInterval: NotRequired[Bounds]
    percentSequentialTestingConfidenceIntervalDelta: NotRequired[float]
    percentSequentialTestingConfidenceInterval: NotRequired[Bounds]
    sequentialTestingPValue: NotRequired[float]
    testMean: NotRequired[float]
    controlMean: NotRequired[float]
    testStd: NotRequired[float]
    controlStd: NotRequired[float]
    # Always given by Lockgate; optional in the API's schema.
    testUnits: NotRequired[int]
    controlUnits: NotRequired[int]
    pValue: NotRequired[float]
    adjustedAlpha: NotRequired[float]
    absoluteToplineImpact: NotRequired[float]
    absoluteToplineImpactDelta: NotRequired[float]
    relativeToplineImpact: NotRequired[float]
    relativeToplineImpactDelta: NotRequired[float]
    projectedAbsoluteToplineImpact: NotRequired[float]
    projectedAbsoluteToplineImpactDelta: NotRequired[float]
    # The Bayesian view only, in percent.
    chanceToBeat: NotRequired[float]
    expectedLoss: NotRequired[float]


class BayesianSummary(TypedDict):
    """A metric's Bayesian figures, listed beside the metric objects (which cannot hold them)."""

    metricID: str
    chanceToBeat: NotRequired[float]
    expectedLoss: NotRequired[float]


class MetricResults(TypedDict):
    """A comparison's metrics by role."""

    primaryMetrics: list[PulseMetric]
    secondaryMetrics: list[PulseMetric]
    otherMetrics: list[PulseMetric]
    bayesian: NotRequired[list[BayesianSummary]]


class ExperimentPulseResults(MetricResults):
    """``GET /experiments/{id}/pulse_results``: the scorecard of one day (``ds``)."""

    ds: str


class GatePulseResults(TypedDict):
    """``GET /gates/{id}/rules/{rule}/pulse_results`` and the holdouts' equivalent."""

    ds: str
    monitoringMetrics: list[PulseMetric]


# -- what a load stores ----------------------------------------------------------------------


class Winsorization(TypedDict):
    """The cap of a winsorized metric: the ``percentile`` of its non-zero unit values."""

    percentile: float
    nonzeroUnits: int
    cap: float | None
    # Per group, the sums of the unit values above the cap.
    tails: NotRequired[dict[str, GroupSums]]


class MetricSums(TypedDict):
    """One metric of a stored scorecard: per-group sums (raw, and capped when winsorized)."""

    metricID: str
    metricName: str
    type: str
    directionality: Directionality
    role: Literal["primary", "secondary"]
    ratio: bool
    # Why the metric has no sums.
    unsupported: NotRequired[str]
    sums: NotRequired[dict[str, GroupSums]]
    winsorization: NotRequired[Winsorization]
    cappedSums: NotRequired[dict[str, GroupSums]]
