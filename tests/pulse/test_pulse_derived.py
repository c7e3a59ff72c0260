"""Funnel and composite metrics in Pulse: per-group sums equal a plain Python reduction of the
rows, counted from each unit's first exposure."""

from __future__ import annotations

import random
from typing import Any

import pytest

from lockgate.domains.events.repository import insert_rows
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.pulse.engine import compute_group_sums, experiment_assignment
from lockgate.kit.db import Database
from tests.contract.client import ContractClient

T0 = 1_780_000_000_000
GROUPS = {"rule_control": "Control", "rule_test": "Test"}
COUNT_OF = {
    "visit": {"name": "Visits", "type": "event_count_custom", "metricEvents": [{"name": "visit"}]},
    "checkout": {
        "name": "Checkouts",
        "type": "event_count_custom",
        "metricEvents": [{"name": "checkout"}],
    },
}
COMPONENTS = [
    {"name": "Checkouts", "type": "event_count_custom"},
    {"name": "Visits", "type": "event_count_custom"},
]
DERIVED = [
    {
        "name": "Visit to checkout",
        "type": "funnel",
        "funnelEventList": COMPONENTS[::-1],
        "funnelCountDistinct": "users",
    },
    {"name": "Checkouts per visit", "type": "composite", "metricComponentMetrics": COMPONENTS},
    {"name": "Engagement", "type": "composite_sum", "metricComponentMetrics": COMPONENTS},
]


@pytest.fixture()
def rows(db: Database, project: Bootstrap, console: ContractClient) -> dict[str, Any]:
    for body in [*COUNT_OF.values(), *DERIVED]:
        assert console.post("/console/v1/metrics", json=body).status_code == 201
    rng = random.Random(3)
    pid = project.project.id
    exposures, events = [], []
    units: dict[str, tuple[str, int, list[tuple[str, int]]]] = {}
    for i in range(60):
        unit, rule = f"u{i}", list(GROUPS)[i % 2]
        first = T0 + i * 1000
        exposures.append(_row(pid, unit, first, kind="config", name="exp", rule_id=rule))
        logged = [
            (rng.choice(["visit", "visit", "checkout"]), first + rng.randint(-5_000, 50_000))
            for _ in range(rng.randint(0, 4))
        ]
        events += [_row(pid, unit, ts, event_name=name) for name, ts in logged]
        units[unit] = (GROUPS[rule], first, logged)
    with db.transaction() as session:
        insert_rows(session.connection(), "exposures", exposures)
        insert_rows(session.connection(), "events", events)
    return {"pid": pid, "units": units}


def _row(pid: str, unit: str, ts: int, **fields: Any) -> dict[str, Any]:
    return {"project_id": pid, "user_id": unit, "time": ts, "received_time": ts, **fields}


def _value(logged: list[tuple[int, str]], metric_type: str) -> tuple[float, float]:
    """(x, y) of one unit's events, in time order."""
    visits = sum(1 for _, name in logged if name == "visit")
    checkouts = sum(1 for _, name in logged if name == "checkout")
    if metric_type == "composite_sum":
        return float(visits + checkouts), 1.0
    if metric_type == "composite":
        return float(checkouts), float(visits)
    # funnel: started with a visit; completed with a checkout after a visit
    started = next((ts for ts, name in logged if name == "visit"), None)
    if started is None:
        return 0.0, 0.0
    return float(any(n == "checkout" and ts >= started for ts, n in logged)), 1.0


def _expected(units: dict[str, Any], metric_type: str) -> dict[str, dict[str, float]]:
    """Every sum, CUPED's included: the pre-period is the seven days before first exposure."""
    sums: dict[str, dict[str, float]] = {}
    for group, first, logged in units.values():
        events = sorted((ts, name) for name, ts in logged)
        x, y = _value([e for e in events if e[0] >= first], metric_type)
        xp, yp = _value([e for e in events if first - 7 * 86_400_000 <= e[0] < first], metric_type)
        if y == 0:
            continue
        bucket = sums.setdefault(group, {})
        for key, value in (
            ("n", 1.0), ("sx", x), ("sxx", x * x), ("sy", y), ("sxy", x * y), ("sxp", xp),
            ("sxpxp", xp * xp), ("sxxp", x * xp), ("syp", yp), ("sxpyp", xp * yp),
            ("sxyp", x * yp), ("syxp", y * xp), ("syyp", y * yp), ("with_pre", float(xp != 0)),
        ):  # fmt: skip
            bucket[key] = bucket.get(key, 0.0) + value
    return sums


def test_compute_group_sums__funnel_and_composites__equal_python_reduction(
    db: Database, rows: dict[str, Any]
) -> None:
    spec = experiment_assignment(
        {"id": "exp", "groups": [{"id": r, "name": g} for r, g in GROUPS.items()]}, T0 + 10**9
    )
    refs = [("primary", {"name": d["name"], "type": d["type"]}) for d in DERIVED]
    with db.transaction(write=False) as session:
        found = compute_group_sums(session, rows["pid"], spec, refs, lambda _p, _m: None)

    by_type = {metric["type"]: metric for metric in found["metrics"]}
    assert set(by_type) == {"funnel", "composite", "composite_sum"}
    for metric_type, metric in by_type.items():
        assert "unsupported" not in metric
        assert metric["ratio"] is (metric_type != "composite_sum")
        expected = _expected(rows["units"], metric_type)
        assert set(metric["sums"]) == set(expected), metric_type
        for group, sums in expected.items():
            got = metric["sums"][group]
            assert got["n"] == sums["n"], (metric_type, group)
            assert got["sx"] == pytest.approx(sums["sx"]), (metric_type, group)
            assert got["sxx"] == pytest.approx(sums["sxx"]), (metric_type, group)
            assert got["sxp"] == pytest.approx(sums["sxp"]), (metric_type, group)
            assert got["sxpxp"] == pytest.approx(sums["sxpxp"]), (metric_type, group)
            assert got["sxxp"] == pytest.approx(sums["sxxp"]), (metric_type, group)
            assert got["with_pre"] == sums["with_pre"], (metric_type, group)
            if metric["ratio"]:
                for key in ("sy", "sxy", "syp", "sxpyp", "sxyp", "syxp", "syyp"):
                    assert got[key] == pytest.approx(sums[key]), (metric_type, group, key)
    # The funnel is a real rate: some units started without completing.
    funnel = by_type["funnel"]["sums"]
    assert 0 < sum(g["sx"] for g in funnel.values()) < sum(g["sy"] for g in funnel.values())
    # Some units logged before their exposure: CUPED has pre-period values to work with.
    assert all(by_type["composite_sum"]["sums"][g]["with_pre"] > 0 for g in ("Control", "Test"))
