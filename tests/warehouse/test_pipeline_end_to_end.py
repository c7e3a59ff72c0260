"""Warehouse-native analysis end to end: a generated dataset with a planted lift in the team's
warehouse, sources, metrics and an analysis-only experiment defined through the Console API,
``load_pulse`` run by the Pulse worker in the warehouse, and ``pulse_results`` equal to an
independent numpy/scipy computation over the same rows."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from fastapi import FastAPI
from scipy import stats as scipy_stats
from sqlalchemy import select

from lockgate.domains.warehouse.adapters import Warehouse
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.models import PulseResult
from tests.contract.client import ContractClient
from tests.warehouse.conftest import connected_warehouse, drop_schema, scratch_name
from tests.warehouse.support import (
    advance_to,
    by_name,
    create_experiment,
    create_sources,
    load_pulse,
    pulse_results,
    stored_views,
)

EXPERIMENT = "checkout_flow"
T0 = dt.datetime(2026, 11, 1)
END = T0 + dt.timedelta(days=10)  # the clock at load time
LAST_DAY = (END - dt.timedelta(days=1)).date().isoformat()  # the load's cumulative view
Z = float(scipy_stats.norm.ppf(0.975))


@dataclass
class Dataset:
    exposures: list[tuple[str, dt.datetime, str, str]]  # user_id, ts, experiment, grp
    events: list[tuple[str, dt.datetime, str, float | None]]  # user_id, ts, event, amount


def generate(seed: int = 7, units: int = 1200) -> Dataset:
    """Units exposed one to three times over a week; a few crossovers, rows of another
    experiment, purchases before exposure, after the analysis end and of other events; the
    Test group's purchases are larger (the planted lift) and more frequent."""
    rng = np.random.default_rng(seed)
    exposures: list[tuple[str, dt.datetime, str, str]] = []
    events: list[tuple[str, dt.datetime, str, float | None]] = []
    for i in range(units):
        user = f"u{i}"
        group = "Test" if rng.random() < 0.5 else "Control"
        first = T0 + dt.timedelta(minutes=int(rng.integers(0, 7 * 24 * 60)))
        for k in range(int(rng.integers(1, 4))):
            exposures.append((user, first + dt.timedelta(hours=5 * k), EXPERIMENT, group))
        if i % 150 == 0:  # a crossover: seen in the other group too
            other = "Control" if group == "Test" else "Test"
            exposures.append((user, first + dt.timedelta(hours=1), EXPERIMENT, other))
        if i % 7 == 0:
            exposures.append((user, T0, "another_experiment", "Control"))
        purchases = int(rng.poisson(1.6 if group == "Test" else 1.2))
        for _ in range(purchases):
            at = first + dt.timedelta(minutes=int(rng.integers(1, 3 * 24 * 60)))
            amount = float(round(rng.gamma(2.0, 12.0 if group == "Test" else 10.0), 2))
            events.append((user, at, "purchase", amount))
        if i % 5 == 0:  # before exposure: the CUPED covariate only
            events.append((user, first - dt.timedelta(hours=2), "purchase", 50.0 + i % 40))
        if i % 17 == 0:  # more than a week before exposure: not counted at all
            events.append((user, first - dt.timedelta(days=8), "purchase", 900.0))
        if i % 11 == 0:  # after the analysis end: not counted
            events.append((user, END + dt.timedelta(hours=1), "purchase", 700.0))
        if i % 3 == 0:  # another event: filtered out by the criteria
            events.append((user, first + dt.timedelta(hours=1), "page_view", 1.0))
        if i % 13 == 0:  # a purchase without amount: counted rows, no value
            events.append((user, first + dt.timedelta(hours=3), "purchase", None))
    return Dataset(exposures, events)


Unit = tuple[float, float, float, float]  # x, y after exposure; xp, yp over the week before


