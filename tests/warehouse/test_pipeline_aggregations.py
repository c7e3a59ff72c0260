"""Warehouse-native aggregations end to end: count distinct, ratio (numerator and denominator
from two metric sources), unit counts, first and latest value, max and min, per unit-day caps,
winsorization of a mean from both ends and of a count distinct, and every criterion condition
that reads text, the team's SQL or a second timestamp; defined through the Console API, loaded
by the Pulse worker in DuckDB, PostgreSQL and chDB, and ``pulse_results`` equal to an
independent numpy computation over the same rows."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from scipy import stats as scipy_stats
from sqlalchemy import select

from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.models import PulseResult
from tests.contract.client import ContractClient
from tests.warehouse.conftest import connected_warehouse, drop_schema, scratch_name
from tests.warehouse.support import (
    advance_to,
    by_name,
    comparable,
    create_experiment,
    create_sources,
    load_pulse,
    pulse_results,
    stored_views,
)
from tests.warehouse.test_pipeline_end_to_end import (
    TABLES,
    Z,
    delta_method,
    expected_sums,
    insert,
    welch_z,
)
from tests.warehouse.test_pipeline_views import assert_close

EXPERIMENT = "shop_redesign"
T0 = dt.datetime(2026, 11, 1)
END = T0 + dt.timedelta(days=10)  # the clock at load time
LAST_DAY = (END - dt.timedelta(days=1)).date().isoformat()  # the load's cumulative view
ANALYSIS_DAY = (END - dt.timedelta(seconds=1)).date()
SKUS = ("a", "b", "c", "d", "e", "f")


@dataclass
class Dataset:
    exposures: list[tuple[str, dt.datetime, str, str]]  # user_id, ts, experiment, grp
    # user_id, ts, event, amount, sku, shipped_at
    orders: list[tuple[str, dt.datetime, str, float | None, str | None, dt.datetime | None]]
    sessions: list[tuple[str, dt.datetime, str]]  # user_id, ts, kind


def generate(seed: int = 11, units: int = 900) -> Dataset:
    """Units exposed over a week, a few crossovers; the Test group buys more, more kinds, for
    more (the planted lift), and visits more often; orders before exposure (the CUPED window
    and before it), after the analysis end, of another event and without amount or sku."""
    rng = np.random.default_rng(seed)
    data = Dataset([], [], [])
    for i in range(units):
        user = f"u{i}"
        test = rng.random() < 0.5
        group = "Test" if test else "Control"
        first = T0 + dt.timedelta(seconds=int(rng.integers(0, 7 * 24 * 3600)))
        data.exposures.append((user, first, EXPERIMENT, group))
        data.exposures.append((user, first + dt.timedelta(hours=3), EXPERIMENT, group))
        if i % 120 == 0:  # a crossover
            other = "Control" if test else "Test"
            data.exposures.append((user, first + dt.timedelta(hours=1), EXPERIMENT, other))
        for _ in range(int(rng.poisson(2.2 if test else 1.6))):
            at = first + dt.timedelta(seconds=int(rng.integers(1, 4 * 24 * 3600)))
            amount = float(round(rng.gamma(2.0, 12.0 if test else 10.0), 2))
            sku = SKUS[int(rng.integers(0, 6 if test else 4))]
            shipped = at + dt.timedelta(hours=int(rng.integers(1, 48))) if i % 4 else None
            data.orders.append((user, at, "purchase", amount, sku, shipped))
        if i % 6 == 0:  # a burst on one day (the per unit-day cap bites), shipped before
            at = first + dt.timedelta(hours=2)
            for k in range(3):
                stamp = at + dt.timedelta(minutes=k + 1)
                shipped = stamp - dt.timedelta(hours=3)
                data.orders.append((user, stamp, "purchase", 5.0 + k, "a", shipped))
        if i % 5 == 0:  # before exposure, within the CUPED week
            at = first - dt.timedelta(hours=30)
            data.orders.append((user, at, "purchase", 40.0 + i % 30, "b", at))
        if i % 17 == 0:  # more than a week before exposure: not counted
            data.orders.append((user, first - dt.timedelta(days=9), "purchase", 900.0, "c", None))
        if i % 11 == 0:  # after the analysis end
            data.orders.append((user, END + dt.timedelta(hours=2), "purchase", 800.0, "d", None))
        if i % 3 == 0:  # another event
            data.orders.append((user, first + dt.timedelta(hours=5), "refund", 3.0, "a", None))
        if i % 13 == 0:  # a purchase without amount nor sku
            at = first + dt.timedelta(hours=7)
            data.orders.append((user, at, "purchase", None, None, at))
        for _ in range(int(rng.poisson(4.0 if test else 3.0))):
            at = first + dt.timedelta(seconds=int(rng.integers(-3 * 24 * 3600, 9 * 24 * 3600)))
            data.sessions.append((user, at, "web" if rng.random() < 0.7 else "webapp"))
    return data


ORDER_COLUMNS = "user_id {t}, ts {ts}, event {t}, amount {n}, sku {nt}, shipped_at {nts}"
# per warehouse: a nullable text and a nullable timestamp column type
NULLABLE = {
    "duckdb": ("VARCHAR", "TIMESTAMP"),
    "postgresql": ("VARCHAR(64)", "TIMESTAMP"),
    "clickhouse": ("Nullable(String)", "Nullable(DateTime)"),
}


@pytest.fixture(params=list(TABLES))
def team_warehouse(
    request: pytest.FixtureRequest, console: ContractClient, settings: Settings, chdb_path: Path
) -> Iterator[tuple[Dataset, str]]:
    """The dataset in the team's warehouse and the project's connection to it."""
    kind, schema = request.param, scratch_name()
    data = generate()
    adapter, connection = connected_warehouse(kind, schema, settings, chdb_path)
    text, timestamp, number, engine = TABLES[kind]
    nullable_text, nullable_ts = NULLABLE[kind]
    with adapter:
        adapter.ensure_staging()
        adapter.run(
            f"CREATE TABLE {schema}.exposures (user_id {text}, ts {timestamp}, "
            f"experiment {text}, grp {text}){engine}"
        )
        columns = ORDER_COLUMNS.format(
            t=text, ts=timestamp, n=number, nt=nullable_text, nts=nullable_ts
        )
        adapter.run(f"CREATE TABLE {schema}.orders ({columns}){engine}")
        adapter.run(
            f"CREATE TABLE {schema}.sessions (user_id {text}, ts {timestamp}, kind {text}){engine}"
        )
        insert(adapter, f"{schema}.exposures", data.exposures)
        insert(adapter, f"{schema}.orders", data.orders)
        insert(adapter, f"{schema}.sessions", data.sessions)
    response = console.patch("/console/v1/wh_connections", json=connection)
    assert response.status_code == 200, response.text
    try:
        yield data, schema
    finally:
        with adapter:
            drop_schema(adapter, kind, schema)


def criterion(column: str | None, condition: str, *values: str) -> dict[str, Any]:
    found: dict[str, Any] = {"type": "metadata", "condition": condition}
    if column is not None:
        found["column"] = column
    if values:
        found["values"] = list(values)
    return found


PURCHASE = [criterion("event", "in", "purchase")]
# name -> warehouseNative (on the orders source unless it names another)
METRICS: dict[str, dict[str, Any]] = {
    "Kinds": {
        "aggregation": "count_distinct",
        "valueColumn": "sku",
        "criteria": PURCHASE,
        "winsorizationHigh": 0.95,
    },
    "Spend per visit": {
        "aggregation": "ratio",
        "numeratorAggregation": "sum",
        "valueColumn": "amount",
        "criteria": PURCHASE,
        "denominatorAggregation": "count",
        "denominatorMetricSourceName": "sessions",
        "denominatorCriteria": [criterion("kind", "ends_with", "web")],
    },
    "Orders per active day": {
        "aggregation": "ratio",
        "numeratorAggregation": "count",
        "criteria": PURCHASE,
        "denominatorAggregation": "daily_participation",
        "denominatorRollupTimeWindow": "daily",
        "denominatorMetricSourceName": "sessions",
        "allowNullRatioDenominator": True,
        "winsorizationHigh": 0.95,
        "winsorizationHighDenominator": 0.9,
        "winsorizationLowDenominator": 0.1,
    },
    "Buyers": {
        "aggregation": "daily_participation",
        "criteria": [criterion("event", "contains", "urch", "nothing")],
    },
    "Active days": {
        "aggregation": "daily_participation",
        "rollupTimeWindow": "daily",
        "metricSourceName": "sessions",
    },
    "First order": {"aggregation": "first_value", "valueColumn": "amount", "criteria": PURCHASE},
    "Last order": {"aggregation": "latest_value", "valueColumn": "amount", "criteria": PURCHASE},
    "Largest order": {"aggregation": "max", "valueColumn": "amount", "criteria": PURCHASE},
    "Smallest order": {
        "aggregation": "min",
        "valueColumn": "amount",
        "criteria": [criterion("event", "starts_with", "pur")],
    },
    "Orders a day": {"aggregation": "count", "criteria": PURCHASE, "cap": 2},
    "Order p90": {
        "aggregation": "percentile",
        "valueColumn": "amount",
        "criteria": PURCHASE,
        "percentile": 90,
    },
    "Basket": {
        "aggregation": "mean",
        "valueColumn": "amount",
        "criteria": PURCHASE,
        "winsorizationLow": 0.05,
        "winsorizationHigh": 0.95,
    },
    "Shipped revenue": {
        "aggregation": "sum",
        "valueColumn": "amount",
        "criteria": [
            criterion(None, "sql_filter", "amount > 8 AND sku <> 'e'"),
            criterion("shipped_at", "after_exposure"),
            criterion("event", "not_contains", "ref", "zz"),
        ],
    },
    "Early shipped": {
        "aggregation": "count",
        "criteria": [*PURCHASE, criterion("shipped_at", "before_exposure")],
    },
}
RATIOS = {"Spend per visit", "Basket", "Orders per active day"}
WINSORIZED = ("Kinds", "Basket", "Orders per active day")


def define_analysis(console: ContractClient, schema: str) -> dict[str, str]:
    create_sources(console, schema, {"orders": "orders", "sessions": "sessions"})
    for name, definition in METRICS.items():
        created = console.post(
            "/console/v1/metrics",
            json={
                "name": name,
                "type": "user_warehouse",
                "warehouseNative": {"metricSourceName": "orders", **definition},
            },
        )
        assert created.status_code == 201, (name, created.text)
    secondary = [name for name in METRICS if name != "Spend per visit"]
    return create_experiment(console, "shop", EXPERIMENT, "Spend per visit", secondary)


# ---- the independent computation ----------------------------------------------------------

Row = tuple[Any, ...]


def first_exposures(data: Dataset) -> tuple[dict[str, str], dict[str, dt.datetime]]:
    groups: dict[str, set[str]] = {}
    first: dict[str, dt.datetime] = {}
    for user, ts, experiment, group in data.exposures:
        if experiment != EXPERIMENT or ts >= END:
            continue
        groups.setdefault(user, set()).add(group)
        first[user] = min(first.get(user, ts), ts)
    return {u: next(iter(g)) for u, g in groups.items() if len(g) == 1}, first


def periods(
    rows: Sequence[Row], first: dict[str, dt.datetime], keep: Callable[[Row, dt.datetime], bool]
) -> dict[str, tuple[list[Row], list[Row]]]:
    """Per unit, its rows passing ``keep`` after exposure and in the CUPED week before it."""
    out: dict[str, tuple[list[Row], list[Row]]] = {}
    for row in rows:
        user, ts = row[0], row[1]
        if user not in first or ts >= END or not keep(row, first[user]):
            continue
        if ts >= first[user]:
            out.setdefault(user, ([], []))[0].append(row)
        elif ts >= first[user] - dt.timedelta(days=7):
            out.setdefault(user, ([], []))[1].append(row)
    return out


def is_purchase(row: Row, _: dt.datetime) -> bool:
    return bool(row[2] == "purchase")


def amounts(rows: list[Row]) -> list[float]:
    return [r[3] for r in rows if r[3] is not None]


def per_day_capped(rows: list[Row], cap: float) -> float:
    days: dict[dt.date, int] = {}
    for row in rows:
        days[row[1].date()] = days.get(row[1].date(), 0) + 1
    return float(sum(min(n, cap) for n in days.values()))


def ranked(rows: list[Row], latest: bool) -> float:
    valued = [(r[1], r[3]) for r in rows if r[3] is not None]
    if not valued:
        return 0.0
    return float((max(valued) if latest else min(valued))[1])


# name -> (source, keep, value of a period's rows with the unit's first exposure, is pre)
Value = Callable[[list[Row], dt.datetime, bool], float]
COMPUTED: dict[str, tuple[str, Callable[[Row, dt.datetime], bool], Value]] = {
    "Kinds": ("orders", is_purchase, lambda r, f, p: float(len({x[4] for x in r if x[4]}))),
    "Buyers": ("orders", lambda r, f: "urch" in r[2], lambda r, f, p: 1.0 if r else 0.0),
    "Active days": (
        "sessions",
        lambda r, f: True,
        lambda r, f, p: (
            len({x[1].date() for x in r}) / (7.0 if p else (ANALYSIS_DAY - f.date()).days + 1)
        ),
    ),
    "First order": ("orders", is_purchase, lambda r, f, p: ranked(r, latest=False)),
    "Last order": ("orders", is_purchase, lambda r, f, p: ranked(r, latest=True)),
    "Largest order": ("orders", is_purchase, lambda r, f, p: max(amounts(r), default=0.0)),
    "Smallest order": (
        "orders",
        lambda r, f: r[2].startswith("pur"),
        lambda r, f, p: min(amounts(r), default=0.0),
    ),
    "Orders a day": ("orders", is_purchase, lambda r, f, p: per_day_capped(r, 2)),
    "Shipped revenue": (
        "orders",
        lambda r, f: (
            r[3] is not None
            and r[3] > 8
            and r[4] is not None
            and r[4] != "e"
            and r[5] is not None
            and r[5] >= f
            and "ref" not in r[2]
            and "zz" not in r[2]
        ),
        lambda r, f, p: float(sum(amounts(r))),
    ),
    "Early shipped": (
        "orders",
        lambda r, f: r[2] == "purchase" and r[5] is not None and r[5] < f,
        lambda r, f, p: float(len(r)),
    ),
}


def unit_values(data: Dataset) -> tuple[dict[str, str], dict[str, dict[str, np.ndarray]]]:
    """The analysed units' groups and, per metric, per unit (in the groups' order) its
    (x, y, xp, yp); for the ratios only the units with a denominator."""
    analysed, first = first_exposures(data)
    tables: dict[str, Sequence[Row]] = {"orders": data.orders, "sessions": data.sessions}
    out: dict[str, dict[str, list[tuple[float, float, float, float]]]] = {}
    for name, (table, keep, value) in COMPUTED.items():
        rows = periods(tables[table], first, keep)
        for user, group in analysed.items():
            post, pre = rows.get(user, ([], []))
            x = value(post, first[user], False)
            xp = value(pre, first[user], True)
            out.setdefault(name, {}).setdefault(group, []).append((x, 1.0, xp, 1.0))
    purchases = periods(data.orders, first, is_purchase)
    visits = periods(data.sessions, first, lambda r, f: r[2].endswith("web"))
    for user, group in analysed.items():
        post, pre = purchases.get(user, ([], []))
        basket = (sum(amounts(post)), len(amounts(post)), sum(amounts(pre)), len(amounts(pre)))
        if basket[1]:
            out.setdefault("Basket", {}).setdefault(group, []).append(basket)
        seen, before = visits.get(user, ([], []))
        spend = (sum(amounts(post)), float(len(seen)), sum(amounts(pre)), float(len(before)))
        if spend[1]:
            out.setdefault("Spend per visit", {}).setdefault(group, []).append(spend)
        # every unit, with or without a denominator (allowNullRatioDenominator)
        orders = (float(len(post)), 0.0, float(len(pre)), 0.0)
        out.setdefault("Orders per active day", {}).setdefault(group, []).append(orders)
    active = out["Active days"]
    for group, rates in out["Orders per active day"].items():
        for k, (x, _, xp, _) in enumerate(rates):
            rates[k] = (x, active[group][k][0], xp, active[group][k][2])
    return analysed, {
        name: {g: np.array(units, dtype=float) for g, units in groups.items()}
        for name, groups in out.items()
    }


def winsorize(
    units: dict[str, np.ndarray], low: float | None, high: float | None, column: int = 0
) -> None:
    """Hold the non-zero unit values (x, or y with ``column`` 1) between percentiles of them,
    pooled over groups."""
    pooled = np.concatenate([u[:, column] for u in units.values()])
    nonzero = pooled[pooled != 0]
    lo = float(np.percentile(nonzero, low * 100)) if low else -np.inf
    hi = float(np.percentile(nonzero, high * 100)) if high else np.inf
    for u in units.values():
        x = u[:, column]
        u[:, column] = np.where(x != 0, np.clip(x, lo, hi), x)


def percentile_estimate(
    data: Dataset, analysed: dict[str, str], group: str, q: float
) -> tuple[int, float, float]:
    """A group's units with a value, the percentile of its post-exposure purchase amounts and
    the squared standard error read from the rank interval (Deng, Knoblich & Lu, 2018, section 4):
    the percentiles at q ± z·s, s² the delta-method variance of the share of values at or
    below the estimate, with units as clusters."""
    _, first = first_exposures(data)
    purchases = periods(data.orders, first, is_purchase)
    per_unit = [
        amounts(purchases[u][0]) for u, g in analysed.items() if g == group and u in purchases
    ]
    per_unit = [values for values in per_unit if values]
    pooled = np.array([v for values in per_unit for v in values])
    estimate = float(np.percentile(pooled, q * 100))
    below = np.array([[sum(v <= estimate for v in values), len(values)] for values in per_unit])
    s, m = below[:, 0].astype(float), below[:, 1].astype(float)
    r = s.sum() / m.sum()
    cov = np.cov(s, m, ddof=1)
    variance = (cov[0, 0] - 2 * r * cov[0, 1] + r * r * cov[1, 1]) / (m.mean() ** 2)
    sigma = math.sqrt(variance / len(per_unit))
    low = float(np.percentile(pooled, max(0.0, q - Z * sigma) * 100))
    high = float(np.percentile(pooled, min(1.0, q + Z * sigma) * 100))
    return len(per_unit), estimate, ((high - low) / (2 * Z)) ** 2


def test_load_pulse__every_aggregation__results_equal_numpy(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    db: Database,
    team_warehouse: tuple[Dataset, str],
) -> None:
    data, schema = team_warehouse
    groups = define_analysis(console, schema)
    advance_to(clock, END)

    assert load_pulse(app, console, "shop")["progress"] == 100
    query = {"control": groups["Control"], "test": groups["Test"]}
    found = by_name(pulse_results(console, "shop", **query, cuped="false"))
    assert set(found) == set(METRICS)
    analysed, units = unit_values(data)
    raw = {name: {g: u.copy() for g, u in of.items()} for name, of in units.items()}
    winsorize(units["Kinds"], None, 0.95)
    winsorize(units["Basket"], 0.05, 0.95)
    winsorize(units["Orders per active day"], None, 0.95)
    winsorize(units["Orders per active day"], 0.1, 0.9, column=1)
    with db.transaction() as session:
        stored = session.scalars(
            select(PulseResult.document).where(
                PulseResult.view == "cumulative", PulseResult.ds == LAST_DAY
            )
        ).one()
    entries = {m["metricName"]: m for m in stored["metrics"]}
    for name in METRICS:
        if name == "Order p90":
            continue
        ratio = name in RATIOS
        control, test = units[name]["Control"], units[name]["Test"]
        if ratio:
            mc, mt, delta, half_width, p = delta_method(control, test)
        else:
            mc, mt, delta, half_width, p = welch_z(control[:, 0], test[:, 0])
        metric = found[name]
        assert (metric["controlUnits"], metric["testUnits"]) == (len(control), len(test)), name
        assert metric["controlMean"] == pytest.approx(mc, rel=1e-9), name
        assert metric["testMean"] == pytest.approx(mt, rel=1e-9), name
        assert metric["absoluteChange"] == pytest.approx(delta, rel=1e-9, abs=1e-12), name
        assert metric["confidenceIntervalDelta"] == pytest.approx(half_width, rel=1e-9), name
        assert metric["pValue"] == pytest.approx(p, rel=1e-6, abs=1e-12), name
        entry = entries[name]
        for group in ("Control", "Test"):
            # every stored sum, the CUPED covariate's included; raw and winsorized
            expected = expected_sums(raw[name][group], ratio=ratio)
            assert entry["sums"][group] == pytest.approx(expected, rel=1e-9), (name, group)
            if name in WINSORIZED:
                capped = expected_sums(units[name][group], ratio=ratio)
                assert entry["cappedSums"][group] == pytest.approx(capped, rel=1e-9), name
    # the percentile: each group's estimate and its variance from the rank interval
    (nc, pc, vc), (nt, pt, vt) = (
        percentile_estimate(data, analysed, g, 0.9) for g in ("Control", "Test")
    )
    metric = found["Order p90"]
    assert (metric["controlUnits"], metric["testUnits"]) == (nc, nt)
    assert metric["controlMean"] == pytest.approx(pc, rel=1e-9)
    assert metric["testMean"] == pytest.approx(pt, rel=1e-9)
    assert metric["absoluteChange"] == pytest.approx(pt - pc, rel=1e-9)
    se = math.sqrt(vc + vt)
    assert metric["confidenceIntervalDelta"] == pytest.approx(Z * se, rel=1e-9)
    p_value = float(2 * scipy_stats.norm.sf(abs(pt - pc) / se))
    assert metric["pValue"] == pytest.approx(p_value, rel=1e-6, abs=1e-12)
    assert entries["Order p90"]["percentile"]["Test"]["rows"] > nt
    assert stored["units"] == {
        g: sum(1 for v in analysed.values() if v == g) for g in ("Control", "Test")
    }
    # the caps and criteria bite, and the planted lifts are found
    _, first = first_exposures(data)
    purchases = periods(data.orders, first, is_purchase)
    uncapped = [len(purchases.get(u, ([], []))[0]) for u, g in analysed.items() if g == "Test"]
    assert (raw["Orders a day"]["Test"][:, 0] < np.array(uncapped)).any()
    assert not np.array_equal(raw["Basket"]["Test"], units["Basket"]["Test"])
    assert entries["Basket"]["winsorization"]["lowCap"] > 0
    per_day = entries["Orders per active day"]["winsorization"]["denominator"]
    assert 0 < per_day["lowCap"] < per_day["cap"]
    assert (raw["Orders per active day"]["Test"][:, 1] == 0).any()  # kept without denominator
    assert set(units["Early shipped"]["Control"][:, 0]) == {0.0, 3.0}
    assert (units["Shipped revenue"]["Test"][:, 0] > 0).any()
    for name in ("Spend per visit", "Kinds", "Active days"):
        assert found[name]["pValue"] < 0.01 and found[name]["absoluteChange"] > 0, name
    pulse_results(console, "shop", **query)  # with CUPED


# ---- the aggregations over time: every day's views ---------------------------------------

# name -> (source, keep, value of a period's rows given the days since exposure it covers):
# every non-ratio metric, and the ratio's numerator and denominator, read day by day
Period = Callable[[list[Row], int], float]


def _active(rows: list[Row], days: int) -> float:
    return len({r[1].date() for r in rows}) / days


def _of_period(value: Value) -> Period:
    """A value of ``COMPUTED`` (after exposure) as a value of a period's rows."""
    return lambda rows, days: value(rows, T0, False)


