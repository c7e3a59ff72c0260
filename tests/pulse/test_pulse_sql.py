"""The push-down SQL gives the same per-group sums as a plain Python reduction of the rows."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import pytest

from lockgate.domains.events.repository import insert_rows
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.pulse.sql import (
    CUPED_WINDOW_MS,
    Assignment,
    Criterion,
    EventSource,
    MetricQuery,
    assignments,
    crossover_count,
    group_sums,
    metric_view,
    per_unit_select,
    per_unit_table,
    unit_values,
    unit_values_many,
)
from lockgate.kit.db import Database

T0 = 1_780_000_000_000
RULES = {"rule_control": "Control", "rule_test": "Test"}


@pytest.fixture()
def rows(db: Database, project: Bootstrap) -> dict[str, Any]:
    """300 units in two groups, 4 crossovers, override exposures, events around exposure."""
    rng = random.Random(5)
    pid = project.project.id
    exposures, events = [], []
    first: dict[str, tuple[str, int]] = {}
    for i in range(300):
        unit = f"u{i}"
        rule = "rule_control" if i % 2 else "rule_test"
        ts = T0 + rng.randint(0, 5 * 86_400_000)
        for repeat in range(rng.randint(1, 3)):
            exposures.append(_exposure(pid, unit, rule, ts + repeat * 1000))
        first[unit] = (RULES[rule], ts)
        for _ in range(rng.randint(0, 6)):
            offset = rng.randint(-9, 9) * 86_400_000 + rng.randint(0, 1000)
            name = rng.choice(["purchase", "purchase", "view"])
            events.append(
                _event(
                    pid,
                    unit,
                    name,
                    ts + offset,
                    rng.choice([None, 1.0, 2.5, 10.0]),
                    rng.choice(["a", "b"]),
                )
            )
    for i in range(4):
        unit = f"cross{i}"
        exposures += [
            _exposure(pid, unit, "rule_control", T0),
            _exposure(pid, unit, "rule_test", T0 + 5),
        ]
    exposures.append(_exposure(pid, "overridden", "exp:userID:id_override", T0))
    with db.transaction() as session:
        connection = session.connection()
        insert_rows(connection, "exposures", exposures)
        insert_rows(connection, "events", events)
    return {"pid": pid, "first": first, "events": events}


def _exposure(pid: str, unit: str, rule: str, ts: int) -> dict[str, Any]:
    return {
        "project_id": pid,
        "kind": "config",
        "name": "exp",
        "rule_id": rule,
        "user_id": unit,
        "time": ts,
        "received_time": ts,
    }


def _event(
    pid: str, unit: str, name: str, ts: int, value: float | None, sku: str
) -> dict[str, Any]:
    return {
        "project_id": pid,
        "event_name": name,
        "user_id": unit,
        "time": ts,
        "received_time": ts,
        "value_number": value,
        "metadata": {"sku": sku},
    }


def _expected(rows: dict[str, Any], metric: MetricQuery) -> dict[str, dict[str, float]]:
    per_unit: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for event in rows["events"]:
        group_ts = rows["first"].get(event["user_id"])
        if group_ts is None:
            continue
        _, ts = group_ts
        period = (
            "post"
            if event["time"] >= ts
            else ("pre" if event["time"] >= ts - CUPED_WINDOW_MS else None)
        )
        if period is None:
            continue
        for role, source in (("x", metric.numerator), ("y", metric.denominator)):
            if source is None or event["event_name"] != source.event_name:
                continue
            if any(
                c.field == "sku" and event["metadata"]["sku"] not in c.values
                for c in source.criteria
            ):
                continue
            amount = (event["value_number"] or 0.0) if source.aggregation == "sum" else 1.0
            per_unit[event["user_id"]][f"{role}_{period}"] += amount
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for unit, (group, _) in rows["first"].items():
        values = per_unit[unit]
        x, xp = values["x_post"], values["x_pre"]
        y = values["y_post"] if metric.denominator is not None else 1.0
        if metric.denominator is not None and y == 0:
            continue
        bucket = sums[group]
        bucket["n"] += 1
        bucket["sx"] += x
        bucket["sxx"] += x * x
        bucket["sxxp"] += x * xp
        bucket["sy"] += y
        bucket["sxy"] += x * y
    return sums


METRICS = [
    MetricQuery(EventSource("purchase", "count"), cuped=True),
    MetricQuery(EventSource("purchase", "sum", (Criterion("sku", "in", ("a",)),)), cuped=True),
    MetricQuery(EventSource("purchase", "sum"), EventSource("view", "count")),
]


@pytest.mark.parametrize("staged", [False, True], ids=["subquery", "staged table"])
def test_unit_values_many__one_pass__each_metric_equals_python_reduction(
    db: Database, rows: dict[str, Any], staged: bool
) -> None:
    """A Pulse job reads the events once for all its metrics; each metric's columns must
    still reduce to exactly its own sums. A staged per-unit table (as a job reads it, grouped
    by its key alone) holds the crossovers too, which must be left out as the subquery does."""
    spec = Assignment(experiment="exp", id_type="userID", group_rules=RULES)
    with db.transaction(write=False) as session:
        assignment: Any = assignments(rows["pid"], spec)
        if staged:
            assignment = per_unit_table("pulse_units_test")
            assignment.create(session.connection())
            columns = ["unit", "grp", "first_ts", "groups"]
            session.execute(
                assignment.insert().from_select(columns, per_unit_select(rows["pid"], spec))
            )
        values = unit_values_many(rows["pid"], assignment, METRICS, "userID")
        got = [
            {
                row.grp: row._mapping
                for row in session.execute(
                    group_sums(
                        metric_view(values, index, cuped=metric.cuped),
                        ratio=metric.denominator is not None,
                        cuped=metric.cuped,
                    )
                )
            }
            for index, metric in enumerate(METRICS)
        ]
        if staged:
            # A temporary table outlives the transaction on SQLite (it lives as long as the
            # pooled connection): left behind, it would be counted by the next test on that
            # connection that checks a Pulse job drops its staging tables.
            assignment.drop(session.connection())
    for index, metric in enumerate(METRICS):
        for group, sums in _expected(rows, metric).items():
            found = got[index][group]
            assert found["n"] == sums["n"], (index, group)
            assert found["sx"] == pytest.approx(sums["sx"]), (index, group)
            assert found["sxx"] == pytest.approx(sums["sxx"]), (index, group)
            if metric.cuped:
                assert found["sxxp"] == pytest.approx(sums["sxxp"]), (index, group)
            if metric.denominator is not None:
                assert found["sxy"] == pytest.approx(sums["sxy"]), (index, group)


@pytest.mark.parametrize(
    "metric",
    [
        MetricQuery(EventSource("purchase", "count"), cuped=True),
        MetricQuery(EventSource("purchase", "sum", (Criterion("sku", "in", ("a",)),)), cuped=True),
        MetricQuery(EventSource("purchase", "sum"), EventSource("view", "count")),
    ],
    ids=["count+cuped", "filtered sum+cuped", "ratio"],
)
def test_group_sums__sql__equal_python_reduction(
    db: Database, rows: dict[str, Any], metric: MetricQuery
) -> None:
    spec = Assignment(experiment="exp", id_type="userID", group_rules=RULES)
    ratio = metric.denominator is not None
    query = group_sums(
        unit_values(rows["pid"], assignments(rows["pid"], spec), metric, "userID"),
        ratio=ratio,
        cuped=metric.cuped,
    )
    with db.transaction(write=False) as session:
        got = {row.grp: row._mapping for row in session.execute(query)}
        crossovers = session.scalar(crossover_count(rows["pid"], spec))
    expected = _expected(rows, metric)
    assert crossovers == 4 and set(got) == {"Control", "Test"}
    for group, sums in expected.items():
        assert got[group]["n"] == sums["n"]
        assert got[group]["sx"] == pytest.approx(sums["sx"])
        assert got[group]["sxx"] == pytest.approx(sums["sxx"])
        if metric.cuped:
            assert got[group]["sxxp"] == pytest.approx(sums["sxxp"])
        if ratio:
            assert got[group]["sy"] == pytest.approx(sums["sy"])
            assert got[group]["sxy"] == pytest.approx(sums["sxy"])
