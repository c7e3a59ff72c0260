"""The PulseMetric dict (docs/statistics.md §Metric objects): field names, units, and the published
Console example."""

from __future__ import annotations

import pytest

from lockgate.cores.stats.frequentist import contrast
from lockgate.cores.stats.pulse import (
    PulseSettings,
    analyze_contrast,
    analyze_cuped_mean,
    analyze_mean,
    analyze_ratio,
    pulse_metric,
)
from lockgate.cores.stats.sufficient import CupedMeanStats, GroupEstimate, MeanStats, RatioStats
from lockgate.cores.stats.topline import ToplineInputs, topline_impact

pytestmark = pytest.mark.database_free

SPEC_FIELDS = {
    "metricID",
    "metricName",
    "directionality",
    "absoluteChange",
    "confidenceIntervalDelta",
    "confidenceInterval",
    "percentChange",
    "percentConfidenceIntervalDelta",
    "percentConfidenceInterval",
    "sequentialTestingConfidenceIntervalDelta",
    "sequentialTestingConfidenceInterval",
    "percentSequentialTestingConfidenceIntervalDelta",
    "percentSequentialTestingConfidenceInterval",
    "sequentialTestingPValue",
    "testMean",
    "controlMean",
    "testStd",
    "controlStd",
    "testUnits",
    "controlUnits",
    "pValue",
    "adjustedAlpha",
    "reversePower",
    "absoluteToplineImpact",
    "absoluteToplineImpactDelta",
    "relativeToplineImpact",
    "relativeToplineImpactDelta",
    "projectedAbsoluteToplineImpact",
    "projectedAbsoluteToplineImpactDelta",
    "projectedRelativeToplineImpact",
    "projectedRelativeToplineImpactDelta",
}
CONTROL = MeanStats(20000, 259818.22684590798, 4511309.188208446)
TEST = MeanStats(20000, 264752.40262521146, 4690965.915471447)


def _from_se(units: int, mean: float, se: float) -> GroupEstimate:
    return GroupEstimate(units, mean, se * se * units)


def test_pulse_metric__console_example_support_success_rate__reproduced() -> None:
    # Given the published secondary metric: SEs 0.0038882 / 0.0039530, control mean 0.712686,
    # change 0.0032569, at 90% confidence with the simplified relative CI
    # (docs/statistics.md §Metric objects)
    c = contrast(
        _from_se(100_000, 0.712686, 0.0039530),
        _from_se(100_000, 0.712686 + 0.0032569, 0.0038882),
    )
    settings = PulseSettings(confidence=90, relative_method="simplified")
    # When the metric object is built
    out = pulse_metric(
        "Support Success Rate::event_count", "increase", analyze_contrast(c, settings)
    )
    # Then 1.6449 x sqrt(0.0038882^2 + 0.0039530^2) = 0.009120, p = 0.5570, and
    # 0.009120/0.712686 x 100 = 1.2797 as published
    assert out["confidenceIntervalDelta"] == pytest.approx(0.009120, abs=5e-7)
    # (0.556946 from the rounded published inputs)
    assert out["pValue"] == pytest.approx(0.5570, abs=1e-4)
    assert out["percentConfidenceIntervalDelta"] == pytest.approx(1.2797, abs=5e-5)
    assert out["testStd"] == pytest.approx(0.0038882, rel=1e-9)
    assert out["metricName"] == "Support Success Rate"


def test_pulse_metric__sequential_off__no_sequential_fields() -> None:
    out = pulse_metric("Revenue::sum", "increase", analyze_mean(CONTROL, TEST, PulseSettings()))
    assert set(out) <= SPEC_FIELDS
    assert not any(key.startswith(("sequential", "percentSequential")) for key in out)
    assert "adjustedAlpha" not in out
    # docs/statistics.md §Reference values: delta 0.24670879, z p 0.00120475, Fieller [0.745282%,
    # 3.066070%]
    assert out["absoluteChange"] == pytest.approx(0.24670879, abs=1e-8)
    assert out["pValue"] == pytest.approx(0.00120475, abs=1e-8)
    assert out["percentConfidenceInterval"] == pytest.approx(
        {"lower": 0.745282, "upper": 3.066070}, abs=1e-6
    )


def test_pulse_metric__sequential_on__msprt_fields_filled() -> None:
    settings = PulseSettings(sequential=True, relative_method="delta")
    out = pulse_metric("Revenue::sum", "increase", analyze_mean(CONTROL, TEST, settings))
    # docs/statistics.md §Reference values: Z* = 3.5845, CI* = [-0.026422, 0.519840], p* = 0.07667
    assert out["sequentialTestingConfidenceInterval"] == pytest.approx(
        {"lower": -0.026422, "upper": 0.519840}, abs=1e-6
    )
    assert out["sequentialTestingPValue"] == pytest.approx(0.07667, abs=1e-5)
    assert "percentSequentialTestingConfidenceIntervalDelta" in out


