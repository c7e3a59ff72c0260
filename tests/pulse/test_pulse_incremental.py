"""Incremental Pulse: a load that starts from the kept per-unit state gives what a load over
every raw row gives, after every kind of change the raw tables can see (new units, new
events after and before exposure, a late earlier exposure, a unit turning crossover, an
exposure timed past the last load's end), and recomputes only the changed units."""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from lockgate.domains.events import incoming
from lockgate.domains.events.repository import insert_rows
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.pulse.engine import compute_group_sums, experiment_assignment
from lockgate.domains.pulse.incremental.kept import StateKey, forget_deleted
from lockgate.domains.pulse.incremental.load import load_group_sums
from lockgate.domains.pulse.monitoring import gate_rule_assignment, holdout_assignment
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.storage.models import CustomEvent, PulseState, PulseStateUnit, PulseStateValue
from tests.contract.client import ContractClient
from tests.pulse.helpers import REVENUE, start_experiment

DAY = 86_400_000
T0 = 1_780_000_000_000
GROUPS = {"rule_control": "Control", "rule_test": "Test"}
METRICS = [
    {"name": "Revenue", "type": "sum", "metricEvents": [{"name": "purchase", "type": "value"}]},
    {"name": "Basket", "type": "mean", "metricEvents": [{"name": "purchase", "type": "value"}]},
    # Only negative values: the winsorization cap is below zero, so units without a refund
    # (kept as no row at all) are in the capped tail.
    {"name": "Refunds", "type": "sum", "metricEvents": [{"name": "refund", "type": "value"}]},
    {"name": "Visits", "type": "event_count_custom", "metricEvents": [{"name": "visit"}]},
    {"name": "Checkouts", "type": "event_count_custom", "metricEvents": [{"name": "purchase"}]},
    {
        "name": "Visit to purchase",
        "type": "funnel",
        "funnelEventList": [
            {"name": "Visits", "type": "event_count_custom"},
            {"name": "Checkouts", "type": "event_count_custom"},
        ],
        "funnelCountDistinct": "users",
    },
]
REFS = [
    ("primary", {"name": "Revenue", "type": "sum"}),
    ("primary", {"name": "Basket", "type": "mean"}),
    ("secondary", {"name": "Refunds", "type": "sum"}),
    ("secondary", {"name": "purchase", "type": "event_user"}),
    ("secondary", {"name": "visit", "type": "event_count"}),
    ("secondary", {"name": "Visit to purchase", "type": "funnel"}),
]
UNITS = 300


def _row(pid: str, unit: str, ts: int, **fields: Any) -> dict[str, Any]:
    return {"project_id": pid, "user_id": unit, "time": ts, "received_time": ts, **fields}


def _exposure(pid: str, unit: str, ts: int, rule: str) -> dict[str, Any]:
    return _row(pid, unit, ts, kind="config", name="exp", rule_id=rule)


def _events(rng: random.Random, pid: str, unit: str, start: int, end: int) -> list[dict[str, Any]]:
    events = []
    for _ in range(rng.randint(0, 5)):
        name = rng.choice(["purchase", "purchase", "visit", "visit", "refund", "other"])
        value = -round(rng.uniform(1, 20), 2) if name == "refund" else round(rng.uniform(1, 80), 2)
        events.append(
            _row(pid, unit, rng.randint(start, end - 1), event_name=name, value_number=value)
        )
    return events


