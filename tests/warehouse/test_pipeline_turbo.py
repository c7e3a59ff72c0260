"""Turbo mode of warehouse-native loads (docs/warehouse.md §Turbo mode), end to end on DuckDB,
PostgreSQL and chDB with the dataset of ``test_pipeline_end_to_end``: a turbo load stores the
last day's cumulative view exactly as a standard load does (CUPED, winsorization, percentiles,
crossovers, health checks) and nothing else, keeping the views earlier loads stored; a turbo
schedule builds a history of cumulative views day by day; the experiment remembers the setting
of its last load for the loads that follow; ``pulse_load_history`` says which loads were
turbo."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.domains.warehouse.adapters import Warehouse
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from tests.contract.client import ContractClient
from tests.warehouse.support import advance_to, load_pulse, stored_views
from tests.warehouse.test_pipeline_end_to_end import (
    END,
    T0,
    Dataset,
    define_analysis,
    team_warehouse,
)
from tests.warehouse.test_pipeline_views import _check_cumulative, analysed_units

__all__ = ["team_warehouse"]  # the fixture, shared with the end-to-end test

EXPERIMENT = "/console/v1/experiments/checkout"
PURCHASE = [{"type": "metadata", "column": "event", "condition": "in", "values": ["purchase"]}]


def _with_percentile(console: ContractClient, schema: str) -> dict[str, str]:
    """``define_analysis``'s experiment with a percentile metric among its secondary ones."""
    groups = define_analysis(console, schema)
    created = console.post(
        "/console/v1/metrics",
        json={
            "name": "Order p90",
            "type": "user_warehouse",
            "warehouseNative": {
                "metricSourceName": "purchases",
                "aggregation": "percentile",
                "valueColumn": "amount",
                "criteria": PURCHASE,
                "percentile": 90,
            },
        },
    )
    assert created.status_code == 201, created.text
    secondary = console.get(EXPERIMENT).json()["data"]["secondaryMetrics"]
    patched = console.patch(
        EXPERIMENT,
        json={"secondaryMetrics": [*secondary, {"name": "Order p90", "type": "user_warehouse"}]},
    )
    assert patched.status_code == 200, patched.text
    return groups