def test_pulse_metric__adjusted_alpha__reported_and_ci_wider() -> None:
    plain = pulse_metric("m::sum", "increase", analyze_mean(CONTROL, TEST, PulseSettings()))
    corrected = pulse_metric(
        "m::sum", "increase", analyze_mean(CONTROL, TEST, PulseSettings(adjusted_alpha=0.01))
    )
    assert corrected["adjustedAlpha"] == 0.01
    assert corrected["confidenceIntervalDelta"] > plain["confidenceIntervalDelta"]


def test_pulse_metric__zero_control_mean__percent_fields_omitted() -> None:
    c = contrast(GroupEstimate(100, 0.0, 1.0), GroupEstimate(100, 0.3, 1.0))
    out = pulse_metric("m::sum", "increase", analyze_contrast(c, PulseSettings()))
    assert not any(key.startswith("percent") for key in out)
    assert "pValue" in out


def test_pulse_metric__cuped__test_mean_adjusted_control_mean_raw() -> None:
    pre_c = MeanStats(20000, 199999.8469264099, 2992750.076335092)
    pre_t = MeanStats(20000, 200913.792611746, 3019148.4717759546)
    analysis = analyze_cuped_mean(
        CupedMeanStats(CONTROL, pre_c, 3391755.90210826, 20000),
        CupedMeanStats(TEST, pre_t, 3476331.2185630454, 20000),
        PulseSettings(),
    )
    out = pulse_metric("Revenue::sum", "increase", analysis)
    # control 12.990911 unadjusted; delta 0.20979532 (docs/statistics.md §Reference values, gbstats)
    assert out["controlMean"] == pytest.approx(12.990911, abs=1e-6)
    assert out["absoluteChange"] == pytest.approx(0.20979532, abs=1e-8)


def test_pulse_metric__topline__impact_fields_by_hand() -> None:
    # Given delta 0.5, var(delta) 0.04, N_t = 1000, 10 days, topline 1050, projection x2
    c = contrast(GroupEstimate(1000, 10.0, 20.0), GroupEstimate(1000, 10.5, 20.0))
    impact = topline_impact(c, ToplineInputs(topline=1050.0, days=10, projection_factor=2.0))
    # Then abs = 0.5 x 100 = 50, SE = 0.2 x 100 = 20; rel = 50/1000 = 0.05,
    # rel SE = 20 x |1050 - 100|/1000^2 = 0.019; projected = 100 with SE 40
    assert impact is not None
    assert (impact.absolute, impact.absolute_se) == pytest.approx((50.0, 20.0))
    assert (impact.relative, impact.relative_se) == pytest.approx((0.05, 0.019))
    assert (impact.projected_absolute, impact.projected_absolute_se) == pytest.approx((100.0, 40.0))


def test_pulse_metric__topline_inputs__impact_fields_in_metric() -> None:
    # Given the mean metric over 14 days with a topline of 3.7M and a projection factor of 2
    inputs = ToplineInputs(topline=3_700_000.0, days=14, projection_factor=2.0)
    # When analyzed
    out = pulse_metric("m::sum", "increase", analyze_mean(CONTROL, TEST, PulseSettings(), inputs))
    # Then absolute impact is delta x N_t/days = 0.246708789 x 20000/14 = 352.441127
    assert out["absoluteToplineImpact"] == pytest.approx(352.441127, abs=1e-6)
    assert out["projectedAbsoluteToplineImpact"] == pytest.approx(704.882254, abs=1e-6)
    assert {"relativeToplineImpact", "relativeToplineImpactDelta"} <= set(out)
    assert "projectedRelativeToplineImpact" not in out


def test_pulse_metric__ratio_metric__units_and_ratio_means() -> None:
    control = RatioStats(20000, 17955, 37577, 59697, 238537, 71899)
    test = RatioStats(20000, 18341, 38833, 60306, 241464, 73779)
    out = pulse_metric("ctr::ratio", "increase", analyze_ratio(control, test, PulseSettings()))
    # docs/statistics.md §Reference values: R_c = 0.3007689, delta 0.00336338, z p 0.260718 (gbstats
    # t p 0.260724)
    assert out["controlMean"] == pytest.approx(0.3007689, abs=1e-7)
    assert out["absoluteChange"] == pytest.approx(0.00336338, abs=1e-8)
    assert out["pValue"] == pytest.approx(0.26071, abs=1e-4)
    assert (out["testUnits"], out["controlUnits"]) == (20000, 20000)
