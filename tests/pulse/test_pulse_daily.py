"""The daily view: each day's sums from that day's events alone, over the units exposed by its
end, equal to a plain Python reduction of the rows; loads keep the daily views of finished days
unless asked for a full reload."""

from __future__ import annotations

import random
from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.domains.events.repository import insert_rows
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.pulse.engine import compute_group_sums, experiment_assignment, utc_day
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.storage.models import PulseResult
from tests.contract.client import ContractClient
from tests.pulse.helpers import add_purchases, event_row, start_experiment

DAY = 86_400_000
DAY0 = 20_602 * DAY  # a UTC midnight just after the test clock's start
GROUPS = {"rule_control": "Control", "rule_test": "Test"}
METRICS = [
    {"name": "Revenue", "type": "sum", "metricEvents": [{"name": "purchase", "type": "value"}]},
    {"name": "Basket", "type": "mean", "metricEvents": [{"name": "purchase", "type": "value"}]},
]


def _log(db: Database, pid: str, units: int, days: int, seed: int) -> dict[str, Any]:
    """``units`` units first exposed over ``days`` days from DAY0, each logging purchases and
    views from a day before its exposure to two days after; returns what each unit did."""
    rng = random.Random(seed)
    exposures, events, done = [], [], {}
    for i in range(units):
        unit, rule = f"s{seed}u{i}", list(GROUPS)[i % 2]
        first = DAY0 + rng.randint(0, days * DAY - 1)
        exposures.append(event_row(pid, unit, first, kind="config", name="exp", rule_id=rule))
        exposures.append(
            event_row(pid, unit, first + 5_000, kind="config", name="exp", rule_id=rule)
        )
        logged = []
        for _ in range(rng.randint(0, 6)):
            ts = first + rng.randint(-DAY, 2 * DAY)
            name = rng.choice(["purchase", "purchase", "view"])
            value = round(rng.uniform(1, 50), 2)
            events.append(event_row(pid, unit, ts, event_name=name, value_number=value))
            logged.append((name, ts, value))
        done[unit] = (GROUPS[rule], first, logged)
    with db.transaction() as session:
        insert_rows(session.connection(), "exposures", exposures)
        insert_rows(session.connection(), "events", events)
    return done


def _expected(done: dict[str, Any], day: int) -> dict[str, dict[str, dict[str, float]]]:
    """{metric: {group: sums}} of day ``day`` (days since the epoch)."""
    start, end = day * DAY, (day + 1) * DAY
    revenue: dict[str, dict[str, float]] = {}
    basket: dict[str, dict[str, float]] = {}
    for group, first, logged in done.values():
        if first >= end:
            continue
        bought = [
            v for name, ts, v in logged if name == "purchase" and max(start, first) <= ts < end
        ]
        add_purchases(revenue, basket, group, bought)
    return {"Revenue::sum": revenue, "Basket::mean": basket}


def _close(found: dict[str, dict[str, float]], expected: dict[str, dict[str, float]]) -> None:
    assert set(found) == set(expected)
    for group, sums in expected.items():
        for key, value in sums.items():
            assert found[group][key] == pytest.approx(value, rel=1e-9, abs=1e-9), (group, key)


@pytest.fixture()
def metrics(console: ContractClient) -> None:
    for body in METRICS:
        assert console.post("/console/v1/metrics", json=body).status_code == 201


def test_compute_group_sums__daily__each_day_equals_python_reduction(
    db: Database, project: Bootstrap, metrics: None
) -> None:
    done = _log(db, project.project.id, 120, days=3, seed=1)
    end_ms = DAY0 + 4 * DAY + DAY // 2  # half of a fifth day
    spec = experiment_assignment(
        {"id": "exp", "groups": [{"id": r, "name": g} for r, g in GROUPS.items()]}, end_ms
    )
    refs = [("primary", {"name": m["name"], "type": m["type"]}) for m in METRICS]
    with db.transaction(write=False) as session:
        found = compute_group_sums(
            session, project.project.id, spec, refs, lambda _p, _m: None, daily_from_ms=0
        )

    daily = found["daily"]
    assert list(daily) == [utc_day(DAY0 + d * DAY) for d in range(5)]  # first exposure to end
    for offset in range(5):
        day = DAY0 // DAY + offset
        view = daily[utc_day(day * DAY)]
        expected = _expected(done, day)
        assert view["units"] == {g: s["n"] for g, s in expected["Revenue::sum"].items()}
        by_id = {metric["metricID"]: metric for metric in view["metrics"]}
        assert set(by_id) == set(expected)
        for metric_id, sums in expected.items():
            _close(by_id[metric_id]["sums"], sums)
            assert "cappedSums" not in by_id[metric_id]


def test_compute_group_sums__daily_from_a_day__only_later_days(
    db: Database, project: Bootstrap, metrics: None
) -> None:
    _log(db, project.project.id, 40, days=3, seed=2)
    spec = experiment_assignment(
        {"id": "exp", "groups": [{"id": r, "name": g} for r, g in GROUPS.items()]}, DAY0 + 3 * DAY
    )
    refs = [("primary", {"name": "Revenue", "type": "sum"})]
    with db.transaction(write=False) as session:
        found = compute_group_sums(
            session, project.project.id, spec, refs, lambda _p, _m: None, daily_from_ms=DAY0 + DAY
        )
    assert list(found["daily"]) == [utc_day(DAY0 + DAY), utc_day(DAY0 + 2 * DAY)]


