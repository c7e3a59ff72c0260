"""Warehouse-native loads over time, end to end on DuckDB, PostgreSQL and chDB with the
generated dataset of ``test_pipeline_end_to_end``: the cumulative view of every day, the daily
and days-since-exposure views equal an independent numpy computation over the same rows; an
incremental load after an earlier one stores exactly what a full load stores; an analysis
window (``PUT /start`` with ``analysisStartTime``/``analysisEndTime``, or
``fixedAnalysisDuration``) changes the results exactly as computed independently; the load's
health checks are in its history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.warehouse.adapters import Warehouse
from lockgate.domains.warehouse.pipeline import PipelinePlan
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.storage.models import PulseResult
from tests.contract.client import ContractClient
from tests.warehouse.support import (
    advance_to,
    comparable,
    create_experiment,
    create_sources,
    load_pulse,
    stored_views,
)
from tests.warehouse.test_pipeline_end_to_end import (
    END,
    EXPERIMENT,
    T0,
    Dataset,
    define_analysis,
    expected_sums,
    team_warehouse,
)

__all__ = ["team_warehouse"]  # the fixture, shared with the end-to-end test

METRICS = ("revenue", "orders", "basket")
RATIO = {"revenue": False, "orders": False, "basket": True}
CUPED_DAYS = 7


@dataclass
class Unit:
    group: str
    first: dt.datetime
    # per metric: day -> [x, y] after exposure, and [xp, yp] over the week before it
    days: dict[str, dict[dt.date, list[float]]] = field(default_factory=dict)
    pre: dict[str, list[float]] = field(default_factory=dict)


def analysed_units(
    data: Dataset,
    start: dt.datetime | None,
    end: dt.datetime,
    excluded: frozenset[str] = frozenset(),
) -> tuple[dict[str, Unit], int]:
    """The units of the analysis window [start, end) seen in one group, each metric's values
    per day (computed in Python from the rows, independently of the warehouse SQL), and the
    number of crossover units; exposures of ``excluded`` users are not read."""
    groups: dict[str, set[str]] = {}
    first: dict[str, dt.datetime] = {}
    for user, ts, experiment, group in data.exposures:
        if experiment != EXPERIMENT or ts >= end or (start is not None and ts < start):
            continue
        if user in excluded:
            continue
        groups.setdefault(user, set()).add(group)
        first[user] = min(first.get(user, ts), ts)
    units = {
        u: Unit(next(iter(g)), first[u], {m: {} for m in METRICS}, {m: [0.0, 0.0] for m in METRICS})
        for u, g in groups.items()
        if len(g) == 1
    }
    for user, ts, event, amount in data.events:
        unit = units.get(user)
        if unit is None or event != "purchase" or ts >= end:
            continue
        if ts >= unit.first:
            cells = {m: unit.days[m].setdefault(ts.date(), [0.0, 0.0]) for m in METRICS}
        elif ts >= unit.first - dt.timedelta(days=CUPED_DAYS):
            cells = unit.pre
        else:
            continue
        cells["orders"][0] += 1
        cells["orders"][1] += 1
        if amount is not None:
            cells["revenue"][0] += amount
            cells["revenue"][1] += 1
            cells["basket"][0] += amount
            cells["basket"][1] += 1
    return units, sum(len(g) > 1 for g in groups.values())


def cumulative_sums(
    units: dict[str, Unit], day: dt.date
) -> tuple[dict[str, int], dict[str, dict[str, dict[str, float]]]]:
    """Units per group exposed by the end of ``day`` and each metric's sums as Pulse stores
    them, from each unit's values up to the end of that day."""
    counts: dict[str, int] = {}
    rows: dict[str, dict[str, list[tuple[float, ...]]]] = {m: {} for m in METRICS}
    for unit in units.values():
        if unit.first.date() > day:
            continue
        counts[unit.group] = counts.get(unit.group, 0) + 1
        for metric in METRICS:
            x = sum(v[0] for d, v in unit.days[metric].items() if d <= day)
            y = sum(v[1] for d, v in unit.days[metric].items() if d <= day)
            xp, yp = unit.pre[metric]
            if metric == "basket":
                if y:
                    rows[metric].setdefault(unit.group, []).append((x, y, xp, yp))
            else:
                rows[metric].setdefault(unit.group, []).append((x, 1.0, xp, 1.0))
    sums = {
        metric: {
            group: expected_sums(np.array(values), RATIO[metric]) for group, values in by.items()
        }
        for metric, by in rows.items()
    }
    return counts, sums


