"""Warehouse-native funnels and retention end to end: defined through the Console API (a
funnel with and without strict ordering, with a calculation window from the first step or
from the exposure, with the exposure as its first step, by sessions, its time to convert;
retention on one event and with a start event of another source), loaded by the Pulse worker
in DuckDB, PostgreSQL and chDB, and ``pulse_results``, the stored sums and every earlier day's
cumulative view equal to an independent pure-Python computation over the same rows; an
incremental load stores what a full one does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI

from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
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
from tests.warehouse.test_pipeline_end_to_end import TABLES, delta_method, expected_sums, insert
from tests.warehouse.test_pipeline_views import assert_close

EXPERIMENT = "checkout_v2"
T0 = dt.datetime(2026, 11, 1)
END = T0 + dt.timedelta(days=10)  # the clock at load time
LAST_DAY = (END - dt.timedelta(days=1)).date()
DAY = dt.timedelta(days=1)


@dataclass
class Dataset:
    exposures: list[tuple[str, dt.datetime, str, str]]  # user_id, ts, experiment, grp
    # user_id, ts, event (view, cart, buy, other), session_id
    events: list[tuple[str, dt.datetime, str, str]]
    visits: list[tuple[str, dt.datetime, str]]  # user_id, ts, page


def _at(
    rng: np.random.Generator, base: dt.datetime, low_days: float, high_days: float
) -> dt.datetime:
    seconds = rng.integers(int(low_days * 86400), int(high_days * 86400))
    return base + dt.timedelta(seconds=int(seconds))


def generate(seed: int = 5, units: int = 800) -> Dataset:
    """Units exposed over six days, a few crossovers; the Test group carts and buys more (the
    planted lift) and visits more often. Steps before exposure and after the
    analysis end, out of order, at the very same moment (strict ordering bites), and late
    (calculation windows bite)."""
    rng = np.random.default_rng(seed)
    data = Dataset([], [], [])
    for i in range(units):
        user = f"u{i}"
        test = rng.random() < 0.5
        group = "Test" if test else "Control"
        first = _at(rng, T0, 0, 6)
        data.exposures.append((user, first, EXPERIMENT, group))
        data.exposures.append((user, first + dt.timedelta(hours=2), EXPERIMENT, group))
        if i % 100 == 0:  # a crossover: not analysed
            other = "Control" if test else "Test"
            data.exposures.append((user, first + dt.timedelta(hours=1), EXPERIMENT, other))
        lift = 1.5 if test else 1.0
        for event, rate, low, high in (
            ("view", 1.2, -1, 5),
            ("cart", 0.8, -0.5, 6),
            ("buy", 0.6, 0, 7),
        ):
            # the Test group views as often, and carts and buys more: it converts more
            for _ in range(int(rng.poisson(rate * (1.0 if event == "view" else lift)))):
                session = f"{user}-{int(rng.integers(0, 3))}"
                data.events.append((user, _at(rng, first, low, high), event, session))
        if i % 7 == 0:  # three steps at one moment: only a non-strict funnel completes them
            at, session = _at(rng, first, 0, 1), f"{user}-1"
            data.events += [(user, at, e, session) for e in ("view", "cart", "buy")]
        if i % 11 == 0:  # a cart a second before its view: only an allowance accepts it
            at, session = _at(rng, first, 1, 2), f"{user}-2"
            before = at - dt.timedelta(seconds=1)
            data.events += [(user, at, "view", session), (user, before, "cart", session)]
            data.events.append((user, at + dt.timedelta(hours=1), "buy", session))
        if i % 9 == 0:  # after the analysis end
            data.events.append((user, END + dt.timedelta(hours=3), "buy", f"{user}-0"))
        if i % 4 == 0:  # another event
            data.events.append((user, _at(rng, first, 0, 3), "other", f"{user}-2"))
        for _ in range(int(rng.poisson(3.2 * lift))):
            data.visits.append((user, _at(rng, first, -2, 9), "home" if i % 2 else "shop"))
    return data


@pytest.fixture(params=list(TABLES))
def team_warehouse(
    request: pytest.FixtureRequest, console: ContractClient, settings: Settings, chdb_path: Path
) -> Iterator[Dataset]:
    """The dataset in the team's warehouse and the project's connection to it."""
    kind, schema = request.param, scratch_name()
    data = generate()
    adapter, connection = connected_warehouse(kind, schema, settings, chdb_path)
    text, timestamp, _, engine = TABLES[kind]
    with adapter:
        adapter.ensure_staging()
        adapter.run(
            f"CREATE TABLE {schema}.exposures (user_id {text}, ts {timestamp}, "
            f"experiment {text}, grp {text}){engine}"
        )
        for table, more in (("events", f", session_id {text}"), ("visits", "")):
            adapter.run(
                f"CREATE TABLE {schema}.{table} (user_id {text}, ts {timestamp}, "
                f"event {text}{more}){engine}"
            )
        insert(adapter, f"{schema}.exposures", data.exposures)
        insert(adapter, f"{schema}.events", data.events)
        insert(adapter, f"{schema}.visits", data.visits)
    response = console.patch("/console/v1/wh_connections", json=connection)
    assert response.status_code == 200, response.text
    create_sources(console, schema, {"events": "events", "visits": "visits"})
    try:
        yield data
    finally:
        with adapter:
            drop_schema(adapter, kind, schema)


def is_event(*names: str) -> list[dict[str, Any]]:
    return [{"type": "metadata", "column": "event", "condition": "in", "values": list(names)}]


def step(event: str, source: str = "events") -> dict[str, Any]:
    return {"name": event, "metricSourceName": source, "criteria": is_event(event)}


CHECKOUT = [step("view"), step("cart"), step("buy")]
METRICS: dict[str, dict[str, Any]] = {
    "Checkout": {"aggregation": "funnel", "funnelEvents": CHECKOUT},
    "Checkout strict in 2 days": {
        "aggregation": "funnel",
        "funnelEvents": CHECKOUT,
        "funnelStrictOrdering": True,
        "funnelCalculationWindow": 2,
    },
    "Exposed to purchase in 3 days": {
        "aggregation": "funnel",
        "funnelEvents": CHECKOUT[1:],
        "funnelUseExposureAsFirstEvent": True,
        "funnelCalculationWindow": 3,
        "funnelStartCriteria": "exposure",
    },
    "Cart to buy within 4 days of exposure": {
        "aggregation": "funnel",
        "metricSourceName": "events",
        "funnelEvents": [{"criteria": is_event("cart")}, {"criteria": is_event("buy")}],
        "funnelCalculationWindow": 4,
        "funnelStartCriteria": "exposure",
    },
    "Checkout sessions in 2 days": {
        "aggregation": "funnel",
        "funnelCountDistinct": "sessions",
        "funnelEvents": [{**s, "sessionIdentifierField": "session_id"} for s in CHECKOUT],
        "funnelCalculationWindow": 2,
    },
    "Seconds to buy in 3 days": {
        "aggregation": "funnel",
        "funnelEvents": [CHECKOUT[0], CHECKOUT[2]],
        "funnelCalculationWindow": 3,
        "funnelTimeToConvert": True,
    },
    "Checkout with 2 seconds allowance": {
        "aggregation": "funnel",
        "funnelEvents": CHECKOUT,
        "funnelStrictOrdering": True,
        "funnelTimestampAllowanceMs": 2000,
    },
    "Viewed twice": {
        "aggregation": "funnel",
        "funnelEvents": [step("view"), step("view")],
        "funnelStrictOrdering": True,
    },
    "Returning": {
        "aggregation": "retention",
        "metricSourceName": "visits",
        "retentionEnd": 3,
        "retentionLength": 2,
    },
    "Buyers returning": {
        "aggregation": "retention",
        "metricSourceName": "visits",
        "criteria": [{"type": "metadata", "column": "event", "condition": "=", "values": ["shop"]}],
        "retentionEnd": 2,
        "retentionLength": 2,
        "useSecondaryRetentionEvent": True,
        "denominatorMetricSourceName": "events",
        "denominatorCriteria": is_event("buy"),
    },
}


def define_analysis(console: ContractClient) -> dict[str, str]:
    for name, definition in METRICS.items():
        created = console.post(
            "/console/v1/metrics",
            json={"name": name, "type": "user_warehouse", "warehouseNative": definition},
        )
        assert created.status_code == 201, (name, created.text)
    secondary = [name for name in METRICS if name != "Checkout"]
    return create_experiment(console, "checkout", EXPERIMENT, "Checkout", secondary)


# ---- the independent computation ----------------------------------------------------------


def first_exposures(data: Dataset) -> tuple[dict[str, str], dict[str, dt.datetime]]:
    groups: dict[str, set[str]] = {}
    first: dict[str, dt.datetime] = {}
    for user, ts, experiment, group in data.exposures:
        if experiment == EXPERIMENT and ts < END:
            groups.setdefault(user, set()).add(group)
            first[user] = min(first.get(user, ts), ts)
    return {u: next(iter(g)) for u, g in groups.items() if len(g) == 1}, first


def times(
    rows: Sequence[tuple[Any, ...]], first: dict[str, dt.datetime], *names: str, session: Any = None
) -> dict[str, list[dt.datetime]]:
    """Per unit, the moments of its rows of ``names`` (any when none; of one ``session``
    when given) at or after its first exposure and before the analysis end."""
    out: dict[str, list[dt.datetime]] = {}
    for user, ts, event, *more in rows:
        if session is not None and more[0] != session:
            continue
        if user in first and first[user] <= ts < END and (not names or event in names):
            out.setdefault(user, []).append(ts)
    return out


def funnel(
    steps: list[list[dt.datetime]], exposure: dt.datetime, definition: dict[str, Any]
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """When a unit started and completed the funnel (None: it did not), step by step: each
    step's first moment at or after (strictly after) the previous one, within the window."""
    strict = definition.get("funnelStrictOrdering", False)
    allowance = dt.timedelta(milliseconds=definition.get("funnelTimestampAllowanceMs", 0))
    days = definition.get("funnelCalculationWindow")
    window = None if days is None else dt.timedelta(days=days)
    if definition.get("funnelUseExposureAsFirstEvent"):
        at, anchor, rest = exposure, exposure, steps
    else:
        if not steps[0]:
            return None, None
        at = min(steps[0])
        from_exposure = definition.get("funnelStartCriteria") == "exposure"
        anchor = exposure if from_exposure else at
        if window is not None and at >= anchor + window:
            return None, None
        rest = steps[1:]
    started = at
    for moments in rest:
        after = [
            t
            for t in moments
            if (t > at - allowance if strict else t >= at - allowance)
            and (window is None or t < anchor + window)
        ]
        if not after:
            return started, None
        at = min(after)
    return started, at