Measure = tuple[str, Callable[[Row, dt.datetime], bool], Period]
OVER_TIME: dict[str, Measure] = {
    name: (table, keep, _of_period(value))
    for name, (table, keep, value) in COMPUTED.items()
    if name != "Active days"
} | {"Active days": ("sessions", lambda r, f: True, _active)}
SPEND: tuple[Measure, Measure] = (
    ("orders", is_purchase, lambda r, days: float(sum(amounts(r)))),
    ("sessions", lambda r, f: r[2].endswith("web"), lambda r, days: float(len(r))),
)


def values_of_period(
    data: Dataset, since: Callable[[dt.date], dt.date], day: dt.date
) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """Per metric of ``OVER_TIME`` (and ``Spend per visit``), per group, each unit exposed by
    the end of ``day``: its value (x, y) over its rows of the days from ``since(day)`` (and
    from its exposure) to ``day``, computed from the rows in Python."""
    analysed, first = first_exposures(data)
    tables: dict[str, Sequence[Row]] = {"orders": data.orders, "sessions": data.sessions}

    def of_period(table: str, keep: Callable[[Row, dt.datetime], bool], user: str) -> list[Row]:
        return [
            r
            for r in by_unit[table].get(user, ([], []))[0]
            if since(day) <= r[1].date() <= day and keep(r, first[user])
        ]

    by_unit = {t: periods(rows, first, lambda r, f: True) for t, rows in tables.items()}
    out: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for user, group in analysed.items():
        if first[user].date() > day:
            continue
        days = (day - max(since(day), first[user].date())).days + 1
        for name, (table, keep, value) in OVER_TIME.items():
            x = value(of_period(table, keep, user), days)
            out.setdefault(name, {}).setdefault(group, []).append((x, 1.0))
        (nt, nk, nv), (dt_, dk, dv) = SPEND
        spend = (nv(of_period(nt, nk, user), days), dv(of_period(dt_, dk, user), days))
        if spend[1]:
            out.setdefault("Spend per visit", {}).setdefault(group, []).append(spend)
    return out


