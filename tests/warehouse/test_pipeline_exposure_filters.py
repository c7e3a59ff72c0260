"""An experiment's ``assignmentSourceFilters`` with the text conditions and the team's own SQL,
end to end on DuckDB, PostgreSQL and chDB: exposure rows whose text column holds ``%`` and
``_`` (LIKE's wildcards, plain characters here), upper and lower case and NULL; the units,
crossovers and sums a load stores equal an independent Python computation over the rows that
pass the filters; a SQL condition the warehouse refuses fails the load with its error; an
``analysisEndTime`` set by an update ends the analysis there."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI

from lockgate.domains.warehouse.adapters import Warehouse
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from tests.contract.client import ContractClient
from tests.warehouse.conftest import connected_warehouse, drop_schema, scratch_name
from tests.warehouse.support import (
    advance_to,
    create_experiment,
    create_sources,
    load_pulse,
    stored_views,
)
from tests.warehouse.test_pipeline_end_to_end import expected_sums, insert

EXPERIMENT = "banner_test"
T0 = dt.datetime(2026, 11, 1)
END = T0 + dt.timedelta(days=6)
LAST_DAY = (END - dt.timedelta(seconds=1)).date().isoformat()
# The exposure rows' ``note``: LIKE's wildcards as plain characters, cases, and NULL.
NOTES = ("50%_off", "50Xoff", "a_b", "aXb", "promo%", "PROMO%", "100%", None, "x%y_z")
# Column types per warehouse: text, nullable text, timestamp, number, table engine.
TYPES = {
    "duckdb": ("VARCHAR", "VARCHAR", "TIMESTAMP", "DOUBLE", ""),
    "postgresql": ("VARCHAR(64)", "VARCHAR(64)", "TIMESTAMP", "DOUBLE PRECISION", ""),
    "clickhouse": (
        "String",
        "Nullable(String)",
        "DateTime",
        "Nullable(Float64)",
        " ENGINE = MergeTree ORDER BY user_id",
    ),
}

Exposure = tuple[str, dt.datetime, str, str, str | None]  # user_id, ts, experiment, grp, note
Event = tuple[str, dt.datetime, str, float]  # user_id, ts, event, amount


def generate(units: int = 240) -> tuple[list[Exposure], list[Event]]:
    """Units exposed two or three times with different notes (so a filter may drop a unit's
    first exposure but not its later ones), a few crossovers, rows of another experiment;
    purchases before and after the exposures."""
    rng = np.random.default_rng(11)
    exposures: list[Exposure] = []
    events: list[Event] = []
    for i in range(units):
        user = f"u{i}"
        group = "Test" if rng.random() < 0.5 else "Control"
        first = T0 + dt.timedelta(minutes=int(rng.integers(0, 3 * 24 * 60)))
        for k in range(2 + i % 2):
            note = NOTES[(i + 4 * k) % len(NOTES)]
            exposures.append((user, first + dt.timedelta(hours=7 * k), EXPERIMENT, group, note))
        if i % 20 == 0:  # a crossover, unless the filters drop this exposure
            other = "Control" if group == "Test" else "Test"
            note = NOTES[(i + 1) % len(NOTES)]
            exposures.append((user, first + dt.timedelta(hours=2), EXPERIMENT, other, note))
        if i % 6 == 0:
            exposures.append((user, first, "another_experiment", group, "50%_off"))
        for _ in range(int(rng.poisson(2.0))):
            at = first + dt.timedelta(minutes=int(rng.integers(-24 * 60, 2 * 24 * 60)))
            events.append((user, at, "purchase", float(rng.integers(1, 50))))
    return exposures, events


@pytest.fixture(params=list(TYPES))
def filtered_warehouse(
    request: pytest.FixtureRequest, console: ContractClient, settings: Settings, chdb_path: Path
) -> Iterator[tuple[list[Exposure], list[Event], Warehouse]]:
    """The rows in the team's warehouse, its sources, a count metric and the analysis-only
    experiment ``banner``."""
    kind, schema = request.param, scratch_name()
    exposures, events = generate()
    adapter, connection = connected_warehouse(kind, schema, settings, chdb_path)
    text, nullable, timestamp, number, engine = TYPES[kind]
    with adapter:
        adapter.ensure_staging()
        adapter.run(
            f"CREATE TABLE {schema}.exposures (user_id {text}, ts {timestamp}, "
            f"experiment {text}, grp {text}, note {nullable}){engine}"
        )
        adapter.run(
            f"CREATE TABLE {schema}.events (user_id {text}, ts {timestamp}, event {text}, "
            f"amount {number}){engine}"
        )
        insert(adapter, f"{schema}.exposures", exposures)
        insert(adapter, f"{schema}.events", events)
    assert console.patch("/console/v1/wh_connections", json=connection).status_code == 200
    create_sources(console, schema, {"purchases": "events"})
    created = console.post(
        "/console/v1/metrics",
        json={
            "name": "Orders",
            "type": "user_warehouse",
            "warehouseNative": {"metricSourceName": "purchases", "aggregation": "count"},
        },
    )
    assert created.status_code == 201, created.text
    create_experiment(console, "banner", EXPERIMENT, "Orders", [])
    try:
        yield exposures, events, adapter
    finally:
        with adapter:
            drop_schema(adapter, kind, schema)


def expected(
    exposures: list[Exposure],
    events: list[Event],
    passes: Callable[[Exposure], bool],
    end: dt.datetime = END,
) -> tuple[dict[str, int], int, dict[str, dict[str, float]]]:
    """Units per group, crossovers and the count metric's sums of the analysis ending at
    ``end``, computed in Python over the exposure rows that pass the filters."""
    groups: dict[str, set[str]] = {}
    first: dict[str, dt.datetime] = {}
    for row in exposures:
        user, ts, experiment, group, _ = row
        if experiment != EXPERIMENT or ts >= end or not passes(row):
            continue
        groups.setdefault(user, set()).add(group)
        first[user] = min(first.get(user, ts), ts)
    analysed = {u: next(iter(g)) for u, g in groups.items() if len(g) == 1}
    values = {u: [0.0, 1.0, 0.0, 1.0] for u in analysed}  # x, y, xp, yp as Pulse stores them
    for user, ts, _, _ in events:
        if user not in analysed or ts >= end:
            continue
        if ts >= first[user]:
            values[user][0] += 1
        elif ts >= first[user] - dt.timedelta(days=7):
            values[user][2] += 1
    units = {g: sum(1 for u in analysed.values() if u == g) for g in ("Control", "Test")}
    sums = {
        g: expected_sums(np.array([values[u] for u in analysed if analysed[u] == g]), ratio=False)
        for g in ("Control", "Test")
    }
    return units, sum(len(g) > 1 for g in groups.values()), sums


def _note(row: Exposure) -> str | None:
    return row[4]


# Each case: the filters, and the same rule over an exposure row in Python.
CASES: dict[str, tuple[list[dict[str, Any]], Callable[[Exposure], bool]]] = {
    "contains a wildcard pair": (
        [{"column": "note", "condition": "contains", "values": ["%_"]}],
        lambda r: _note(r) is not None and "%_" in str(_note(r)),
    ),
    "contains any of two": (
        [{"column": "NOTE", "condition": "contains", "values": ["_", "X"]}],
        lambda r: _note(r) is not None and ("_" in str(_note(r)) or "X" in str(_note(r))),
    ),
    "not_contains": (
        [{"column": "note", "condition": "not_contains", "values": ["_"]}],
        lambda r: _note(r) is not None and "_" not in str(_note(r)),
    ),
    "starts_with a percent": (
        [{"column": "note", "condition": "starts_with", "values": ["50%"]}],
        lambda r: str(_note(r)).startswith("50%") and _note(r) is not None,
    ),
    "starts_with, case-sensitive": (
        [{"column": "note", "condition": "starts_with", "values": ["promo"]}],
        lambda r: str(_note(r)).startswith("promo") and _note(r) is not None,
    ),
    "ends_with and not_contains": (
        [
            {"column": "note", "condition": "ends_with", "values": ["%"]},
            {"column": "note", "condition": "not_contains", "values": ["o"]},
        ],
        lambda r: _note(r) is not None and str(_note(r)).endswith("%") and "o" not in str(_note(r)),
    ),
    "sql_filter": (
        [
            {
                "condition": "sql_filter",
                "values": ["note IN ('a_b', 'aXb', 'it''s') OR (user_id = 'u3')"],
            }
        ],
        lambda r: _note(r) in ("a_b", "aXb") or r[0] == "u3",
    ),
}


def test_load__text_and_sql_filters__units_and_sums_equal_python(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    db: Database,
    filtered_warehouse: tuple[list[Exposure], list[Event], Warehouse],
) -> None:
    exposures, events, _ = filtered_warehouse
    advance_to(clock, END)
    everyone, _, _ = expected(exposures, events, lambda r: True)
    for name, (filters, passes) in CASES.items():
        patched = console.patch(
            "/console/v1/experiments/banner", json={"assignmentSourceFilters": filters}
        )
        assert patched.status_code == 200, patched.text
        load_pulse(app, console, "banner", "full")
        stored = stored_views(db)[("cumulative", LAST_DAY)]
        units, crossovers, sums = expected(exposures, events, passes)
        # each filter keeps some units and changes who is analysed
        assert sum(units.values()) > 0 and units != everyone, name
        assert stored["units"] == units, name
        assert stored["crossoverUnits"] == crossovers, name
        (orders,) = stored["metrics"]
        for group in ("Control", "Test"):
            assert orders["sums"][group] == pytest.approx(sums[group], rel=1e-9), (name, group)


def test_load__sql_filter_the_warehouse_refuses__load_fails_with_its_error(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    filtered_warehouse: tuple[list[Exposure], list[Event], Warehouse],
) -> None:
    filters = [{"condition": "sql_filter", "values": ["no_such_column > 1"]}]
    patched = console.patch(
        "/console/v1/experiments/banner", json={"assignmentSourceFilters": filters}
    )
    assert patched.status_code == 200, patched.text
    advance_to(clock, END)

    assert console.post("/console/v1/experiments/banner/load_pulse", json={}).status_code == 200
    assert app.state.pulse_runner.run_pending() == 1

    history = console.get("/console/v1/experiments/banner/pulse_load_history").json()["data"]
    assert history[0]["finishedState"] == "failure"
    assert history[0]["message"].startswith("WarehouseError: ")
    assert "no_such_column" in history[0]["message"]
    # the server still answers, and a load without the bad filter succeeds
    cleared = console.patch(
        "/console/v1/experiments/banner", json={"assignmentSourceFilters": None}
    )
    assert cleared.status_code == 200, cleared.text
    load_pulse(app, console, "banner", "full")


def test_load__analysis_end_time_set_by_an_update__ends_the_analysis_there(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    db: Database,
    filtered_warehouse: tuple[list[Exposure], list[Event], Warehouse],
) -> None:
    exposures, events, _ = filtered_warehouse
    filters, passes = CASES["not_contains"]
    body = {"analysisEndTime": "2026-11-02", "assignmentSourceFilters": filters}
    patched = console.patch("/console/v1/experiments/banner", json=body)
    assert patched.status_code == 200, patched.text
    advance_to(clock, END)
    loaded = load_pulse(app, console, "banner", "full")
    assert loaded["analysisWindow"]["end"] == "2026-11-03 00:00:00"
    stored = stored_views(db)
    assert max(ds for _, ds in stored) == "2026-11-02"
    units, crossovers, sums = expected(exposures, events, passes, dt.datetime(2026, 11, 3))
    assert units != expected(exposures, events, passes)[0]  # the end changes who is analysed
    last = stored[("cumulative", "2026-11-02")]
    assert (last["units"], last["crossoverUnits"]) == (units, crossovers)
    for group in ("Control", "Test"):
        assert last["metrics"][0]["sums"][group] == pytest.approx(sums[group], rel=1e-9)

    # null removes it: the next load analyses up to its own time
    cleared = console.patch("/console/v1/experiments/banner", json={"analysisEndTime": None})
    assert cleared.status_code == 200, cleared.text
    loaded = load_pulse(app, console, "banner", "full")
    assert loaded["analysisWindow"]["end"] == END.strftime("%Y-%m-%d %H:%M:%S")
    units, _, _ = expected(exposures, events, passes)
    assert stored_views(db)[("cumulative", LAST_DAY)]["units"] == units
