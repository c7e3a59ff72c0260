"""The days-since-exposure view: day k holds each unit's events of the k-th UTC day after its
exposure day, over the units that have reached day k, equal to a plain Python reduction of the
rows; served by ``pulse_results`` with ``view=days_since_exposure&day=k``."""

from __future__ import annotations

import random
from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.domains.events.repository import insert_rows
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.pulse.engine import compute_group_sums, experiment_assignment
from lockgate.domains.pulse.since_exposure import day_count, since_exposure_view
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from tests.contract.client import ContractClient
from tests.pulse.helpers import add_purchases, event_row, start_experiment

DAY = 86_400_000
DAY0 = 20_602 * DAY  # a UTC midnight just after the test clock's start
HOUR = 3_600_000
GROUPS = {"rule_control": "Control", "rule_test": "Test"}
METRICS = [
    {"name": "Revenue", "type": "sum", "metricEvents": [{"name": "purchase", "type": "value"}]},
    {"name": "Basket", "type": "mean", "metricEvents": [{"name": "purchase", "type": "value"}]},
]


@pytest.fixture()
def metrics(console: ContractClient) -> None:
    for body in METRICS:
        assert console.post("/console/v1/metrics", json=body).status_code == 201


def _log(db: Database, pid: str, units: int, days: int, seed: int) -> dict[str, Any]:
    """``units`` units first exposed over ``days`` days from DAY0, each logging purchases and
    views from a day before its exposure to three days after; returns what each unit did."""
    rng = random.Random(seed)
    exposures, events, done = [], [], {}
    for i in range(units):
        unit, rule = f"s{seed}u{i}", list(GROUPS)[i % 2]
        first = DAY0 + rng.randint(0, days * DAY - 1)
        exposures.append(event_row(pid, unit, first, kind="config", name="exp", rule_id=rule))
        logged = []
        for _ in range(rng.randint(0, 7)):
            ts = first + rng.randint(-DAY, 3 * DAY)
            name = rng.choice(["purchase", "purchase", "view"])
            value = round(rng.uniform(1, 50), 2)
            events.append(event_row(pid, unit, ts, event_name=name, value_number=value))
            logged.append((name, ts, value))
        done[unit] = (GROUPS[rule], first, logged)
    with db.transaction() as session:
        insert_rows(session.connection(), "exposures", exposures)
        insert_rows(session.connection(), "events", events)
    return done


def _expected(done: dict[str, Any], k: int, end_ms: int) -> dict[str, dict[str, Any]]:
    """{metric: {group: sums}} of day ``k`` since exposure, data up to ``end_ms``, straight
    from what each unit did."""
    last_day = (end_ms - 1) // DAY
    revenue: dict[str, dict[str, float]] = {}
    basket: dict[str, dict[str, float]] = {}
    for group, first, logged in done.values():
        day = first // DAY + k
        if day > last_day:
            continue  # the unit has not reached day k
        start, end = day * DAY, min((day + 1) * DAY, end_ms)
        bought = [
            v for name, ts, v in logged if name == "purchase" and first <= ts and start <= ts < end
        ]
        add_purchases(revenue, basket, group, bought)
    return {"Revenue::sum": revenue, "Basket::mean": basket}


def _close(found: dict[str, dict[str, float]], expected: dict[str, dict[str, float]]) -> None:
    assert set(found) == set(expected)
    for group, sums in expected.items():
        for key, value in sums.items():
            assert found[group].get(key, 0.0) == pytest.approx(value, rel=1e-9, abs=1e-9), (
                group,
                key,
            )