def _results(console: ContractClient, groups: dict[str, str], **params: str) -> dict[str, Any]:
    response = console.get(
        f"{EXPERIMENT}/pulse_results",
        params={"control": groups["Control"], "test": groups["Test"], **params},
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def _close(found: Any, expected: Any, where: str = "") -> None:
    """``found`` equals ``expected``, numbers within a relative 1e-12."""
    if isinstance(expected, dict):
        assert isinstance(found, dict) and found.keys() == expected.keys(), where
        for key, value in expected.items():
            _close(found[key], value, f"{where}/{key}")
    elif isinstance(expected, list):
        assert isinstance(found, list) and len(found) == len(expected), where
        for i, (a, b) in enumerate(zip(found, expected, strict=True)):
            _close(a, b, f"{where}/{i}")
    elif isinstance(expected, float):
        assert found == pytest.approx(expected, rel=1e-12, abs=1e-12), where
    else:
        assert found == expected, where


def _same(document: dict[str, Any]) -> dict[str, Any]:
    """A stored view less what differs between two loads of the same data."""
    return {k: v for k, v in document.items() if k not in ("computedTime", "warehouse")}


def test_load__turbo_after_a_standard_load__last_day_identical_earlier_views_kept(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    db: Database,
    team_warehouse: tuple[Dataset, str, Warehouse],
) -> None:
    _, schema, _ = team_warehouse
    groups = _with_percentile(console, schema)
    advance_to(clock, END)
    standard = load_pulse(app, console, "checkout", "full")
    assert standard["turboMode"] is False
    before = stored_views(db)
    results_before = _results(console, groups)
    uncorrected_before = _results(console, groups, cuped="false")
    last = (END - dt.timedelta(seconds=1)).date().isoformat()

    turbo = load_pulse(app, console, "checkout", body={"refresh": "full", "turboMode": True})

    assert turbo["turboMode"] is True
    assert turbo["loadedAs"] == {"reloadType": "full"}
    assert turbo["healthChecks"] == standard["healthChecks"]
    after = stored_views(db)
    # the last day's cumulative view is the standard load's (sums to the last bits that the
    # order of a warehouse's parallel sums changes from one load to the next)
    _close(_same(after[("cumulative", last)]), _same(before[("cumulative", last)]))
    entries = {m["metricName"]: m for m in after[("cumulative", last)]["metrics"]}
    assert entries["Revenue"]["winsorization"]["cap"] is not None
    assert entries["Order p90"]["percentile"]
    assert after[("cumulative", last)]["crossoverUnits"] > 0
    _close(_results(console, groups), results_before)
    _close(_results(console, groups, cuped="false"), uncorrected_before)
    # earlier days' views are kept as the standard load stored them; the last day's own
    # daily and rolling views, which a turbo load does not compute, are gone
    computed_last = {key for key in before if key[1] == last and key[0] != "cumulative"}
    assert computed_last  # daily and rolling views of the last day
    assert after.keys() == before.keys() - computed_last
    for key, document in after.items():
        if key != ("cumulative", last):
            assert document == before[key], key
    # the days since exposure view still reads the kept daily views
    since = _results(console, groups, view="days_since_exposure", day="1")
    assert since["primaryMetrics"][0]["testUnits"] > 0


def test_load__turbo_schedule_day_by_day__builds_cumulative_history_and_is_remembered(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    db: Database,
    team_warehouse: tuple[Dataset, str, Warehouse],
) -> None:
    data, schema, _ = team_warehouse
    define_analysis(console, schema)
    started = console.put(f"{EXPERIMENT}/start", json={"turboMode": True})
    assert started.status_code == 200, started.text
    assert console.get(EXPERIMENT).json()["data"]["turboMode"] is True

    # the Pulse worker's daily loads at the end of three days: turbo, as the start set it
    days = [T0.date() + dt.timedelta(days=k) for k in (2, 3, 4)]
    for day in days:
        advance_to(clock, dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))
        assert app.state.pulse_runner.run_pending() == 1
    history = console.get(f"{EXPERIMENT}/pulse_load_history").json()["data"]
    assert [(h["creatorName"], h["turboMode"]) for h in history] == [("Daily schedule", True)] * 3
    assert [h["reloadType"] for h in history] == ["incremental"] * 3

    stored = stored_views(db)
    assert set(stored) == {("cumulative", day.isoformat()) for day in days}
    for day in days:
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
        units, crossovers = analysed_units(data, None, end)
        document = stored[("cumulative", day.isoformat())]
        _check_cumulative(document, units, day)
        assert document["crossoverUnits"] == crossovers

    # a load that asks for no turbo mode in its query switches it off, for the loads after it
    standard = load_pulse(app, console, "checkout", "full", turboMode="false")
    assert standard["turboMode"] is False
    assert console.get(EXPERIMENT).json()["data"]["turboMode"] is False
    restated = stored_views(db)
    assert ("daily", days[0].isoformat()) in restated
    assert len({ds for view, ds in restated if view == "cumulative"}) > len(days)
    assert load_pulse(app, console, "checkout")["turboMode"] is False
    # and one that asks for it in its body switches it back on
    assert load_pulse(app, console, "checkout", body={"turboMode": True})["turboMode"] is True
    assert load_pulse(app, console, "checkout", "incremental")["turboMode"] is True
    assert console.get(EXPERIMENT).json()["data"]["turboMode"] is True


@pytest.mark.parametrize("team_warehouse", ["duckdb"], indirect=True)
def test_load__turbo_metric_refresh__restates_the_last_day_alone(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    db: Database,
    team_warehouse: tuple[Dataset, str, Warehouse],
) -> None:
    _, schema, _ = team_warehouse
    define_analysis(console, schema)
    advance_to(clock, END)
    load_pulse(app, console, "checkout", "full")
    before = stored_views(db)
    last = (END - dt.timedelta(seconds=1)).date().isoformat()

    refreshed = load_pulse(
        app,
        console,
        "checkout",
        body={"refresh": "metric", "metricIDs": ["Orders::user_warehouse"]},
        turboMode="true",
    )

    assert refreshed["turboMode"] is True
    assert refreshed["loadedAs"] == {
        "reloadType": "metric",
        "metricIDs": ["Orders::user_warehouse"],
    }
    after = stored_views(db)
    assert after.keys() == before.keys()
    _close(after[("cumulative", last)]["metrics"], before[("cumulative", last)]["metrics"])
    for key, document in after.items():
        if key != ("cumulative", last):
            assert document == before[key], key


@pytest.mark.parametrize("team_warehouse", ["duckdb"], indirect=True)
def test_load_pulse__turbo_mode_not_a_boolean__400(
    console: ContractClient,
    team_warehouse: tuple[Dataset, str, Warehouse],
) -> None:
    _, schema, _ = team_warehouse
    define_analysis(console, schema)
    refused = console.post(f"{EXPERIMENT}/load_pulse", params={"turboMode": "fast"}, json={})
    assert refused.status_code == 400
    assert refused.json()["message"] == (
        'Invalid request. turboMode: must be "true" or "false", got \'fast\''
    )
    assert console.get(EXPERIMENT).json()["data"]["turboMode"] is False