def retention(
    starts: list[dt.datetime], completions: list[dt.datetime], end: int, length: int
) -> list[tuple[dt.date, float]]:
    """Per start day whose window has ended by the load's last day: the day it ended, and 1
    if the unit completed within the window, else 0."""
    done = {t.date() for t in completions}
    out = []
    for day in sorted({t.date() for t in starts}):
        if day + end * DAY > LAST_DAY:
            continue
        window = {day + k * DAY for k in range(end - length + 1, end + 1)}
        out.append((day + end * DAY, 1.0 if window & done else 0.0))
    return out


# per unit, its numerator and denominator increments, each with the day it is dated
Dated = list[tuple[dt.date, float, float]]


def dated_values(data: Dataset) -> tuple[dict[str, str], dict[str, dict[str, Dated]]]:
    """The analysed units' groups, and per metric and unit its dated (numerator,
    denominator) increments."""
    analysed, first = first_exposures(data)
    event_times = {e: times(data.events, first, e) for e in ("view", "cart", "buy")}
    out: dict[str, dict[str, Dated]] = {name: {} for name in METRICS}
    for name, definition in METRICS.items():
        for user in analysed:
            dated: Dated = []
            if definition["aggregation"] == "funnel":
                names = [s["criteria"][0]["values"][0] for s in definition["funnelEvents"]]
                # a session funnel: each of the unit's sessions on its own
                of_sessions: list[dict[str, dict[str, list[dt.datetime]]]] = [event_times]
                if definition.get("funnelCountDistinct") == "sessions":
                    of_sessions = [
                        {e: times(data.events, first, e, session=f"{user}-{k}") for e in names}
                        for k in range(3)
                    ]
                for of_events in of_sessions:
                    steps = [of_events[n].get(user, []) for n in names]
                    started, completed = funnel(steps, first[user], definition)
                    if definition.get("funnelTimeToConvert"):
                        if started is not None and completed is not None:
                            seconds = (completed - started).total_seconds()
                            dated.append((completed.date(), seconds, 1.0))
                        continue
                    if started is not None:
                        dated.append((started.date(), 0.0, 1.0))
                    if completed is not None:
                        dated.append((completed.date(), 1.0, 0.0))
            else:
                secondary = definition.get("useSecondaryRetentionEvent")
                visits = times(
                    [r for r in data.visits if not secondary or r[2] == "shop"], first
                ).get(user, [])
                starts = event_times["buy"].get(user, []) if secondary else visits
                ended = retention(
                    starts, visits, definition["retentionEnd"], definition["retentionLength"]
                )
                dated += [(day, x, 1.0) for day, x in ended]
            out[name][user] = dated
    return analysed, out


