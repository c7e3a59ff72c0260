"""Winsorization pushed down (docs/statistics.md §Winsorization): the 99.9th-percentile cap found by
rank inside the database and the capped sums equal a plain Python capping of the unit values."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import text

from lockgate.cores.stats.winsorize import winsorization_cap
from lockgate.domains.events.repository import insert_rows
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.pulse.engine import compute_group_sums
from lockgate.domains.pulse.metrics import plan_for
from lockgate.domains.pulse.results import ResultOptions, metric_results
from lockgate.domains.pulse.sql import CUPED_WINDOW_MS, Assignment
from lockgate.kit.db import Database
from tests.contract.client import ContractClient

T0 = 1_780_000_000_000
DAY = 86_400_000
RULES = {"rule_control": "Control", "rule_test": "Test"}
UNITS = 3000
REFS = [
    ("primary", {"name": "purchase_value", "type": "sum"}),
    ("secondary", {"name": "purchase", "type": "event_count"}),
    ("secondary", {"name": "purchase", "type": "event_user"}),
]


@pytest.fixture()
def rows(db: Database, project: Bootstrap, console: ContractClient) -> dict[str, Any]:
    """3,000 units; heavy-tailed purchase values and counts after exposure, some before it."""
    created = console.post(
        "/console/v1/metrics",
        json={
            "name": "purchase_value",
            "type": "sum",
            "metricEvents": [{"name": "purchase", "type": "value"}],
        },
    )
    assert created.status_code == 201, created.text
    rng = random.Random(17)
    pid = project.project.id
    exposures, events = [], []
    first: dict[str, tuple[str, int]] = {}
    for i in range(UNITS):
        unit, rule = f"u{i}", "rule_control" if i % 2 else "rule_test"
        ts = T0 + rng.randint(0, 3 * DAY)
        exposures.append(_row(pid, unit, ts, kind="config", name="exp", rule_id=rule))
        first[unit] = (RULES[rule], ts)
        # A geometric count with a long tail: a few units buy dozens of times.
        purchases = int(rng.expovariate(0.4)) if rng.random() < 0.7 else 0
        for _ in range(purchases):
            value = round(rng.lognormvariate(3.0, 1.4), 2)
            events.append(_event(pid, unit, ts + rng.randint(0, 2 * DAY), value))
        if rng.random() < 0.3:
            events.append(_event(pid, unit, ts - rng.randint(1, 6 * DAY), 10.0))
    with db.transaction() as session:
        insert_rows(session.connection(), "exposures", exposures)
        insert_rows(session.connection(), "events", events)
    return {"pid": pid, "first": first, "events": events}


def _row(pid: str, unit: str, ts: int, **fields: Any) -> dict[str, Any]:
    return {"project_id": pid, "user_id": unit, "time": ts, "received_time": ts, **fields}


def _event(pid: str, unit: str, ts: int, value: float) -> dict[str, Any]:
    return _row(pid, unit, ts, event_name="purchase", value_number=value)


def _python_capped(rows: dict[str, Any], aggregation: str) -> tuple[float, dict[str, Any]]:
    """Per group: n, Σx, Σx², Σx·xp of min(x, P_x), P_x over all groups' non-zero x."""
    post: dict[str, float] = defaultdict(float)
    pre: dict[str, float] = defaultdict(float)
    for event in rows["events"]:
        _, ts = rows["first"][event["user_id"]]
        amount = event["value_number"] if aggregation == "sum" else 1.0
        if event["time"] >= ts:
            post[event["user_id"]] += amount
        elif event["time"] >= ts - CUPED_WINDOW_MS:
            pre[event["user_id"]] += amount
    units = list(rows["first"])
    cap = winsorization_cap([post[u] for u in units])
    assert cap is not None
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for unit in units:
        group, _ = rows["first"][unit]
        x, xp = min(post[unit], cap), pre[unit]
        bucket = sums[group]
        bucket["n"] += 1
        bucket["sx"] += x
        bucket["sxx"] += x * x
        bucket["sxxp"] += x * xp
        bucket["raw_sx"] += post[unit]
    return cap, sums


@pytest.fixture()
def document(db: Database, rows: dict[str, Any]) -> dict[str, Any]:
    spec = Assignment(experiment="exp", id_type="userID", group_rules=RULES)
    with db.transaction(write=False) as session:
        sums = compute_group_sums(session, rows["pid"], spec, REFS, lambda _p, _m: None)
    return sums