def daily_sums(
    units: dict[str, Unit], day: dt.date, window: int = 1
) -> dict[str, dict[str, dict[str, float]]]:
    """Each metric's sums over each unit's values of the ``window`` days ending with ``day``:
    a mean over every unit exposed by then (0 without rows), a ratio over the units with a
    denominator in those days."""
    found: dict[str, dict[str, dict[str, float]]] = {m: {} for m in METRICS}
    for unit in units.values():
        if unit.first.date() > day:
            continue
        for metric in METRICS:
            period = [
                v
                for d, v in unit.days[metric].items()
                if day - dt.timedelta(days=window) < d <= day
            ]
            x, y = sum(v[0] for v in period), sum(v[1] for v in period)
            if RATIO[metric] and not y:
                continue
            sums = found[metric].setdefault(unit.group, {"n": 0.0, "sx": 0.0, "sxx": 0.0})
            if RATIO[metric]:
                for name in ("sy", "syy", "sxy"):
                    sums.setdefault(name, 0.0)
                sums["sy"] += y
                sums["syy"] += y * y
                sums["sxy"] += x * y
            sums["n"] += 1
            sums["sx"] += x
            sums["sxx"] += x * x
    return found


def since_exposure_means(
    units: dict[str, Unit], k: int, last: dt.date, metric: str
) -> dict[str, tuple[int, float]]:
    """Per group, the units that reached day ``k`` since exposure and their mean value of
    that day (a sum metric: 0 for units without rows)."""
    values: dict[str, list[float]] = {}
    for unit in units.values():
        day = unit.first.date() + dt.timedelta(days=k)
        if day <= last:
            values.setdefault(unit.group, []).append(unit.days[metric].get(day, [0.0, 0.0])[0])
    return {g: (len(v), float(np.mean(v))) for g, v in values.items()}


def assert_close(found: Any, expected: Any, where: str = "") -> None:
    """``found`` equals ``expected``, numbers within a relative 1e-9 (sums added in another
    order), dicts and lists compared key by key."""
    if isinstance(expected, dict):
        assert isinstance(found, dict) and found.keys() == expected.keys(), (where, found)
        for key, value in expected.items():
            assert_close(found[key], value, f"{where}/{key}")
    elif isinstance(expected, list):
        assert isinstance(found, list) and len(found) == len(expected), (where, found)
        for i, (a, b) in enumerate(zip(found, expected, strict=True)):
            assert_close(a, b, f"{where}/{i}")
    elif isinstance(expected, float) and not isinstance(expected, bool):
        assert found == pytest.approx(expected, rel=1e-9, abs=1e-9), where
    else:
        assert found == expected, where


def _metric(results: dict[str, Any], name: str) -> dict[str, Any]:
    return next(m for m in results["secondaryMetrics"] if m["metricName"] == name)


def _names(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["metricName"].lower(): m for m in document["metrics"]}


@pytest.fixture
def analysis(
    console: ContractClient, team_warehouse: tuple[Dataset, str, Warehouse]
) -> Iterator[tuple[Dataset, dict[str, str]]]:
    data, schema, _ = team_warehouse
    yield data, define_analysis(console, schema)


def _staged_rows(warehouse: Warehouse, schema: str, project_id: str, prefix: str) -> int:
    """The rows of one staging table of the experiment ``checkout``."""
    table = f"{prefix}_{PipelinePlan.key_of(project_id, 'checkout')}"
    with warehouse:
        return int(warehouse.fetch(f"SELECT COUNT(*) FROM {schema}.{table}").rows[0][0])