def units_as_of(
    analysed: dict[str, str],
    first: dict[str, dt.datetime],
    dated: dict[str, Dated],
    day: dt.date,
) -> dict[str, np.ndarray]:
    """Per group, the (x, y, xp, yp) of the units exposed by ``day`` with a denominator by
    then (no covariate: 0)."""
    out: dict[str, list[tuple[float, float, float, float]]] = {"Control": [], "Test": []}
    for user, group in analysed.items():
        if first[user].date() > day:
            continue
        x = sum(v for d, v, _ in dated[user] if d <= day)
        y = sum(c for d, _, c in dated[user] if d <= day)
        if y:
            out[group].append((x, y, 0.0, 0.0))
    return {g: np.array(u, dtype=float).reshape(-1, 4) for g, u in out.items()}


def test_load_pulse__funnels_and_retention__results_equal_python(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    db: Database,
    team_warehouse: Dataset,
) -> None:
    data = team_warehouse
    groups = define_analysis(console)
    advance_to(clock, END)

    assert load_pulse(app, console, "checkout")["progress"] == 100
    query = {"control": groups["Control"], "test": groups["Test"]}
    found = by_name(pulse_results(console, "checkout", **query, cuped="false"))
    assert set(found) == set(METRICS)
    analysed, dated = dated_values(data)
    _, first = first_exposures(data)
    stored = stored_views(db)[("cumulative", LAST_DAY.isoformat())]
    entries = {m["metricName"]: m for m in stored["metrics"]}
    conversions = {}
    for name in METRICS:
        units = units_as_of(analysed, first, dated[name], LAST_DAY)
        control, test = units["Control"], units["Test"]
        mc, mt, delta, half_width, p = delta_method(control, test)
        metric = found[name]
        assert (metric["controlUnits"], metric["testUnits"]) == (len(control), len(test)), name
        assert metric["controlMean"] == pytest.approx(mc, rel=1e-9), name
        assert metric["testMean"] == pytest.approx(mt, rel=1e-9), name
        assert metric["absoluteChange"] == pytest.approx(delta, rel=1e-9, abs=1e-12), name
        assert metric["confidenceIntervalDelta"] == pytest.approx(half_width, rel=1e-9), name
        assert metric["pValue"] == pytest.approx(p, rel=1e-6, abs=1e-12), name
        for group, of_group in units.items():
            expected = expected_sums(of_group, ratio=True)
            assert entries[name]["sums"][group] == pytest.approx(expected, rel=1e-9), name
        conversions[name] = (mc, mt)
    # the options bite: strict ordering and a window convert fewer; with the exposure as the
    # first step every exposed unit starts; a retention counts several start days of a unit
    assert conversions["Checkout strict in 2 days"][0] < conversions["Checkout"][0]
    exposed = sum(1 for g in analysed.values() if g == "Control")
    assert found["Exposed to purchase in 3 days"]["controlUnits"] == exposed
    assert conversions["Viewed twice"][0] < 1
    by_session = units_as_of(analysed, first, dated["Checkout sessions in 2 days"], LAST_DAY)
    assert (by_session["Test"][:, 1] > 1).any()  # a unit with several sessions started
    assert 3600 < conversions["Seconds to buy in 3 days"][0] < 3 * 86400
    allowed = conversions["Checkout with 2 seconds allowance"]
    assert allowed[0] > conversions["Checkout"][0]  # strict, yet the early carts count
    returning = units_as_of(analysed, first, dated["Returning"], LAST_DAY)["Test"]
    assert (returning[:, 1] > 1).any()
    for name in ("Checkout", "Returning"):
        assert found[name]["absoluteChange"] > 0, name