def test_since_exposure_view__each_day_equals_python_reduction(
    db: Database, project: Bootstrap, metrics: None
) -> None:
    done = _log(db, project.project.id, 150, days=4, seed=7)
    end_ms = DAY0 + 5 * DAY + DAY // 2  # half of a sixth day
    spec = experiment_assignment(
        {"id": "exp", "groups": [{"id": r, "name": g} for r, g in GROUPS.items()]}, end_ms
    )
    refs = [("primary", {"name": m["name"], "type": m["type"]}) for m in METRICS]
    with db.transaction(write=False) as session:
        found = compute_group_sums(
            session, project.project.id, spec, refs, lambda _p, _m: None, daily_from_ms=0
        )
    stored = [{"ds": ds, **view} for ds, view in found["daily"].items()]
    assert day_count(stored) == 6
    for k in range(6):
        view = since_exposure_view(list(reversed(stored)), k)  # any order
        assert view is not None
        expected = _expected(done, k, end_ms)
        assert view["units"] == {g: s["n"] for g, s in expected["Revenue::sum"].items()}
        by_id = {metric["metricID"]: metric for metric in view["metrics"]}
        for metric_id, sums in expected.items():
            _close(by_id[metric_id]["sums"], sums)
    # Every unit has reached day 0; fewer have reached the last day.
    assert sum(since_exposure_view(stored, 0)["units"].values()) == 150  # type: ignore[index]
    assert since_exposure_view(stored, 6) is None


def test_pulse_results__days_since_exposure__served_per_day(
    app: FastAPI,
    console: ContractClient,
    project: Bootstrap,
    clock: ManualClock,
    db: Database,
    metrics: None,
) -> None:
    groups = start_experiment(console)
    pid = project.project.id
    # Two units per group exposed on each of two days at 01:00. Each buys on its exposure day;
    # the first day's units buy again on their second day.
    for offset in range(2):
        for name, group_id in groups.items():
            for twin in (-1, 1):
                unit = f"{name}{offset}{twin}"
                first = DAY0 + offset * DAY + HOUR
                value = 10.0 * (offset + 1) + (5 if name == "Test" else 0) + twin
                rows = [
                    event_row(pid, unit, first + HOUR, event_name="purchase", value_number=value)
                ]
                if offset == 0:
                    again = 3.0 if name == "Test" else 1.0
                    rows.append(
                        event_row(pid, unit, first + DAY, event_name="purchase", value_number=again)
                    )
                exposure = event_row(pid, unit, first, kind="config", name="exp", rule_id=group_id)
                with db.transaction() as session:
                    insert_rows(session.connection(), "exposures", [exposure])
                    insert_rows(session.connection(), "events", rows)
    clock.advance(DAY0 + DAY + 12 * HOUR - clock.now_ms())  # noon of the second day
    assert console.post("/console/v1/experiments/exp/load_pulse", json={}).status_code == 200
    assert app.state.pulse_runner.run_pending() == 1

    def day(k: int | str) -> dict[str, Any]:
        params = {
            "control": groups["Control"],
            "test": groups["Test"],
            "view": "days_since_exposure",
            "day": str(k),
        }
        response = console.get("/console/v1/experiments/exp/pulse_results", params=params)
        assert response.status_code == 200, response.text
        return dict(response.json()["data"])

    (metric,) = day(0)["primaryMetrics"]
    # Day 0: all four units of each group, each on its own exposure day (9, 11, 19, 21 / 14, 16,
    # 24, 26) — the daily view of the second day would also count the first day's units' 1s.
    assert (metric["controlUnits"], metric["testUnits"]) == (4, 4)
    assert (metric["controlMean"], metric["testMean"]) == (15.0, 20.0)
    (metric,) = day(1)["primaryMetrics"]
    # Day 1: only the first day's units have reached it; they bought 1 (control) and 3 (test).
    assert (metric["controlUnits"], metric["testUnits"]) == (2, 2)
    assert (metric["controlMean"], metric["testMean"]) == (1.0, 3.0)
    assert day(2)["primaryMetrics"] == []  # nobody has reached day 2


@pytest.mark.parametrize("raw", ["-1", "1.5", "x", "3651"])
def test_pulse_results__bad_day__400(console: ContractClient, metrics: None, raw: str) -> None:
    groups = start_experiment(console)
    response = console.get(
        "/console/v1/experiments/exp/pulse_results",
        params={
            "control": groups["Control"],
            "test": groups["Test"],
            "view": "days_since_exposure",
            "day": raw,
        },
    )
    assert response.status_code == 400
    assert "day" in response.json()["message"]
