"""Results from stored sums: Benjamini-Hochberg per variant (alone, pooled with per metric, and
on primary metrics only) and the Bayesian view, checked against the formulas of
docs/statistics.md §Multiple comparisons and docs/statistics.md §Bayesian view worked with the
standard library's normal distribution."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.domains.events.repository import insert_rows
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.pulse.results import ResultOptions, metric_results
from lockgate.kit.db import Database
from tests.contract.client import ContractClient
from tests.pulse.helpers import REVENUE, start_experiment

Z = NormalDist()
GROUPS = ("Control", "Test A", "Test B")


def _sums(n: int, mean: float, sd: float) -> dict[str, float]:
    return {"n": n, "sx": n * mean, "sxx": (n - 1) * sd**2 + n * mean**2}


def _metric(
    name: str, role: str, means: tuple[float, float, float], **extra: Any
) -> dict[str, Any]:
    return {
        "metricID": f"{name}::sum",
        "metricName": name,
        "directionality": "increase",
        "role": role,
        "ratio": False,
        "sums": {g: _sums(2_000, m, 5.0) for g, m in zip(GROUPS, means, strict=True)},
        **extra,
    }


DOCUMENT = {
    "metrics": [
        _metric("revenue", "primary", (10.0, 10.45, 10.4)),
        _metric("visits", "primary", (10.0, 10.05, 9.7)),
        _metric("support", "secondary", (10.0, 10.3, 10.0)),
    ]
}


def _options(test: str = "Test A", **kw: Any) -> ResultOptions:
    return ResultOptions(
        control="Control", test=test, cuped=False, test_groups=2, groups=GROUPS, **kw
    )


def _by_id(result: dict[str, list[Any]]) -> dict[str, dict[str, Any]]:
    return {m["metricID"]: m for key in ("primaryMetrics", "secondaryMetrics") for m in result[key]}


def _uncorrected_p(test: str) -> dict[str, float]:
    return {k: m["pValue"] for k, m in _by_id(metric_results(DOCUMENT, _options(test))).items()}


def _alpha_of(metric: dict[str, Any]) -> float:
    """The alpha a metric's interval was drawn at: half-width = z(1 - alpha/2)·SE (every
    group has 2,000 units, so the z-test applies)."""
    se = math.hypot(metric["testStd"], metric["controlStd"])
    return 2 * (1 - Z.cdf(metric["confidenceIntervalDelta"] / se))


def _bh(p_values: list[float], q: float = 0.05) -> float:
    """docs/statistics.md §Multiple comparisons: the largest k·q/m with p_(k) <= k·q/m, else q/m."""
    m = len(p_values)
    found = [k * q / m for k, p in enumerate(sorted(p_values), 1) if p <= k * q / m]
    return max(found, default=q / m)


@pytest.mark.database_free
def test_bh_per_variant__each_metric_corrected_over_its_test_groups() -> None:
    a, b = _uncorrected_p("Test A"), _uncorrected_p("Test B")
    result = _by_id(metric_results(DOCUMENT, _options(bh_per_variant=True)))
    for metric_id, metric in result.items():
        expected = _bh([a[metric_id], b[metric_id]])
        assert _alpha_of(metric) == pytest.approx(expected, rel=1e-9), metric_id
    # The family differs per metric, so the alphas are not all alike.
    assert len({round(_alpha_of(m), 12) for m in result.values()}) > 1


@pytest.mark.database_free
def test_bh_per_variant_and_per_metric__one_pooled_family() -> None:
    a, b = _uncorrected_p("Test A"), _uncorrected_p("Test B")
    expected = _bh([*a.values(), *b.values()])  # 3 metrics x 2 test groups
    result = _by_id(metric_results(DOCUMENT, _options(bh_per_variant=True, bh_per_metric=True)))
    for metric in result.values():
        assert _alpha_of(metric) == pytest.approx(expected, rel=1e-9)
    assert expected != pytest.approx(0.05)


@pytest.mark.database_free
def test_bh_primary_only__secondary_metrics_keep_alpha() -> None:
    a = _uncorrected_p("Test A")
    options = _options(bh_per_metric=True, bh_primary_only=True)
    result = _by_id(metric_results(DOCUMENT, options))
    primary = _bh([a["revenue::sum"], a["visits::sum"]])
    assert _alpha_of(result["revenue::sum"]) == pytest.approx(primary, rel=1e-9)
    assert _alpha_of(result["support::sum"]) == pytest.approx(0.05, rel=1e-9)


@pytest.mark.database_free
def test_bayesian_view__no_prior__credible_interval_chance_to_beat_expected_loss() -> None:
    frequentist = metric_results(DOCUMENT, _options())
    found = metric_results(DOCUMENT, _options(bayesian=True))
    revenue, plain = _by_id(found)["revenue::sum"], _by_id(frequentist)["revenue::sum"]
    chances = {m["metricID"]: m for m in found["bayesian"]}
    assert set(chances) == {"revenue::sum", "visits::sum", "support::sum"}
    assert "bayesian" not in frequentist
    # Posterior N(delta, se²) with the flat prior: the credible interval is the z interval.
    assert revenue["absoluteChange"] == pytest.approx(plain["absoluteChange"], rel=1e-12)
    assert revenue["confidenceIntervalDelta"] == pytest.approx(
        plain["confidenceIntervalDelta"], rel=1e-9
    )
    assert "pValue" not in revenue and "pValue" in plain
    # Relative effect 4.5% with the delta-method SE of a ratio of means.
    control, test = 10.0, 10.45
    var_c, var_t = 25.0 / 2_000, 25.0 / 2_000  # SE² of each mean
    relative = test / control - 1
    se = math.sqrt(var_t / control**2 + test**2 * var_c / control**4)
    assert revenue["percentChange"] == pytest.approx(relative * 100, rel=1e-9)
    assert revenue["percentConfidenceIntervalDelta"] == pytest.approx(
        Z.inv_cdf(0.975) * se * 100, rel=1e-9
    )
    chance = chances["revenue::sum"]
    assert chance["chanceToBeat"] == pytest.approx(Z.cdf(relative / se) * 100, rel=1e-9)
    # E[max(-effect, 0)] for N(mu, s²): s·φ(mu/s) - mu·Φ(-mu/s)
    loss = se * Z.pdf(relative / se) - relative * Z.cdf(-relative / se)
    assert chance["expectedLoss"] == pytest.approx(loss * 100, rel=1e-9)


@pytest.mark.database_free
def test_bayesian_view__decrease_metric__chance_that_test_lowers_it() -> None:
    document = {"metrics": [{**DOCUMENT["metrics"][1], "directionality": "decrease"}]}
    both = metric_results(DOCUMENT, _options("Test B", bayesian=True))
    assert both["primaryMetrics"][1]["percentChange"] < 0  # Test B lowered visits
    up = both["bayesian"][1]
    (down,) = metric_results(document, _options("Test B", bayesian=True))["bayesian"]
    assert down["chanceToBeat"] == pytest.approx(100 - up["chanceToBeat"], rel=1e-9)
    assert down["chanceToBeat"] > 50
    assert down["expectedLoss"] < up["expectedLoss"]


def test_pulse_results__bayesian_experiment__bayesian_view_by_default(
    app: FastAPI, console: ContractClient, project: Bootstrap, db: Database
) -> None:
    assert console.post("/console/v1/metrics", json=REVENUE).status_code == 201
    groups = start_experiment(console, "bayes", analyticsType="bayesian")
    pid, now = project.project.id, 1_780_000_000_000 - 60_000  # before the clock
    exposures, events = [], []
    for i in range(40):
        name = "Test" if i % 2 else "Control"
        row = {"project_id": pid, "user_id": f"u{i}", "time": now, "received_time": now}
        exposures.append({**row, "kind": "config", "name": "bayes", "rule_id": groups[name]})
        value = 10.0 + i % 5 + (2 if name == "Test" else 0)
        events.append({**row, "time": now + 1, "event_name": "purchase", "value_number": value})
    with db.transaction() as session:
        insert_rows(session.connection(), "exposures", exposures)
        insert_rows(session.connection(), "events", events)
    assert console.post("/console/v1/experiments/bayes/load_pulse", json={}).status_code == 200
    assert app.state.pulse_runner.run_pending() == 1
    params = {"control": groups["Control"], "test": groups["Test"], "cuped": "false"}
    url = "/console/v1/experiments/bayes/pulse_results"
    found = console.get(url, params=params).json()["data"]
    plain = console.get(url, params={**params, "bayesian": "false"}).json()["data"]
    (chance,) = found["bayesian"]
    assert chance["metricID"] == "Revenue::sum" and 50 < chance["chanceToBeat"] <= 100
    assert "pValue" not in found["primaryMetrics"][0]
    assert "bayesian" not in plain and "pValue" in plain["primaryMetrics"][0]
    assert found["primaryMetrics"][0]["absoluteChange"] == pytest.approx(
        plain["primaryMetrics"][0]["absoluteChange"]
    )
