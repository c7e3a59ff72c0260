"""``POST /metrics/{id}/reload`` of warehouse-native metrics: the daily values loaded from the
metric source in the team's warehouse (DuckDB, PostgreSQL, chDB) by the Pulse worker, read
back through ``GET /metrics`` and ``GET /metrics/values``, equal to a plain Python reduction
of the same rows; incremental reloads load only the days after the last loaded one."""

from __future__ import annotations

import datetime as dt
import random
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
from tests.metrics.test_metric_reload import reload_audits
from tests.warehouse.conftest import connected_warehouse, drop_schema, scratch_name
from tests.warehouse.support import advance_to, create_sources
from tests.warehouse.test_pipeline_end_to_end import TABLES, insert

BASE = "/console/v1/metrics"
NOW = dt.datetime(2026, 11, 11, 6)  # the clock at the first reload
FIRST_DAY = dt.date(2026, 11, 1)
Row = tuple[str | None, dt.datetime, str, float | None]  # user_id, ts, event, amount
PURCHASE = [{"type": "metadata", "column": "event", "condition": "in", "values": ["purchase"]}]
VIEW = [{"type": "metadata", "column": "event", "condition": "=", "values": ["view"]}]
METRICS: dict[str, dict[str, Any]] = {
    "Revenue": {"aggregation": "sum", "valueColumn": "amount", "criteria": PURCHASE},
    "Orders": {"aggregation": "count", "criteria": PURCHASE},
    "Basket": {"aggregation": "mean", "valueColumn": "amount", "criteria": PURCHASE},
    "Buyers": {"aggregation": "daily_participation", "criteria": PURCHASE},
    "Largest": {"aggregation": "max", "valueColumn": "amount"},
    "Kinds": {"aggregation": "count_distinct", "valueColumn": "event"},
    # a ratio's denominator from another source ("visits", the same table)
    "Spend per viewer": {
        "aggregation": "ratio",
        "numeratorAggregation": "sum",
        "valueColumn": "amount",
        "criteria": PURCHASE,
        "denominatorAggregation": "daily_participation",
        "denominatorMetricSourceName": "visits",
        "denominatorCriteria": VIEW,
    },
    "Orders per view": {
        "aggregation": "ratio",
        "numeratorAggregation": "count",
        "criteria": PURCHASE,
        "denominatorAggregation": "count",
        "denominatorMetricSourceName": "visits",
        "denominatorCriteria": VIEW,
        "allowNullRatioDenominator": True,
    },
    "First basket": {"aggregation": "first_value", "valueColumn": "amount", "criteria": PURCHASE},
    "Last amount": {"aggregation": "latest_value", "valueColumn": "amount"},
    # buyers who buy again on one of the 2 days after the next (days s + 2 and s + 3)
    "Rebuy": {
        "aggregation": "retention",
        "criteria": PURCHASE,
        "retentionEnd": 3,
        "retentionLength": 2,
    },
    # viewers who buy the day after or the one after that
    "Viewer buys": {
        "aggregation": "retention",
        "criteria": PURCHASE,
        "retentionEnd": 2,
        "retentionLength": 2,
        "useSecondaryRetentionEvent": True,
        "denominatorMetricSourceName": "visits",
        "denominatorCriteria": VIEW,
    },
    # viewers who buy within 2 days of their first view of the day
    "View then buy": {
        "aggregation": "funnel",
        "funnelEvents": [
            {"metricSourceName": "visits", "criteria": VIEW},
            {"metricSourceName": "purchases", "criteria": PURCHASE},
        ],
        "funnelCountDistinct": "users",
        "funnelCalculationWindow": 2,
    },
    # the seconds from a day's first view to the next purchase, whenever it comes
    "Time to buy": {
        "aggregation": "funnel",
        "funnelEvents": [
            {"metricSourceName": "visits", "criteria": VIEW},
            {"metricSourceName": "purchases", "criteria": PURCHASE},
        ],
        "funnelCountDistinct": "users",
        "funnelStrictOrdering": True,
        "funnelTimeToConvert": True,
    },
    "P90 basket": {
        "aggregation": "percentile",
        "valueColumn": "amount",
        "percentile": 90,
        "criteria": PURCHASE,
    },
}