def test_load_pulse__funnels_and_retention_by_day__cumulative_views_equal_python(
    app: FastAPI,
    console: ContractClient,
    clock: ManualClock,
    db: Database,
    team_warehouse: Dataset,
) -> None:
    """Every earlier day's cumulative view counts the funnels started and completed and the
    retention windows ended by that day; an incremental load after an earlier one stores what
    a full load does."""
    data = team_warehouse
    define_analysis(console)
    advance_to(clock, T0 + dt.timedelta(days=6))
    load_pulse(app, console, "checkout", "full")
    advance_to(clock, END)
    incremental = load_pulse(app, console, "checkout", "incremental")
    assert incremental["loadedAs"]["reloadType"] == "incremental"
    after_incremental = stored_views(db)
    assert load_pulse(app, console, "checkout", "full")["loadedAs"] == {"reloadType": "full"}
    stored = stored_views(db)
    assert_close(comparable(after_incremental), comparable(stored))

    analysed, dated = dated_values(data)
    _, first = first_exposures(data)
    day, checked = min(first.values()).date(), 0
    while day <= LAST_DAY:
        entries = {m["metricName"]: m for m in stored[("cumulative", day.isoformat())]["metrics"]}
        for name in METRICS:
            units = units_as_of(analysed, first, dated[name], day)
            for group, of_group in units.items():
                found = entries[name]["sums"].get(group)
                if not len(of_group):
                    assert found is None, (name, day, group)
                    continue
                expected = expected_sums(of_group, ratio=True)
                assert found == pytest.approx(expected, rel=1e-9), (name, day, group)
                checked += 1
        day += DAY
    assert checked > len(METRICS) * 2 * 5