def _stored_daily(db: Database) -> dict[str, str]:
    with db.transaction(write=False) as session:
        rows = session.query(PulseResult).filter(PulseResult.view == "daily").all()
        return {row.ds: row.job_id for row in rows}


def test_load_pulse__daily_view__served_and_kept_for_finished_days(
    app: FastAPI,
    console: ContractClient,
    project: Bootstrap,
    clock: ManualClock,
    db: Database,
    metrics: None,
) -> None:
    groups = start_experiment(console)
    pid = project.project.id
    for offset in range(2):  # two units per group per day, exposed at 01:00, buying at 02:00
        for name, group_id in groups.items():
            for twin in (-1, 1):
                unit = f"{name}{offset}{twin}"
                first = DAY0 + offset * DAY + 3_600_000
                rows = [event_row(pid, unit, first, kind="config", name="exp", rule_id=group_id)]
                value = 10.0 * (offset + 1) + (5 if name == "Test" else 0) + twin
                bought = first + 3_600_000
                purchase = event_row(pid, unit, bought, event_name="purchase", value_number=value)
                with db.transaction() as session:
                    insert_rows(session.connection(), "exposures", rows)
                    insert_rows(session.connection(), "events", [purchase])
    clock.advance(DAY0 + DAY + 12 * 3_600_000 - clock.now_ms())  # noon of the second day
    assert console.post("/console/v1/experiments/exp/load_pulse", json={}).status_code == 200
    assert app.state.pulse_runner.run_pending() == 1
    first_load = _stored_daily(db)
    assert sorted(first_load) == [utc_day(DAY0), utc_day(DAY0 + DAY)]

    params = {"control": groups["Control"], "test": groups["Test"], "view": "daily"}
    day1 = console.get(
        "/console/v1/experiments/exp/pulse_results", params={**params, "date": utc_day(DAY0)}
    ).json()["data"]
    (metric,) = day1["primaryMetrics"]
    assert day1["ds"] == utc_day(DAY0)
    assert (metric["controlUnits"], metric["testUnits"]) == (2, 2)
    assert (metric["controlMean"], metric["testMean"]) == (10.0, 15.0)
    day2 = console.get(
        "/console/v1/experiments/exp/pulse_results", params={**params, "date": utc_day(DAY0 + DAY)}
    ).json()["data"]
    (metric,) = day2["primaryMetrics"]
    # Day 2: four units of each group exposed; only the day-2 units bought (19 + 21, 24 + 26).
    assert (metric["controlUnits"], metric["testUnits"]) == (4, 4)
    assert (metric["controlMean"], metric["testMean"]) == (10.0, 12.5)
    cumulative = console.get(
        "/console/v1/experiments/exp/pulse_results", params={**params, "view": "cumulative"}
    ).json()["data"]
    assert cumulative["primaryMetrics"][0]["controlMean"] == 15.0  # (9 + 11 + 19 + 21) / 4

    # A day later, an incremental load keeps day 1 (over when it was computed) and recomputes
    # day 2 (computed while it was still going on) and day 3.
    clock.advance(DAY)
    loaded = console.post(
        "/console/v1/experiments/exp/load_pulse", params={"refresh": "incremental"}, json={}
    )
    assert loaded.status_code == 200, loaded.text
    assert app.state.pulse_runner.run_pending() == 1
    second_load = _stored_daily(db)
    assert sorted(second_load) == [utc_day(DAY0 + d * DAY) for d in range(3)]
    assert second_load[utc_day(DAY0)] == first_load[utc_day(DAY0)]
    assert second_load[utc_day(DAY0 + DAY)] != first_load[utc_day(DAY0 + DAY)]
    history = console.get("/console/v1/experiments/exp/pulse_load_history").json()["data"]
    assert [h["reloadType"] for h in history] == ["incremental", "full"]

    # Another incremental load the same day keeps both finished days; a full one redoes all.
    assert (
        console.post(
            "/console/v1/experiments/exp/load_pulse", params={"refresh": "incremental"}, json={}
        ).status_code
        == 200
    )
    assert app.state.pulse_runner.run_pending() == 1
    third_load = _stored_daily(db)
    assert third_load[utc_day(DAY0 + DAY)] == second_load[utc_day(DAY0 + DAY)]
    assert third_load[utc_day(DAY0 + 2 * DAY)] != second_load[utc_day(DAY0 + 2 * DAY)]
    assert console.post("/console/v1/experiments/exp/load_pulse", json={}).status_code == 200
    assert app.state.pulse_runner.run_pending() == 1
    full = _stored_daily(db)
    assert all(full[ds] != third_load[ds] for ds in third_load)


@pytest.mark.parametrize(
    ("params", "needle"),
    [({"view": "weekly"}, "view"), ({"bayesian": "maybe"}, "bayesian")],
)
def test_pulse_results__bad_view_or_bayesian__400(
    console: ContractClient, metrics: None, params: dict[str, str], needle: str
) -> None:
    groups = start_experiment(console)
    response = console.get(
        "/console/v1/experiments/exp/pulse_results",
        params={"control": groups["Control"], "test": groups["Test"], **params},
    )
    assert response.status_code == 400
    assert needle in response.json()["message"]


def test_load_pulse__bad_refresh__400_and_nothing_queued(
    console: ContractClient, metrics: None
) -> None:
    start_experiment(console)
    response = console.post(
        "/console/v1/experiments/exp/load_pulse", params={"refresh": "sometimes"}, json={}
    )
    assert response.status_code == 400
    assert "refresh" in response.json()["message"]
    assert console.get("/console/v1/experiments/exp/pulse_load_history").json()["data"] == []