def generate(seed: int = 3) -> list[Row]:
    """Purchases and views over the ten days before NOW and on its own day, some without a
    unit id or an amount, and purchases long before the loading window."""
    rng = random.Random(seed)
    rows: list[Row] = []
    for i in range(400):
        user = None if i % 23 == 0 else f"u{i % 90}"
        at = dt.datetime.combine(FIRST_DAY, dt.time()) + dt.timedelta(
            minutes=rng.randrange(10 * 24 * 60 + 6 * 60)
        )
        event = "purchase" if rng.random() < 0.7 else "view"
        amount = None if i % 17 == 0 else round(rng.uniform(1, 80), 2)
        rows.append((user, at, event, amount))
    rows.append(("u1", dt.datetime(2026, 6, 1, 12), "purchase", 999.0))  # before the window
    return rows


def _kept(rows: list[Row], day: dt.date, event: str | None) -> list[Row]:
    """The rows of ``day`` with a unit id, of ``event`` when it is given."""
    return [
        r
        for r in rows
        if r[0] is not None and r[1].date() == day and (event is None or r[2] == event)
    ]


def _event(criteria: list[dict[str, Any]] | None) -> str | None:
    return str(criteria[0]["values"][0]) if criteria else None


def _ratio(rows: list[Row], definition: dict[str, Any], day: dt.date) -> dict[str, Any]:
    """A ratio's day: per unit its numerator and denominator, the numerators of the units
    without a denominator left out unless ``allowNullRatioDenominator``."""
    sides = (
        (_kept(rows, day, "purchase"), definition["numeratorAggregation"]),
        (
            _kept(rows, day, _event(definition["denominatorCriteria"])),
            definition["denominatorAggregation"],
        ),
    )
    per_unit: list[dict[str, float]] = []
    for kept, kind in sides:
        by_unit: dict[str, list[Row]] = {}
        for r in kept:
            by_unit.setdefault(str(r[0]), []).append(r)
        reduce: dict[str, Callable[[list[Row]], float]] = {
            "sum": lambda of: sum(r[3] for r in of if r[3] is not None),
            "count": len,
            "daily_participation": lambda of: 1,
        }
        per_unit.append({u: float(reduce[kind](of)) for u, of in by_unit.items()})
    x, y = per_unit
    keep_all = definition.get("allowNullRatioDenominator")
    numerator = sum(v for u, v in x.items() if keep_all or y.get(u, 0) != 0)
    denominator = sum(y.values())
    return {
        "value": numerator / denominator if denominator else 0.0,
        "row_count": len(sides[0][0]) + len(sides[1][0]),
        "numerator": numerator,
        "denominator": denominator,
    }


def _edge(kept: list[Row], first: bool) -> dict[str, Any]:
    """Per unit the day's first (latest) value, ties by the smallest (largest) value; their
    mean over the units with one."""
    chosen: dict[str, tuple[dt.datetime, float]] = {}
    for user, at, _, amount in kept:
        if amount is None:
            continue
        key = (at, amount)
        known = chosen.get(str(user))
        if known is None or (key < known if first else key > known):
            chosen[str(user)] = key
    total, units = sum(v for _, v in chosen.values()), len(chosen)
    return {
        "value": total / units if units else 0.0,
        "row_count": len(kept),
        "numerator": total,
        "denominator": units,
    }


def _retention(rows: list[Row], definition: dict[str, Any], day: dt.date) -> dict[str, Any]:
    """The units whose start event fired on ``day``, and of them those whose completion event
    fired on a day of its window."""
    end, length = definition["retentionEnd"], definition["retentionLength"]
    start_criteria = definition.get("denominatorCriteria") or definition["criteria"]
    began = _kept(rows, day, _event(start_criteria))
    window = [day + dt.timedelta(days=n) for n in range(end - length + 1, end + 1)]
    done = {str(r[0]) for d in window for r in _kept(rows, d, _event(definition["criteria"]))}
    units = {str(r[0]) for r in began}
    hits = len(units & done)
    return {
        "value": hits / len(units) if units else 0.0,
        "row_count": len(began),
        "numerator": hits,
        "denominator": len(units),
    }