def period_sums(values: list[tuple[float, float]], ratio: bool) -> dict[str, float]:
    x, y = np.array(values, dtype=float).T
    sums = {"n": len(x), "sx": x.sum(), "sxx": (x * x).sum()}
    if ratio:
        sums |= {"sy": y.sum(), "syy": (y * y).sum(), "sxy": (x * y).sum()}
    return {k: float(v) for k, v in sums.items()}


def _close(found: dict[str, float], expected: dict[str, float], where: str) -> None:
    assert {k: found[k] for k in expected} == pytest.approx(expected, rel=1e-9, abs=1e-9), where


def test_load_pulse__every_aggregation_by_day__views_equal_numpy_and_incremental_equals_full(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    db: Database,
    team_warehouse: tuple[Dataset, str],
) -> None:
    """Every aggregation through the unit-day values: the cumulative view of every earlier
    day, the daily and the 7-day rolling view of every day equal the same values computed
    from the rows; an incremental load after an earlier one stores what a full load does."""
    data, schema = team_warehouse
    define_analysis(console, schema)
    # the first load sees six days; the incremental one resumes a day before its last day
    advance_to(clock, T0 + dt.timedelta(days=6))
    load_pulse(app, console, "shop", "full")
    advance_to(clock, END)
    incremental = load_pulse(app, console, "shop", "incremental")
    assert incremental["loadedAs"] == {"reloadType": "incremental", "resumeDay": "2026-11-05"}
    after_incremental = stored_views(db)
    assert load_pulse(app, console, "shop", "full")["loadedAs"] == {"reloadType": "full"}
    stored = stored_views(db)
    assert_close(comparable(after_incremental), comparable(stored))

    _, first = first_exposures(data)
    days = sorted({d.date() for d in first.values() if d < END})
    last = dt.date.fromisoformat(LAST_DAY)
    days = [days[0] + dt.timedelta(days=i) for i in range((last - days[0]).days + 1)]
    checked = 0
    for day in days:
        cumulative = values_of_period(data, lambda d: dt.date.min, day)
        daily = values_of_period(data, lambda d: d, day)
        rolling = values_of_period(data, lambda d: d - dt.timedelta(days=6), day)
        views = {
            "cumulative": (stored[("cumulative", day.isoformat())], cumulative),
            "daily": (stored[("daily", day.isoformat())], daily),
            "rolling_7": (stored[("rolling_7", day.isoformat())], rolling),
        }
        for view, (document, expected) in views.items():
            entries = {m["metricName"]: m for m in document["metrics"]}
            # a percentile has no unit-day values: only the last day's cumulative view has it
            p90 = entries["Order p90"]
            assert ("percentile" in p90) == (view == "cumulative" and day == last), (view, day)
            assert p90.get("sums", {}) == {}, (view, day)
            for name, of_groups in expected.items():
                for group, values in of_groups.items():
                    sums = period_sums(values, ratio=name == "Spend per visit")
                    _close(entries[name]["sums"][group], sums, f"{view} {day} {name} {group}")
                    checked += 1
    assert checked == len(days) * 3 * (len(OVER_TIME) + 1) * 2