def expected_unit_values(data: Dataset) -> dict[str, dict[str, list[Unit]]]:
    """Per group name, per metric, each analysed unit's values: computed in Python from the
    rows, independently of the warehouse SQL."""
    groups: dict[str, set[str]] = {}
    first: dict[str, dt.datetime] = {}
    for user, ts, experiment, group in data.exposures:
        if experiment != EXPERIMENT or ts >= END:
            continue
        groups.setdefault(user, set()).add(group)
        first[user] = min(first.get(user, ts), ts)
    analysed = {u: next(iter(g)) for u, g in groups.items() if len(g) == 1}
    # per unit, per period (0: after exposure, 1: the CUPED week before): Σ amount, amounts, rows
    sums = {u: [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]] for u in analysed}
    for user, ts, event, amount in data.events:
        if user not in analysed or event != "purchase" or ts >= END:
            continue
        if first[user] <= ts:
            period = sums[user][0]
        elif first[user] - dt.timedelta(days=7) <= ts:
            period = sums[user][1]
        else:
            continue
        period[2] += 1
        if amount is not None:
            period[0] += amount
            period[1] += 1
    out: dict[str, dict[str, list[Unit]]] = {}
    for user, group in analysed.items():
        metrics = out.setdefault(group, {"revenue": [], "orders": [], "basket": []})
        (total, count, rows), (pre_total, pre_count, pre_rows) = sums[user]
        metrics["revenue"].append((total, 1.0, pre_total, 1.0))
        metrics["orders"].append((rows, 1.0, pre_rows, 1.0))
        if count:
            metrics["basket"].append((total, count, pre_total, pre_count))
    return out


def expected_sums(units: np.ndarray, ratio: bool) -> dict[str, float]:
    """The sums Pulse stores for one group of one metric, from its units' values."""
    x, y, xp, yp = units.T
    sums = {
        "n": len(units),
        "sx": x.sum(),
        "sxx": (x * x).sum(),
        "sxp": xp.sum(),
        "sxpxp": (xp * xp).sum(),
        "sxxp": (x * xp).sum(),
        "with_pre": (xp != 0).sum(),
    }
    if ratio:
        sums |= {
            "sy": y.sum(),
            "syy": (y * y).sum(),
            "sxy": (x * y).sum(),
            "syp": yp.sum(),
            "sypyp": (yp * yp).sum(),
            "sxpyp": (xp * yp).sum(),
            "sxyp": (x * yp).sum(),
            "syxp": (y * xp).sum(),
            "syyp": (y * yp).sum(),
        }
    return {k: float(v) for k, v in sums.items()}


def welch_z(control: np.ndarray, test: np.ndarray) -> tuple[float, float, float, float, float]:
    """Means, delta, CI half-width and two-sided p of a mean metric (z, as n > 100)."""
    mc, mt = control.mean(), test.mean()
    se = math.sqrt(control.var(ddof=1) / len(control) + test.var(ddof=1) / len(test))
    delta = mt - mc
    return mc, mt, delta, Z * se, float(2 * scipy_stats.norm.sf(abs(delta / se)))


def delta_method(control: np.ndarray, test: np.ndarray) -> tuple[float, float, float, float, float]:
    """The same for a ratio Σx/Σy over units, its variance by the delta method."""

    def ratio_and_variance(units: np.ndarray) -> tuple[float, float]:
        x, y = units[:, 0], units[:, 1]
        r = x.sum() / y.sum()
        cov = np.cov(x, y, ddof=1)
        variance = (cov[0, 0] - 2 * r * cov[0, 1] + r * r * cov[1, 1]) / (y.mean() ** 2)
        return r, variance / len(units)

    rc, vc = ratio_and_variance(control)
    rt, vt = ratio_and_variance(test)
    se = math.sqrt(vc + vt)
    delta = rt - rc
    return rc, rt, delta, Z * se, float(2 * scipy_stats.norm.sf(abs(delta / se)))


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return f"'{value.strftime('%Y-%m-%d %H:%M:%S')}'"
    return "'" + str(value).replace("'", "''") + "'"