def _funnel(rows: list[Row], definition: dict[str, Any], day: dt.date) -> dict[str, Any]:
    """Per unit with a view on ``day``: from its first view of the day, its first purchase at
    or after it (strictly after with strict ordering) within the window, read up to the day
    before NOW; the completed funnels over the started ones (or their seconds over them)."""
    began = _kept(rows, day, "view")
    starts: dict[str, dt.datetime] = {}
    for user, at, _, _ in began:
        starts[str(user)] = min(at, starts.get(str(user), at))
    window = definition.get("funnelCalculationWindow")
    read_until = dt.datetime.combine(NOW.date(), dt.time())
    seconds = []
    for user, start in starts.items():
        later = [
            at
            for u, at, event, _ in rows
            if u == user
            and event == "purchase"
            and (at > start if definition.get("funnelStrictOrdering") else at >= start)
            and at < read_until
            and (window is None or at < start + dt.timedelta(days=window))
        ]
        if later:
            seconds.append((min(later) - start).total_seconds())
    if definition.get("funnelTimeToConvert"):
        numerator, denominator = sum(seconds), len(seconds)
    else:
        numerator, denominator = len(seconds), len(starts)
    return {
        "value": numerator / denominator if denominator else 0.0,
        "row_count": len(began),
        "numerator": numerator,
        "denominator": denominator,
    }


def expected(rows: list[Row], name: str, day: dt.date) -> dict[str, Any] | None:
    """The MetricValuesDto of ``name`` for ``day``, reduced in Python; None for a retention's
    or funnel's day whose window ends on or after NOW's day (not loaded)."""
    definition = METRICS[name]
    kind = definition["aggregation"]
    if kind == "retention":
        if day + dt.timedelta(days=definition["retentionEnd"]) >= NOW.date():
            return None
        return {"unit_type": "userID", **_retention(rows, definition, day)}
    if kind == "funnel":
        window = definition.get("funnelCalculationWindow") or 0
        if day + dt.timedelta(days=window) >= NOW.date():
            return None
        return {"unit_type": "userID", **_funnel(rows, definition, day)}
    if kind == "ratio":
        return {"unit_type": "userID", **_ratio(rows, definition, day)}
    kept = _kept(rows, day, _event(definition.get("criteria")))
    if kind in ("first_value", "latest_value"):
        return {"unit_type": "userID", **_edge(kept, kind == "first_value")}
    amounts = [r[3] for r in kept if r[3] is not None]
    value: float
    dto: dict[str, Any] = {}
    if kind == "sum":
        value = sum(amounts)
    elif kind == "count":
        value = len(kept)
    elif kind == "mean":
        value = sum(amounts) / len(amounts) if amounts else 0.0
        dto = {"numerator": sum(amounts), "denominator": len(amounts)}
    elif kind == "max":
        value = max(amounts, default=0.0)
    elif kind == "count_distinct":
        value = len({r[2] for r in kept})
    elif kind == "percentile":  # numpy's linear percentile is PERCENTILE_CONT's
        value = float(np.percentile(amounts, definition["percentile"])) if amounts else 0.0
    else:
        value = len({r[0] for r in kept})
    return {"value": value, "unit_type": "userID", "row_count": len(kept), **dto}


@pytest.fixture(params=list(TABLES))
def events_warehouse(
    request: pytest.FixtureRequest, console: ContractClient, settings: Settings, chdb_path: Path
) -> Iterator[tuple[list[Row], str, Warehouse]]:
    """The events in the team's warehouse, the project connected to it, a metric source over
    them and the metrics of ``METRICS``."""
    kind, schema = request.param, scratch_name()
    rows = generate()
    adapter, connection = connected_warehouse(kind, schema, settings, chdb_path)
    text, timestamp, number, engine = TABLES[kind]
    nullable = "Nullable(String)" if kind == "clickhouse" else text
    order = " ENGINE = MergeTree ORDER BY ts" if kind == "clickhouse" else ""
    with adapter:
        adapter.ensure_staging()
        # the assignment source of create_sources reads an exposures table
        adapter.run(
            f"CREATE TABLE {schema}.exposures (user_id {text}, ts {timestamp}, "
            f"experiment {text}, grp {text}){engine}"
        )
        adapter.run(
            f"CREATE TABLE {schema}.events (user_id {nullable}, ts {timestamp}, "
            f"event {text}, amount {number}){order}"
        )
        insert(adapter, f"{schema}.events", rows)
    assert console.patch("/console/v1/wh_connections", json=connection).status_code == 200
    create_sources(console, schema, {"purchases": "events", "visits": "events"})
    for name, definition in METRICS.items():
        body = {
            "name": name,
            "type": "user_warehouse",
            "warehouseNative": {"metricSourceName": "purchases", **definition},
        }
        created = console.post(BASE, json=body)
        assert created.status_code == 201, created.text
    try:
        yield rows, schema, adapter
    finally:
        with adapter:
            drop_schema(adapter, kind, schema)