def _insert(db: Database, exposures: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    with db.transaction() as session:
        if exposures:
            insert_rows(session.connection(), "exposures", exposures)
        if events:
            insert_rows(session.connection(), "events", events)


@pytest.fixture()
def pid(db: Database, project: Bootstrap, console: ContractClient) -> str:
    for body in METRICS:
        assert console.post("/console/v1/metrics", json=body).status_code == 201, body
    rng = random.Random(11)
    pid = project.project.id
    exposures, events = [], []
    for i in range(UNITS):
        unit, rule = f"u{i}", list(GROUPS)[i % 2]
        first = T0 + rng.randint(0, 3 * DAY)
        exposures.append(_exposure(pid, unit, first, rule))
        events += _events(rng, pid, unit, first - 8 * DAY, first + 2 * DAY)
    # Timed after the first load's end though logged before it: out of the first load, and
    # in the second load because its time has come.
    exposures.append(_exposure(pid, "early_bird", T0 + 5 * DAY, "rule_test"))
    events.append(_row(pid, "early_bird", T0 + 5 * DAY + 10, event_name="purchase", value_number=7))
    _insert(db, exposures, events)
    return pid


def _changes(db: Database, pid: str) -> set[str]:
    """New units, new events of old units (after and before their exposure), a late exposure
    earlier than a unit's first, a unit exposed to the other group too. Returns the units
    whose rows changed: new exposures, or new events the metrics read."""
    rng = random.Random(12)
    exposures, events = [], []
    for i in range(UNITS, UNITS + 40):
        unit, rule = f"u{i}", list(GROUPS)[i % 2]
        first = T0 + 4 * DAY + rng.randint(0, DAY)
        exposures.append(_exposure(pid, unit, first, rule))
        events += _events(rng, pid, unit, first - 8 * DAY, first + DAY)
    for i in range(0, UNITS, 7):
        events += _events(rng, pid, f"u{i}", T0 - 8 * DAY, T0 + 5 * DAY)
    exposures.append(_exposure(pid, "u3", T0 - 2 * DAY, "rule_test"))  # u3 was in Test already
    exposures.append(_exposure(pid, "u4", T0 + 4 * DAY, "rule_test"))  # u4 was in Control
    _insert(db, exposures, events)
    read = {"purchase", "visit", "refund"}
    return {r["user_id"] for r in exposures} | {
        r["user_id"] for r in events if r["event_name"] in read
    }


def _spec(end_ms: int) -> Any:
    return experiment_assignment(
        {
            "id": "exp",
            "idType": "userID",
            "groups": [{"id": r, "name": n} for r, n in GROUPS.items()],
        },
        end_ms,
    )


def _from_raw(db: Database, pid: str, end_ms: int) -> dict[str, Any]:
    with db.transaction(write=False) as session:
        return compute_group_sums(session, pid, _spec(end_ms), REFS, lambda _p, _m: None)


def _load(
    db: Database,
    pid: str,
    end_ms: int,
    *,
    incremental: bool,
    job_id: str = "job",
    progress: Callable[[int, str], None] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """A load's result and the progress messages it gave (also to ``progress``)."""
    messages: list[str] = []

    def report(percent: int, message: str) -> None:
        messages.append(message)
        if progress is not None:
            progress(percent, message)

    found = load_group_sums(
        db.engine,
        StateKey(pid, "experiment", "exp"),
        _spec(end_ms),
        REFS,
        report,
        incremental=incremental,
        job_id=job_id,
        now_ms=end_ms,
    )
    return found, messages


def _same(found: Any, expected: Any, where: str = "") -> None:
    """Equal documents, numbers to 1e-9 (sums add up in another order)."""
    if isinstance(expected, dict):
        assert isinstance(found, dict) and set(found) == set(expected), where
        for key, value in expected.items():
            _same(found[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(found, list) and len(found) == len(expected), where
        for i, (a, b) in enumerate(zip(found, expected, strict=True)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(expected, float) and not isinstance(found, str):
        assert math.isclose(found, expected, rel_tol=1e-9, abs_tol=1e-9), (where, found, expected)
    else:
        assert found == expected, (where, found, expected)


def test_load_group_sums__incremental_after_changes__equals_a_load_from_raw_rows(
    db: Database, pid: str
) -> None:
    first_end = T0 + 4 * DAY
    first, messages = _load(db, pid, first_end, incremental=True)  # no state yet: a full load
    _same(first, _from_raw(db, pid, first_end))
    assert not any(m.startswith("recomputing") for m in messages)
    entries = {e["metricID"]: e for e in first["metrics"]}
    assert entries["Refunds::sum"]["winsorization"]["cap"] < 0  # the negative-cap case is run
    assert "cappedSums" in entries["Revenue::sum"]
    assert entries["Visit to purchase::funnel"]["sums"]

    changed = _changes(db, pid) | {"early_bird"}  # whose exposure's time has come
    second_end = T0 + 6 * DAY
    second, messages = _load(db, pid, second_end, incremental=True)
    expected = _from_raw(db, pid, second_end)
    _same(second, expected)
    assert second != first
    assert expected["crossoverUnits"] == first["crossoverUnits"] + 1  # u4
    (recomputing,) = [m for m in messages if m.startswith("recomputing")]
    assert recomputing == f"recomputing {len(changed)} units with new exposures or events"
    assert len(changed) < UNITS / 3

    # Nothing new: the state is reused and nothing is recomputed.
    third, messages = _load(db, pid, second_end, incremental=True)
    _same(third, expected)
    assert "recomputing 0 units with new exposures or events" in messages


def test_load_group_sums__full_or_changed_definition__rebuilds_the_state(
    db: Database, pid: str, console: ContractClient
) -> None:
    end = T0 + 4 * DAY
    _load(db, pid, end, incremental=False)
    with db.transaction(write=False) as session:
        (state,) = session.scalars(select(PulseState)).all()
        kept_units = session.scalar(select(func.count()).select_from(PulseStateUnit))
        kept_values = session.scalar(select(func.count()).select_from(PulseStateValue))
    assert kept_units == UNITS  # the early bird is timed after the end
    assert kept_values and kept_values > UNITS  # several metrics per unit
    assert state.end_ms == end

    # A metric's definition changes: the kept values no longer match and are rebuilt.
    changed = {"metricEvents": [{"name": "visit", "type": "value"}], "type": "sum"}
    updated = console.post("/console/v1/metrics/Revenue::sum", json=changed)
    assert updated.status_code == 200, updated.text
    found, messages = _load(db, pid, end, incremental=True)
    assert not any(m.startswith("recomputing") for m in messages)
    _same(found, _from_raw(db, pid, end))
    with db.transaction(write=False) as session:
        (rebuilt,) = session.scalars(select(PulseState)).all()
    assert rebuilt.id == state.id and rebuilt.fingerprint != state.fingerprint


def test_load_group_sums__failed_load__keeps_the_state_and_no_temporary_table(
    db: Database, pid: str
) -> None:
    end = T0 + 4 * DAY
    _load(db, pid, end, incremental=False)
    with db.transaction(write=False) as session:
        before = session.scalars(select(PulseState)).one()
        before_marks = (before.exposures_seq, before.events_seq, before.end_ms)

    def fail(_percent: int, message: str) -> None:
        if message.startswith("recomputing"):
            raise RuntimeError("stopped")

    _changes(db, pid)
    with pytest.raises(RuntimeError, match="stopped"):
        _load(db, pid, end + DAY, incremental=True, job_id="job2", progress=fail)
    with db.transaction(write=False) as session:
        after = session.scalars(select(PulseState)).one()
        assert (after.exposures_seq, after.events_seq, after.end_ms) == before_marks
    found, _ = _load(db, pid, end + DAY, incremental=True)
    _same(found, _from_raw(db, pid, end + DAY))


def _state(db: Database) -> tuple[list[PulseState], int]:
    with db.transaction(write=False) as session:
        states = list(session.scalars(select(PulseState)))
        units = session.scalar(select(func.count()).select_from(PulseStateUnit)) or 0
    return states, units


def test_load_pulse__incremental__served_from_kept_values_forgotten_with_the_experiment(
    app: FastAPI, console: ContractClient, project: Bootstrap, clock: ManualClock, db: Database
) -> None:
    assert console.post("/console/v1/metrics", json=REVENUE).status_code == 201
    groups = start_experiment(console)
    pid, now = project.project.id, clock.now_ms()
    _insert(
        db,
        [
            _exposure(pid, f"{name}{i}", now + i, rule)
            for name, rule in groups.items()
            for i in (1, 2)
        ],
        [_row(pid, "Test1", now + 10, event_name="purchase", value_number=8.0)],
    )
    clock.advance(60_000)
    assert console.post("/console/v1/experiments/exp/load_pulse", json={}).status_code == 200
    assert app.state.pulse_runner.run_pending() == 1
    (full,), units = _state(db)
    assert units == 4
    params = {"control": groups["Control"], "test": groups["Test"]}

    def test_mean() -> float:
        found = console.get("/console/v1/experiments/exp/pulse_results", params=params)
        return float(found.json()["data"]["primaryMetrics"][0]["testMean"])

    assert test_mean() == 4.0  # (8 + 0) / 2
    _insert(db, [], [_row(pid, "Test2", clock.now_ms(), event_name="purchase", value_number=4.0)])
    clock.advance(60_000)
    loaded = console.post(
        "/console/v1/experiments/exp/load_pulse", params={"refresh": "incremental"}, json={}
    )
    assert loaded.status_code == 200, loaded.text
    assert app.state.pulse_runner.run_pending() == 1
    (incremental,), _ = _state(db)
    assert incremental.id == full.id and incremental.job_id != full.job_id
    assert incremental.events_seq > full.events_seq
    # (8 + 4) / 2, with 8 winsorized at P99.9 of {4, 8}: 4 + 0.999 * (8 - 4)
    assert test_mean() == pytest.approx((4 + 0.999 * 4 + 4) / 2, rel=1e-12)

    assert console.delete("/console/v1/experiments/exp").status_code == 200
    clock.advance(60_001)  # the worker's next schedule forgets the deleted experiment's state
    app.state.pulse_runner.run_pending()
    assert _state(db) == ([], 0)


def test_load_group_sums__most_units_changed__computes_every_unit(db: Database, pid: str) -> None:
    end = T0 + 4 * DAY
    _load(db, pid, end, incremental=False)
    rng = random.Random(13)
    events = []
    for i in range(0, UNITS, 3):  # two thirds of the units log nothing new: still a third
        events += _events(rng, pid, f"u{i}", T0, T0 + 3 * DAY)
    for i in range(1, UNITS, 3):
        events.append(_row(pid, f"u{i}", T0 + DAY, event_name="visit"))
    _insert(db, [], events)
    found, messages = _load(db, pid, end, incremental=True)
    assert any(m.endswith("computing every unit instead") for m in messages), messages
    assert not any(m.startswith("recomputing") for m in messages)
    _same(found, _from_raw(db, pid, end))


def test_load_group_sums__state_changed_by_another_load__computes_every_unit(
    db: Database, pid: str
) -> None:
    end = T0 + 4 * DAY
    _load(db, pid, end, incremental=False)
    _changes(db, pid)

    def meanwhile(_percent: int, message: str) -> None:
        if message.startswith("replacing"):  # another load records its own run first
            with db.transaction() as session:
                session.execute(update(PulseState).values(job_id="other"))

    found, messages = _load(db, pid, end + DAY, incremental=True, job_id="job2", progress=meanwhile)
    assert (
        "another load changed the kept values meanwhile: computing every unit instead" in messages
    )
    _same(found, _from_raw(db, pid, end + DAY))
    (state,), _ = _state(db)
    assert state.job_id == "job2"
    again, messages = _load(db, pid, end + DAY, incremental=True)
    assert "recomputing 0 units with new exposures or events" in messages
    _same(again, found)


def test_watermark__move_in_flight__no_row_commits_below_it_later(
    db: Database, project: Bootstrap
) -> None:
    """Sequence numbers are taken at insert and committed later; a watermark read while a
    move is open must not lie above a row that commits after it (on PostgreSQL the move lock
    orders them; SQLite has one writer)."""
    pid = project.project.id
    inserted, release = threading.Event(), threading.Event()
    seen: dict[str, Any] = {}

    def move(name: str, hold: bool) -> None:
        with db.transaction() as session:
            incoming.serialize_moves(session.connection())
            insert_rows(session.connection(), "events", [_row(pid, name, T0, event_name="e")])
            if hold:
                inserted.set()
                release.wait(10)

    def read() -> None:
        with db.engine.connect() as connection, connection.begin():
            mark = incoming.watermark(connection)[1]
            below = select(func.count()).select_from(CustomEvent).where(CustomEvent.seq <= mark)
            seen["mark"], seen["below"] = mark, connection.scalar(below)

    first = threading.Thread(target=move, args=("held", True))
    first.start()
    assert inserted.wait(10)
    others = [threading.Thread(target=move, args=("later", False)), threading.Thread(target=read)]
    for thread in others:
        thread.start()
    time.sleep(0.3)  # the later move and the reader now wait on the held one, or read past it
    release.set()
    for thread in (first, *others):
        thread.join(20)
    with db.transaction(write=False) as session:
        below = session.scalar(
            select(func.count()).select_from(CustomEvent).where(CustomEvent.seq <= seen["mark"])
        )
    assert below == seen["below"]


@pytest.mark.parametrize("first", ["full", "none"])
def test_load_group_sums__concurrent_incremental_loads__state_stays_exact(
    db: Database, pid: str, first: str
) -> None:
    """From a kept state, or from none (every load then creates it). The loads reach their
    write at the same moment."""
    end = T0 + 4 * DAY
    if first == "full":
        _load(db, pid, end, incremental=False)
    _changes(db, pid)
    errors: list[BaseException] = []
    writes = threading.Barrier(3)

    def load() -> None:
        waited = False

        def together(_percent: int, message: str) -> None:
            nonlocal waited
            if not waited and message.startswith(("keeping", "replacing")):
                waited = True
                writes.wait(20)

        try:
            _load(db, pid, end + DAY, incremental=True, progress=together)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    found, messages = _load(db, pid, end + DAY, incremental=True)
    assert "recomputing 0 units with new exposures or events" in messages
    _same(found, _from_raw(db, pid, end + DAY))
    assert len(_state(db)[0]) == 1


def _monitored(pid: str, unit: str, ts: int, rng: random.Random) -> list[dict[str, Any]]:
    """A gate exposure of rule ``base`` (under its current or an earlier rollout id) and an
    exposure of another experiment carrying holdout ``h`` as a secondary exposure."""
    rule_id = rng.choice(["base", "base:60.00:1", "base:50.00:0"])
    held = [{"gate": "h", "gateValue": rng.choice(["true", "false"]), "ruleID": "r"}]
    return [
        _row(
            pid,
            unit,
            ts,
            kind="gate",
            name="g",
            rule_id=rule_id,
            value=rng.choice(["true", "false"]),
        ),
        _row(pid, unit, ts + 1, kind="config", name="other", rule_id="x", secondary_exposures=held),
    ]


@pytest.mark.parametrize("entity_type", ["gate_rule", "holdout"])
def test_load_group_sums__gate_rule_or_holdout__incremental_equals_a_load_from_raw_rows(
    db: Database, pid: str, entity_type: str
) -> None:
    rng = random.Random(21)
    _insert(db, [row for i in range(0, UNITS, 2) for row in _monitored(pid, f"u{i}", T0, rng)], [])

    def spec(end_ms: int) -> Any:
        if entity_type == "holdout":
            return holdout_assignment({"id": "h", "idType": "userID"}, end_ms)
        rule = {"id": "base:60.00:1", "baseID": "base"}
        return gate_rule_assignment({"id": "g", "idType": "userID"}, rule, end_ms)

    def load(end_ms: int) -> tuple[dict[str, Any], list[str]]:
        messages: list[str] = []
        found = load_group_sums(
            db.engine,
            StateKey(pid, entity_type, "h" if entity_type == "holdout" else "g", "base"),
            spec(end_ms),
            REFS[:4],
            lambda _percent, message: messages.append(message),
            incremental=True,
            job_id="job",
            now_ms=end_ms,
        )
        with db.transaction(write=False) as session:
            expected = compute_group_sums(session, pid, spec(end_ms), REFS[:4], lambda _p, _m: None)
        _same(found, expected)
        return found, messages

    first, _ = load(T0 + 4 * DAY)
    assert sum(first["units"].values()) > 100
    # New units, units exposed again (some now on both sides: crossovers), new events.
    later = [row for i in range(1, 30, 2) for row in _monitored(pid, f"u{i}", T0 + DAY, rng)]
    again = [row for i in range(0, 30, 2) for row in _monitored(pid, f"u{i}", T0 + DAY, rng)]
    events = [e for i in range(100, 160, 4) for e in _events(rng, pid, f"u{i}", T0, T0 + 5 * DAY)]
    _insert(db, later + again, events)
    second, messages = load(T0 + 5 * DAY)
    assert any(m.startswith("recomputing") for m in messages), messages
    assert second != first
    with db.transaction() as session:  # no such gate or holdout in the project: forgotten
        assert forget_deleted(session) == 1
    assert _state(db) == ([], 0)


def test_forget_deleted__gate_rule_gone__only_its_state_forgotten(
    db: Database, project: Bootstrap, console: ContractClient
) -> None:
    rule = {"name": "half", "passPercentage": 50, "conditions": [{"type": "public"}]}
    created = console.post("/console/v1/gates", json={"name": "checkout", "rules": [rule]})
    assert created.status_code == 201, created.text
    (kept_rule,) = created.json()["data"]["rules"]
    pid = project.project.id
    with db.transaction() as session:
        for rule_id in (kept_rule["id"], "removed"):
            session.add(
                PulseState(
                    project_id=pid,
                    entity_type="gate_rule",
                    entity_id="checkout",
                    rule_id=rule_id,
                    fingerprint="f",
                    exposures_seq=0,
                    events_seq=0,
                    end_ms=0,
                    job_id="job",
                    computed_time=0,
                )
            )
    with db.transaction() as session:
        assert forget_deleted(session) == 1
    (left,), _ = _state(db)
    assert left.rule_id == kept_rule["id"]