def insert(adapter: Warehouse, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
    for offset in range(0, len(rows), 1000):
        values = ", ".join(
            "(" + ", ".join(_literal(v) for v in row) + ")" for row in rows[offset : offset + 1000]
        )
        adapter.run(f"INSERT INTO {table} VALUES {values}")


# The tables of the team's warehouse, per warehouse: (exposures, events) column types.
TABLES = {
    "duckdb": ("VARCHAR", "TIMESTAMP", "DOUBLE", ""),
    "postgresql": ("VARCHAR(64)", "TIMESTAMP", "DOUBLE PRECISION", ""),
    "clickhouse": (
        "String",
        "DateTime",
        "Nullable(Float64)",
        " ENGINE = MergeTree ORDER BY user_id",
    ),
}


@pytest.fixture(params=list(TABLES))
def team_warehouse(
    request: pytest.FixtureRequest, console: ContractClient, settings: Settings, chdb_path: Path
) -> Iterator[tuple[Dataset, str, Warehouse]]:
    """The dataset in the team's warehouse (a DuckDB file, a PostgreSQL schema, a chDB
    database) and the project's connection to it; answers the dataset, the schema its tables
    are in and an adapter over that warehouse."""
    kind, schema = request.param, scratch_name()
    data = generate()
    adapter, connection = connected_warehouse(kind, schema, settings, chdb_path)
    text, timestamp, number, engine = TABLES[kind]
    with adapter:
        adapter.ensure_staging()
        adapter.run(
            f"CREATE TABLE {schema}.exposures (user_id {text}, ts {timestamp}, "
            f"experiment {text}, grp {text}){engine}"
        )
        adapter.run(
            f"CREATE TABLE {schema}.events (user_id {text}, ts {timestamp}, event {text}, "
            f"amount {number}){engine}"
        )
        insert(adapter, f"{schema}.exposures", data.exposures)
        insert(adapter, f"{schema}.events", data.events)
    response = console.patch("/console/v1/wh_connections", json=connection)
    assert response.status_code == 200, response.text
    try:
        yield data, schema, adapter
    finally:
        with adapter:
            drop_schema(adapter, kind, schema)


def define_analysis(console: ContractClient, schema: str) -> dict[str, str]:
    """Sources, three warehouse-native metrics and the analysis-only experiment; answers the
    group ids by name."""
    create_sources(console, schema, {"purchases": "events"})
    purchase = [{"type": "metadata", "column": "event", "condition": "in", "values": ["purchase"]}]
    for name, definition in (
        ("Revenue", {"aggregation": "sum", "valueColumn": "amount", "winsorizationHigh": 0.99}),
        ("Orders", {"aggregation": "count"}),
        ("Basket", {"aggregation": "mean", "valueColumn": "AMOUNT"}),
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
    return create_experiment(console, "checkout", EXPERIMENT, "Revenue", ["Orders", "Basket"])


def test_load_pulse__warehouse_native_experiment__results_equal_numpy(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    db: Database,
    team_warehouse: tuple[Dataset, str, Warehouse],
) -> None:
    data, schema, _ = team_warehouse
    groups = define_analysis(console, schema)
    advance_to(clock, END)

    assert load_pulse(app, console, "checkout")["progress"] == 100
    query = {"control": groups["Control"], "test": groups["Test"]}
    found = by_name(pulse_results(console, "checkout", **query, cuped="false"))
    units = expected_unit_values(data)
    # Revenue is winsorized: unit values above the 99th percentile of the non-zero ones, over
    # both groups, are replaced by it (numpy's linear percentile is PERCENTILE_CONT)
    revenue = np.array(units["Control"]["revenue"] + units["Test"]["revenue"])[:, 0]
    cap = float(np.percentile(revenue[revenue != 0], 99))
    raw_revenue = {g: np.array(units[g]["revenue"]) for g in ("Control", "Test")}
    for group in ("Control", "Test"):
        capped = raw_revenue[group].copy()
        capped[:, 0] = np.minimum(capped[:, 0], cap)
        units[group]["revenue"] = [tuple(row) for row in capped]
    for name, key, method in (
        ("Revenue", "revenue", welch_z),
        ("Orders", "orders", welch_z),
        ("Basket", "basket", delta_method),
    ):
        control, test = (np.array(units[g][key]) for g in ("Control", "Test"))
        if method is welch_z:
            control, test = control[:, 0], test[:, 0]
        mc, mt, delta, half_width, p = method(control, test)
        metric = found[name]
        assert metric["controlUnits"] == len(control)
        assert metric["testUnits"] == len(test)
        assert metric["controlMean"] == pytest.approx(mc, rel=1e-9)
        assert metric["testMean"] == pytest.approx(mt, rel=1e-9)
        assert metric["absoluteChange"] == pytest.approx(delta, rel=1e-9)
        assert metric["confidenceIntervalDelta"] == pytest.approx(half_width, rel=1e-9)
        assert metric["pValue"] == pytest.approx(p, rel=1e-6, abs=1e-12)
    seen: dict[str, set[str]] = {}
    for user, _, experiment, group in data.exposures:
        if experiment == EXPERIMENT:
            seen.setdefault(user, set()).add(group)
    with db.transaction() as session:
        stored = session.scalars(
            select(PulseResult.document).where(
                PulseResult.view == "cumulative", PulseResult.ds == LAST_DAY
            )
        ).one()
    assert stored["crossoverUnits"] == sum(len(g) > 1 for g in seen.values()) > 0
    assert stored["units"] == {g: len(units[g]["revenue"]) for g in ("Control", "Test")}
    for entry, key in zip(stored["metrics"], ("revenue", "orders", "basket"), strict=True):
        for group in ("Control", "Test"):
            expected = expected_sums(np.array(units[group][key]), ratio=key == "basket")
            found_sums = entry["cappedSums" if key == "revenue" else "sums"][group]
            assert found_sums == pytest.approx(expected, rel=1e-9), (key, group)
    revenue_entry = stored["metrics"][0]
    assert revenue_entry["winsorization"]["cap"] == pytest.approx(cap, rel=1e-12)
    assert (raw_revenue["Test"][:, 0] > cap).any()  # the cap bites
    for group in ("Control", "Test"):
        raw = expected_sums(raw_revenue[group], ratio=False)
        assert revenue_entry["sums"][group] == pytest.approx(raw, rel=1e-9)
    pulse_results(console, "checkout", **query)  # with CUPED
    # the planted lift is found
    assert found["Revenue"]["pValue"] < 0.001 and found["Revenue"]["absoluteChange"] > 0


def test_load_pulse__metric_source_gone_in_the_warehouse__load_fails_with_its_error(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    team_warehouse: tuple[Dataset, str, Warehouse],
) -> None:
    _, schema, adapter = team_warehouse
    groups = define_analysis(console, schema)
    advance_to(clock, END)
    with adapter:
        adapter.run(f"DROP TABLE {schema}.events")

    assert console.post("/console/v1/experiments/checkout/load_pulse", json={}).status_code == 200
    assert app.state.pulse_runner.run_pending() == 1

    history = console.get("/console/v1/experiments/checkout/pulse_load_history").json()["data"]
    assert history[0]["finishedState"] == "failure"
    assert history[0]["message"].startswith("WarehouseError: ")
    assert "events" in history[0]["message"]
    response = console.get(
        "/console/v1/experiments/checkout/pulse_results",
        params={"control": groups["Control"], "test": groups["Test"]},
    )
    assert response.json()["data"]["primaryMetrics"] == []


ORDERS = "Orders::user_warehouse"


def _rounded(value: Any) -> Any:
    """``value`` with every float to 9 significant digits: two loads of one metric may add
    its rows in another order."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _entry(document: dict[str, Any], metric: str) -> dict[str, Any]:
    return next(m for m in document["metrics"] if m["metricID"] == metric)


def staging_tables(adapter: Warehouse, schema: str) -> set[str]:
    """The names of the tables in ``schema`` (the staging schema here) that Lockgate wrote."""
    with adapter:
        found = adapter.fetch(
            "SELECT table_name FROM information_schema.tables "
            f"WHERE table_schema = '{schema}' AND table_name LIKE 'lg%'"
        )
    return {str(row[0]) for row in found.rows}


def test_load_pulse__metric_refresh__restates_that_metric_alone(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    db: Database,
    team_warehouse: tuple[Dataset, str, Warehouse],
) -> None:
    data, schema, adapter = team_warehouse
    groups = define_analysis(console, schema)
    advance_to(clock, END)
    load_pulse(app, console, "checkout")
    before = stored_views(db)
    tables = staging_tables(adapter, schema)
    assert tables, "the full load left its staging tables"
    # Given more purchases in the source of both Orders and Revenue
    extra = [
        (user, ts + dt.timedelta(minutes=1), event, None if amount is None else amount + 5.0)
        for user, ts, event, amount in data.events
        if event == "purchase" and int(user[1:]) % 4 == 0
    ]
    with adapter:
        insert(adapter, f"{schema}.events", extra)
    changed = Dataset(data.exposures, data.events + extra)

    # When Orders alone is reloaded
    response = console.post(
        "/console/v1/experiments/checkout/load_pulse",
        params={"refresh": "metric"},
        json={"metricIDs": [ORDERS]},
    )
    assert response.status_code == 200, response.text
    assert app.state.pulse_runner.run_pending() == 1

    # Then the load is a metric load, and every other metric's stored values are as they were
    history = console.get("/console/v1/experiments/checkout/pulse_load_history").json()["data"]
    assert history[0]["finishedState"] == "success", history[0]
    assert history[0]["reloadType"] == "metric"
    assert history[0]["loadedAs"] == {"reloadType": "metric", "metricIDs": [ORDERS]}
    # and its own staging tables are gone, the experiment's kept
    assert staging_tables(adapter, schema) == tables
    after = stored_views(db)
    assert after.keys() == before.keys()
    for key, document in before.items():
        assert len(after[key]["metrics"]) == len(document["metrics"]), key
        for was, now in zip(document["metrics"], after[key]["metrics"], strict=True):
            if was["metricID"] != ORDERS:
                assert orjson.dumps(now) == orjson.dumps(was), key
    # and Orders equals the rows as they are now
    units = expected_unit_values(changed)
    last = after[("cumulative", LAST_DAY)]
    for group in ("Control", "Test"):
        expected = expected_sums(np.array(units[group]["orders"]), ratio=False)
        assert _entry(last, ORDERS)["sums"][group] == pytest.approx(expected, rel=1e-9)
    query = {"control": groups["Control"], "test": groups["Test"]}
    found = by_name(pulse_results(console, "checkout", **query, cuped="false"))["Orders"]
    control, test = (np.array(units[g]["orders"])[:, 0] for g in ("Control", "Test"))
    mc, mt, delta, half_width, p = welch_z(control, test)
    assert (found["controlMean"], found["testMean"]) == pytest.approx((mc, mt), rel=1e-9)
    assert found["absoluteChange"] == pytest.approx(delta, rel=1e-9)
    assert found["confidenceIntervalDelta"] == pytest.approx(half_width, rel=1e-9)
    assert found["pValue"] == pytest.approx(p, rel=1e-6, abs=1e-12)
    # though Revenue's rows changed too: its stored sums are the old rows'
    revenue = expected_sums(np.array(units["Test"]["revenue"]), ratio=False)
    assert _entry(last, "Revenue::user_warehouse")["sums"]["Test"]["sx"] < revenue["sx"]

    # An incremental load next computes everything again (Orders' earlier unit-day values in
    # the experiment's staging tables are the old rows'), and Orders' every view is as the
    # metric load stored it
    reloaded = load_pulse(app, console, "checkout", refresh="incremental")
    assert reloaded["loadedAs"]["fullBecause"] == f"the last load reloaded metrics {ORDERS}"
    full = stored_views(db)
    assert full.keys() == after.keys()
    for key, document in full.items():
        assert _rounded(_entry(after[key], ORDERS)) == _rounded(_entry(document, ORDERS)), key
    assert _entry(full[("cumulative", LAST_DAY)], "Revenue::user_warehouse")["sums"][
        "Test"
    ] == pytest.approx(revenue, rel=1e-9)


@pytest.mark.parametrize("team_warehouse", ["duckdb"], indirect=True)
def test_load_pulse__metric_refresh_failing_in_the_warehouse__drops_its_staging_tables(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    db: Database,
    team_warehouse: tuple[Dataset, str, Warehouse],
) -> None:
    # Given a loaded experiment whose metric source's table is then dropped
    _, schema, adapter = team_warehouse
    define_analysis(console, schema)
    advance_to(clock, END)
    load_pulse(app, console, "checkout")
    before = stored_views(db)
    tables = staging_tables(adapter, schema)
    with adapter:
        adapter.run(f"DROP TABLE {schema}.events")

    # When a metric load fails after its first staging tables were written
    response = console.post(
        "/console/v1/experiments/checkout/load_pulse",
        params={"refresh": "metric"},
        json={"metricIDs": [ORDERS]},
    )
    assert response.status_code == 200, response.text
    assert app.state.pulse_runner.run_pending() == 1

    # Then it failed, its staging tables are gone and the experiment's are kept, as are the views
    history = console.get("/console/v1/experiments/checkout/pulse_load_history").json()["data"]
    assert history[0]["finishedState"] == "failure", history[0]
    assert "events" in str(history[0])
    assert staging_tables(adapter, schema) == tables
    assert stored_views(db) == before


@pytest.mark.parametrize("team_warehouse", ["duckdb"], indirect=True)
def test_load_pulse__metric_refresh_of_a_metric_not_computed_there__only_its_entry_changes(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    db: Database,
    team_warehouse: tuple[Dataset, str, Warehouse],
) -> None:
    # Given a bound experiment with a metric of Lockgate's own among its warehouse ones
    _, schema, _ = team_warehouse
    define_analysis(console, schema)
    views = {"name": "Views", "type": "sum", "metricEvents": [{"name": "view", "type": "value"}]}
    assert console.post("/console/v1/metrics", json=views).status_code == 201
    created = console.post(
        "/console/v1/experiments",
        json={
            "name": "mixed",
            "idType": "userID",
            "isAnalysisOnly": True,
            "assignmentSourceName": "exposures",
            "assignmentSourceExperimentName": EXPERIMENT,
            "groups": [
                {"name": "Control", "size": 50, "parameterValues": {}},
                {"name": "Test", "size": 50, "parameterValues": {}},
            ],
            "primaryMetrics": [{"name": "Orders", "type": "user_warehouse"}],
            "secondaryMetrics": [{"name": "Views", "type": "sum"}],
        },
    )
    assert created.status_code == 201, created.text
    advance_to(clock, END)
    load_pulse(app, console, "mixed")
    before = stored_views(db)

    # When that metric alone is reloaded
    response = console.post(
        "/console/v1/experiments/mixed/load_pulse",
        params={"refresh": "metric"},
        json={"metricIDs": ["Views::sum"]},
    )
    assert response.status_code == 200, response.text
    assert app.state.pulse_runner.run_pending() == 1

    # Then the load succeeds without running the pipeline, and the stored views are unchanged
    # but for the metric's entry, which says why it has no values
    history = console.get("/console/v1/experiments/mixed/pulse_load_history").json()["data"]
    assert history[0]["finishedState"] == "success", history[0]
    assert history[0]["healthChecks"] == []
    after = stored_views(db)
    assert after.keys() == before.keys()
    for key, document in after.items():
        orders = _entry(document, ORDERS)
        assert orjson.dumps(orders) == orjson.dumps(_entry(before[key], ORDERS)), key
        assert not _entry(document, "Views::sum").get("sums"), key
    assert (
        "only warehouse-native metrics"
        in _entry(after[("cumulative", LAST_DAY)], "Views::sum")["unsupported"]
    )