def reload(app: FastAPI, console: ContractClient, name: str, query: str = "") -> None:
    response = console.post(f"{BASE}/{name}::user_warehouse/reload{query}")
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Metric data reloaded successfully."}
    assert app.state.pulse_runner.run_pending() == 1


def read(console: ContractClient, name: str, day: dt.date) -> list[dict[str, Any]]:
    response = console.get(BASE, params={"id": f"{name}::user_warehouse", "date": day.isoformat()})
    assert response.status_code == 200, response.text
    return [
        {k: v for k, v in row.items() if k not in ("metric_name", "metric_type")}
        for row in response.json()["data"]
    ]


def approx(dto: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The rows ``GET /metrics`` answers for a day whose value is ``dto`` (None: none)."""
    if dto is None:
        return []
    return [{k: pytest.approx(v, rel=1e-9) if isinstance(v, float) else v for k, v in dto.items()}]


def test_reload__warehouse_native_metrics__daily_values_equal_python(
    app: FastAPI,
    console: ContractClient,
    db: Database,
    clock: ManualClock,
    events_warehouse: tuple[list[Row], str, Warehouse],
) -> None:
    rows, schema, adapter = events_warehouse
    advance_to(clock, NOW)
    days = [FIRST_DAY + dt.timedelta(days=n) for n in range(10)]

    for name in METRICS:
        reload(app, console, name)

    for name in METRICS:
        for day in days:
            found = read(console, name, day)
            assert found == approx(expected(rows, name, day)), (name, day, found)
        # the reload's own day is not over: not loaded
        assert read(console, name, NOW.date()) == []
    # the rows make retained (converted) units, lost ones, and start days whose window is
    # not over
    for partial in ("Rebuy", "View then buy"):
        found_days = [expected(rows, partial, day) for day in days]
        assert None in found_days
        assert any(0 < r["value"] < 1 for r in found_days if r is not None)
    listed = console.get(f"{BASE}/values", params={"date": "2026-11-04", "limit": 100}).json()
    revenue = [row for row in listed["data"] if row["metricName"] == "Revenue"]
    day4 = expected(rows, "Revenue", dt.date(2026, 11, 4))
    assert day4 is not None
    assert revenue == [
        {
            "value": pytest.approx(day4["value"]),
            "unitType": "userID",
            "inputRows": day4["row_count"],
            "metricName": "Revenue",
            "metricType": "user_warehouse",
        }
    ]

    # Given new rows on a loaded day and on the day that was not over
    late: list[Row] = [
        ("u5", dt.datetime(2026, 11, 9, 10), "purchase", 40.0),
        ("u6", dt.datetime(2026, 11, 11, 1), "purchase", 25.0),
    ]
    with adapter:
        insert(adapter, f"{schema}.events", late)
    advance_to(clock, NOW + dt.timedelta(days=1))
    # an incremental reload loads the days after the last loaded one only
    reload(app, console, "Revenue", "?incremental=true")
    now_rows = rows + late
    day9, day11 = dt.date(2026, 11, 9), dt.date(2026, 11, 11)
    assert read(console, "Revenue", day11) == approx(expected(now_rows, "Revenue", day11))
    assert read(console, "Revenue", day9) == approx(expected(rows, "Revenue", day9))
    assert expected(rows, "Revenue", day9) != expected(now_rows, "Revenue", day9)
    # a full one loads every day again
    reload(app, console, "Revenue", "?incremental=false")
    assert read(console, "Revenue", day9) == approx(expected(now_rows, "Revenue", day9))
    # another metric's values stay as loaded
    assert read(console, "Orders", day9) == approx(expected(rows, "Orders", day9))
    # and each reload is in the audit log as queued, with its kind
    queued = "Queued a reload of the metric's daily values"
    revenue_audits = [entry for entry in reload_audits(db) if entry[0] == "Revenue::user_warehouse"]
    assert revenue_audits == [
        ("Revenue::user_warehouse", f"{queued} ({kind})")
        for kind in ("full", "incremental", "full")
    ]


def test_reload__warehouse_native_metric_without_daily_values__400_nothing_queued(
    app: FastAPI,
    console: ContractClient,
    events_warehouse: tuple[list[Row], str, Warehouse],
) -> None:
    body = {
        "name": "Latest",
        "type": "user_warehouse",
        "warehouseNative": {
            "metricSourceName": "purchases",
            "aggregation": "latest_value",
            "valueColumn": "amount",
            "criteria": [{"type": "metadata", "column": "ts", "condition": "after_exposure"}],
        },
    }
    assert console.post(BASE, json=body).status_code == 201

    response = console.post(f"{BASE}/Latest::user_warehouse/reload")
    bad = console.post(f"{BASE}/Revenue::user_warehouse/reload?incremental=yes")

    assert response.status_code == 400
    assert response.json()["message"].startswith(
        "Invalid request. Metric 'Latest::user_warehouse' cannot be reloaded: criterion "
        "'after_exposure' compares with an exposure"
    )
    assert bad.status_code == 400
    assert bad.json()["message"] == (
        'Invalid request. incremental: must be "true" or "false", got \'yes\''
    )
    assert app.state.pulse_runner.run_pending() == 0


# A session funnel's rows (user, moment, session, step), with the days it gives worked out by
# hand: on Nov 3 four sessions start (u2's row without a session is not one of them), u1's s1
# completes 5 minutes later and u3's s4 the next day (no window); u2's s3 did "b" before "a".
SESSION_ROWS = [
    ("u1", dt.datetime(2026, 11, 3, 10, 0), "s1", "a"),
    ("u1", dt.datetime(2026, 11, 3, 10, 5), "s1", "b"),
    ("u1", dt.datetime(2026, 11, 3, 12, 0), "s2", "a"),
    ("u2", dt.datetime(2026, 11, 3, 9, 0), "s3", "b"),
    ("u2", dt.datetime(2026, 11, 3, 9, 10), "s3", "a"),
    ("u2", dt.datetime(2026, 11, 3, 11, 0), None, "a"),
    ("u3", dt.datetime(2026, 11, 3, 8, 0), "s4", "a"),
    ("u3", dt.datetime(2026, 11, 4, 1, 0), "s4", "b"),
    ("u3", dt.datetime(2026, 11, 4, 2, 0), "s5", "b"),
]
SESSION_DAYS: dict[str, dict[dt.date, dict[str, Any]]] = {
    "Session funnel": {
        dt.date(2026, 11, 3): {"value": 0.5, "numerator": 2, "denominator": 4, "row_count": 4},
        dt.date(2026, 11, 4): {"value": 0, "numerator": 0, "denominator": 0, "row_count": 0},
    },
    "Session seconds": {
        dt.date(2026, 11, 3): {
            "value": 30_750,
            "numerator": 300 + 17 * 3600,
            "denominator": 2,
            "row_count": 4,
        },
    },
}


def test_reload__session_funnel__days_worked_out_by_hand(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    events_warehouse: tuple[list[Row], str, Warehouse],
) -> None:
    _, schema, adapter = events_warehouse
    text, timestamp, _, _ = TABLES[adapter.dialect.name]
    nullable = "Nullable(String)" if adapter.dialect.name == "clickhouse" else text
    order = " ENGINE = MergeTree ORDER BY ts" if adapter.dialect.name == "clickhouse" else ""
    with adapter:
        adapter.run(
            f"CREATE TABLE {schema}.steps (user_id {text}, ts {timestamp}, sid {nullable}, "
            f"step {text}){order}"
        )
        insert(adapter, f"{schema}.steps", SESSION_ROWS)
    source = {
        "name": "steps",
        "sql": f"SELECT * FROM {schema}.steps",
        "timestampColumn": "ts",
        "idTypeMapping": [{"statsigUnitID": "userID", "column": "user_id"}],
    }
    assert console.post(f"{BASE}/metric_source", json=source).status_code == 201
    steps = [
        {
            "metricSourceName": "steps",
            "sessionIdentifierField": "sid",
            "criteria": [{"type": "metadata", "column": "step", "condition": "=", "values": [s]}],
        }
        for s in ("a", "b")
    ]
    for name, seconds in (("Session funnel", False), ("Session seconds", True)):
        body = {
            "name": name,
            "type": "user_warehouse",
            "warehouseNative": {
                "aggregation": "funnel",
                "funnelEvents": steps,
                "funnelCountDistinct": "sessions",
                "funnelTimeToConvert": seconds,
            },
        }
        assert console.post(BASE, json=body).status_code == 201, body
    advance_to(clock, NOW)

    for name, days in SESSION_DAYS.items():
        reload(app, console, name)
        for day, dto in days.items():
            assert read(console, name, day) == [{**dto, "unit_type": "userID"}], (name, day)