@pytest.mark.parametrize(("index", "aggregation"), [(0, "sum"), (1, "count")])
def test_winsorized_sums__pushed_down__equal_python_capping(
    rows: dict[str, Any], document: dict[str, Any], index: int, aggregation: str
) -> None:
    # Given the unit values reduced and capped in Python
    cap, expected = _python_capped(rows, aggregation)
    metric = document["metrics"][index]
    # Then the database's rank-found cap is numpy's 99.9th percentile of the pooled values
    assert metric["winsorization"]["cap"] == pytest.approx(cap, rel=1e-9)
    assert metric["winsorization"]["percentile"] == 99.9
    # And it bites: some units in the tails, yet fewer than 0.1% + ties of the non-zero ones
    tails = metric["winsorization"]["tails"]
    assert (
        0
        < sum(t["n"] for t in tails.values())
        <= 0.001 * metric["winsorization"]["nonzeroUnits"] + 1
    )
    for group, sums in expected.items():
        capped, raw = metric["cappedSums"][group], metric["sums"][group]
        assert capped["n"] == raw["n"] == sums["n"]
        assert capped["sx"] == pytest.approx(sums["sx"], rel=1e-9)
        assert capped["sxx"] == pytest.approx(sums["sxx"], rel=1e-9)
        assert capped["sxxp"] == pytest.approx(sums["sxxp"], rel=1e-9)
        assert raw["sx"] == pytest.approx(sums["raw_sx"], rel=1e-9)
        assert raw["sx"] > capped["sx"] or tails.get(group, {}).get("n", 0) == 0


def test_winsorized_sums__participation_metric__not_capped(document: dict[str, Any]) -> None:
    event_user = document["metrics"][2]
    assert event_user["type"] == "event_user" and "cappedSums" not in event_user


@pytest.mark.parametrize(
    ("metric_id", "winsorized"),
    [
        ("purchase::event_count", True),
        ("purchase::event_user", False),
        ("purchase::event_dau", False),
    ],
)
@pytest.mark.database_free
def test_metric_plan__type__winsorized_only_for_counts_and_sums(
    metric_id: str, winsorized: bool
) -> None:
    assert plan_for(None, metric_id).winsorized is winsorized


@pytest.mark.parametrize("winsorize", [True, False])
def test_metric_results__winsorize_option__reads_capped_or_raw_sums(
    rows: dict[str, Any], document: dict[str, Any], winsorize: bool
) -> None:
    # Given stored capped and raw sums, when results are asked without CUPED
    _, expected = _python_capped(rows, "sum")
    options = ResultOptions(control="Control", test="Test", cuped=False, winsorize=winsorize)
    (primary,) = metric_results(document, options)["primaryMetrics"]
    # Then the means are the capped ones by default and the raw ones when winsorization is off
    key = "sx" if winsorize else "raw_sx"
    for group, field in (("Control", "controlMean"), ("Test", "testMean")):
        assert primary[field] == pytest.approx(expected[group][key] / expected[group]["n"])


def test_metric_results__no_non_zero_values__uncapped(db: Database, project: Bootstrap) -> None:
    # Given exposures but no events at all
    pid = project.project.id
    exposures = [
        _row(pid, f"u{i}", T0, kind="config", name="exp", rule_id=rule)
        for i, rule in enumerate(["rule_control", "rule_test"] * 5)
    ]
    with db.transaction() as session:
        insert_rows(session.connection(), "exposures", exposures)
        spec = Assignment(experiment="exp", id_type="userID", group_rules=RULES)
        found = compute_group_sums(session, pid, spec, REFS[1:2], lambda _p, _m: None)
    # Then there is no cap and the results read the raw sums
    (metric,) = found["metrics"]
    assert metric["winsorization"]["cap"] is None and "cappedSums" not in metric
    (secondary,) = metric_results(found, ResultOptions(control="Control", test="Test"))[
        "secondaryMetrics"
    ]
    assert secondary["controlMean"] == secondary["testMean"] == 0.0


def test_compute_group_sums__staging_tables__dropped_afterwards(
    db: Database, rows: dict[str, Any]
) -> None:
    spec = Assignment(experiment="exp", id_type="userID", group_rules=RULES)
    with db.transaction(write=False) as session:
        compute_group_sums(session, rows["pid"], spec, REFS, lambda _p, _m: None)
        if db.is_sqlite:
            query = "SELECT count(*) FROM sqlite_temp_master WHERE name LIKE 'pulse_%'"
        else:
            query = (
                "SELECT count(*) FROM pg_class"
                " WHERE relname LIKE 'pulse_%' AND relpersistence = 't'"
            )
        left = session.execute(text(query)).scalar()
    assert left == 0