def test_load__every_days_views__equal_numpy(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    db: Database,
    analysis: tuple[Dataset, dict[str, str]],
) -> None:
    data, groups = analysis
    advance_to(clock, END)
    history = load_pulse(app, console, "checkout", "full")
    stored = stored_views(db)
    units, crossovers = analysed_units(data, None, END)
    first = min(u.first for u in units.values()).date()
    last = (END - dt.timedelta(seconds=1)).date()
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    assert {ds for view, ds in stored if view == "cumulative"} == {d.isoformat() for d in days}
    assert {ds for view, ds in stored if view == "daily"} == {d.isoformat() for d in days}
    for day in days:
        counts = _check_cumulative(stored[("cumulative", day.isoformat())], units, day)
        daily = stored[("daily", day.isoformat())]
        assert daily["units"] == counts
        expected = daily_sums(units, day)
        for metric, entry in _names(daily).items():
            found = {g: {k: entry["sums"][g][k] for k in s} for g, s in expected[metric].items()}
            assert_close(found, expected[metric], f"{day} {metric}")
        for window in (7, 28):
            rolling = stored[(f"rolling_{window}", day.isoformat())]
            assert rolling["units"] == counts
            expected = daily_sums(units, day, window)
            for metric, entry in _names(rolling).items():
                found = {
                    g: {k: entry["sums"][g][k] for k in s} for g, s in expected[metric].items()
                }
                assert_close(found, expected[metric], f"{day} {window} {metric}")
    assert stored[("cumulative", last.isoformat())]["crossoverUnits"] == crossovers
    # served by pulse_results with Pulse's own parameters
    query = {"control": groups["Control"], "test": groups["Test"]}
    middle = days[len(days) // 2]
    response = console.get(
        "/console/v1/experiments/checkout/pulse_results",
        params={**query, "view": "daily", "date": middle.isoformat()},
    )
    assert response.status_code == 200, response.text
    orders = next(
        m for m in response.json()["data"]["secondaryMetrics"] if m["metricName"] == "Orders"
    )
    of_day = daily_sums(units, middle)["orders"]
    assert orders["testUnits"] == of_day["Test"]["n"]
    assert orders["testMean"] == pytest.approx(of_day["Test"]["sx"] / of_day["Test"]["n"], rel=1e-9)
    response = console.get(
        "/console/v1/experiments/checkout/pulse_results",
        params={**query, "view": "rolling", "window": "7"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["ds"] == last.isoformat()
    orders = next(
        m for m in response.json()["data"]["secondaryMetrics"] if m["metricName"] == "Orders"
    )
    of_week = daily_sums(units, last, 7)["orders"]
    assert orders["controlMean"] == pytest.approx(
        of_week["Control"]["sx"] / of_week["Control"]["n"], rel=1e-9
    )
    refused = console.get(
        "/console/v1/experiments/checkout/pulse_results",
        params={**query, "view": "rolling", "window": "30"},
    )
    assert refused.status_code == 400
    assert refused.json()["message"] == (
        "Invalid request. window: must be one of 7, 14, 28 (days), got '30'"
    )
    for k in (0, 2):
        response = console.get(
            "/console/v1/experiments/checkout/pulse_results",
            params={**query, "view": "days_since_exposure", "day": str(k)},
        )
        assert response.status_code == 200, response.text
        data_k = response.json()["data"]
        revenue = data_k["primaryMetrics"][0]
        means = since_exposure_means(units, k, last, "revenue")
        assert (revenue["controlUnits"], revenue["testUnits"]) == (
            means["Control"][0],
            means["Test"][0],
        )
        assert revenue["controlMean"] == pytest.approx(means["Control"][1], rel=1e-9)
        assert revenue["testMean"] == pytest.approx(means["Test"][1], rel=1e-9)
    # the load's health checks
    checks = {c["type"]: c for c in history["healthChecks"]}
    assert checks["has_exposures"]["status"] == "PASSED"
    assert checks["has_balanced_exposures"]["status"] == "PASSED"
    percent = 100 * crossovers / (crossovers + len(units))
    assert checks["has_crossover"]["metadata"]["crossoverPercent"] == pytest.approx(percent)
    assert checks["has_crossover"]["status"] == "PASSED"  # under 1% for analysis-only
    # the last exposure (T0 + 7 days + 10 h) is more than a day before the load
    assert checks["exposures_data_is_behind"]["status"] == "WARNING"
    metrics = checks["user_metrics_exist"]["metadata"]["metrics"]
    assert {m["metric_name"] for m in metrics} == {"Revenue", "Orders", "Basket"}
    latest = max(ts for _, ts, _, _ in data.events if ts < END)
    assert {m["latest_date"] for m in metrics} == {latest.isoformat(sep=" ")}
    assert history["loadedAs"] == {"reloadType": "full"}


def test_load__incremental_after_an_earlier_load__stores_what_a_full_load_stores(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    db: Database,
    project: Bootstrap,
    team_warehouse: tuple[Dataset, str, Warehouse],
    analysis: tuple[Dataset, dict[str, str]],
) -> None:
    _, schema, warehouse = team_warehouse
    # the first load sees a week of exposures and purchases; units exposed later, their
    # later exposures and purchases come after it
    advance_to(clock, T0 + dt.timedelta(days=7))
    load_pulse(app, console, "checkout", "full")
    advance_to(clock, END)
    incremental = load_pulse(app, console, "checkout", "incremental")
    assert incremental["loadedAs"] == {"reloadType": "incremental", "resumeDay": "2026-11-06"}
    # only the days from the resume day on (and new units) were scanned
    scanned = _staged_rows(warehouse, schema, project.project.id, "lg_un")
    kept = _staged_rows(warehouse, schema, project.project.id, "lg_uk")
    assert 0 < scanned < kept
    assert scanned + kept == _staged_rows(warehouse, schema, project.project.id, "lg_ud")
    after_incremental = comparable(stored_views(db))
    full = load_pulse(app, console, "checkout", "full")
    assert full["loadedAs"] == {"reloadType": "full"}
    after_full = comparable(stored_views(db))
    assert_close(after_incremental, after_full)


def test_load__incremental_without_an_earlier_load__computes_everything(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    analysis: tuple[Dataset, dict[str, str]],
) -> None:
    advance_to(clock, END)
    loaded = load_pulse(app, console, "checkout", "incremental")
    assert loaded["loadedAs"] == {
        "reloadType": "full",
        "fullBecause": "no earlier warehouse load of this experiment",
    }


def _check_last_day(
    stored: dict[tuple[str, str], dict[str, Any]],
    units: dict[str, Unit],
    last: dt.date,
) -> None:
    assert max(ds for view, ds in stored if view == "cumulative") == last.isoformat()
    _check_cumulative(stored[("cumulative", last.isoformat())], units, last)


def _check_cumulative(
    document: dict[str, Any], units: dict[str, Unit], day: dt.date
) -> dict[str, int]:
    """The cumulative view of ``day`` holds the units and every metric's sums of ``units``;
    returns the units per group."""
    counts, sums = cumulative_sums(units, day)
    assert document["units"] == counts, day
    for metric, entry in _names(document).items():
        assert_close(entry["sums"], sums[metric], f"{day} {metric}")
    return counts


def test_load__count_and_sum_metrics_only__every_days_views_equal_numpy(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    db: Database,
    team_warehouse: tuple[Dataset, str, Warehouse],
) -> None:
    """Without a ratio among the metrics, the rolling views are summed over pairs of each
    unit's rows instead of window functions (docs/warehouse.md §Views): every window of
    every day, and the cumulative views, still equal numpy's."""
    data, schema, _ = team_warehouse
    create_sources(console, schema, {"purchases": "events"})
    purchase = [{"type": "metadata", "column": "event", "condition": "in", "values": ["purchase"]}]
    for name, definition in (
        ("Revenue", {"aggregation": "sum", "valueColumn": "amount"}),
        ("Orders", {"aggregation": "count"}),
    ):
        created = console.post(
            "/console/v1/metrics",
            json={
                "name": name,
                "type": "user_warehouse",
                "warehouseNative": {
                    "metricSourceName": "purchases",
                    "criteria": purchase,
                    **definition,
                },
            },
        )
        assert created.status_code == 201, created.text
    create_experiment(console, "checkout", EXPERIMENT, "Revenue", ["Orders"])
    advance_to(clock, END)
    load_pulse(app, console, "checkout", "full")
    stored = stored_views(db)
    units, _ = analysed_units(data, None, END)
    first = min(u.first for u in units.values()).date()
    last = (END - dt.timedelta(seconds=1)).date()
    for day in (first + dt.timedelta(days=i) for i in range((last - first).days + 1)):
        counts, sums = cumulative_sums(units, day)
        cumulative = stored[("cumulative", day.isoformat())]
        assert cumulative["units"] == counts, day
        assert set(_names(cumulative)) == {"revenue", "orders"}
        for metric, entry in _names(cumulative).items():
            assert_close(entry["sums"], sums[metric], f"{day} {metric}")
        for window in (7, 14, 28):
            rolling = stored[(f"rolling_{window}", day.isoformat())]
            assert rolling["units"] == counts
            expected = daily_sums(units, day, window)
            for metric, entry in _names(rolling).items():
                assert_close(entry["sums"], expected[metric], f"{day} {window} {metric}")


def test_load__analysis_window__excludes_exposures_and_metric_days_outside_it(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    db: Database,
    analysis: tuple[Dataset, dict[str, str]],
) -> None:
    data, _ = analysis
    started = console.put(
        "/console/v1/experiments/checkout/start",
        json={"analysisStartTime": "2026-11-03", "analysisEndTime": "2026-11-06"},
    )
    assert started.status_code == 200, started.text
    shown = console.get("/console/v1/experiments/checkout").json()["data"]
    assert (shown["analysisStartTime"], shown["analysisEndTime"]) == ("2026-11-03", "2026-11-06")
    advance_to(clock, END)
    # the Pulse worker loads a started experiment once a day, though its window ended before
    assert app.state.pulse_runner.run_pending() == 1
    clock.advance(61_000)
    assert app.state.pulse_runner.run_pending() == 0
    history = console.get("/console/v1/experiments/checkout/pulse_load_history").json()["data"]
    (loaded,) = history
    assert (loaded["finishedState"], loaded["creatorName"]) == ("success", "Daily schedule")
    assert loaded["analysisWindow"] == {
        "start": "2026-11-03 00:00:00",
        "end": "2026-11-07 00:00:00",
    }
    stored = stored_views(db)
    units, crossovers = analysed_units(data, dt.datetime(2026, 11, 3), dt.datetime(2026, 11, 7))
    everyone, _ = analysed_units(data, None, END)
    assert 0 < len(units) < len(everyone)
    _check_last_day(stored, units, dt.date(2026, 11, 6))
    assert stored[("cumulative", "2026-11-06")]["crossoverUnits"] == crossovers
    assert min(ds for _, ds in stored) == "2026-11-03"

    # a fixed analysis duration of 2 days ends the window earlier
    patched = console.patch("/console/v1/experiments/checkout", json={"fixedAnalysisDuration": 2})
    assert patched.status_code == 200, patched.text
    loaded = load_pulse(app, console, "checkout", "full")
    assert loaded["analysisWindow"]["end"] == "2026-11-05 00:00:00"
    units, _ = analysed_units(data, dt.datetime(2026, 11, 3), dt.datetime(2026, 11, 5))
    with db.transaction() as session:
        latest = session.scalars(
            select(PulseResult.document).where(
                PulseResult.view == "cumulative", PulseResult.ds == "2026-11-04"
            )
        ).one()
    _check_cumulative(latest, units, dt.date(2026, 11, 4))


def test_load__assignment_source_filters__exposures_that_fail_them_not_read(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    db: Database,
    analysis: tuple[Dataset, dict[str, str]],
) -> None:
    data, _ = analysis
    # every third user's exposures, crossovers among them, are filtered out
    excluded = frozenset(f"u{i}" for i in range(0, 1200, 3))
    filters = [{"column": "user_id", "condition": "not_in", "values": sorted(excluded)}]
    patched = console.patch(
        "/console/v1/experiments/checkout", json={"assignmentSourceFilters": filters}
    )
    assert patched.status_code == 200, patched.text
    advance_to(clock, END)
    load_pulse(app, console, "checkout", "full")
    stored = stored_views(db)
    units, crossovers = analysed_units(data, None, END, excluded)
    everyone, all_crossovers = analysed_units(data, None, END)
    assert len(units) < len(everyone) and crossovers < all_crossovers
    last = (END - dt.timedelta(seconds=1)).date()
    _check_last_day(stored, units, last)
    assert stored[("cumulative", last.isoformat())]["crossoverUnits"] == crossovers
