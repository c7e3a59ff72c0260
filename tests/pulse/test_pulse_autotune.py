"""Autotune Pulse: successes per variant pushed down, Thompson sampling moving traffic after the
exploration window, a decision above the winner threshold, and the official SDK following."""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from lockgate.cores.stats.autotune import VariantOutcomes
from lockgate.domains.events.repository import insert_rows
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.pulse import autotune as bandit
from lockgate.domains.pulse import repository
from lockgate.domains.pulse.service import schedule_daily
from lockgate.domains.pulse.sql import autotune_outcomes
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.storage.models import Autotune, PulseResult
from tests.autotunes.support import AUTOTUNES, create_autotune
from tests.compat.live import live_server
from tests.compat.sdks import core_sdk, core_user, wait_until
from tests.contract.client import ContractClient

HOUR = 3_600_000
ONE = f"{AUTOTUNES}/button_color"
TWO_VARIANTS = [
    {"name": "red", "json": {"color": "red"}},
    {"name": "blue", "json": {"color": "blue"}},
]


# --- settings and the pure decision -------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"explorationWindow": "24hr", "attributionWindow": "2hrs", "winnerThreshold": "95%"},
            bandit.AutotuneSettings(1000 + 24 * HOUR, 2 * HOUR, 0.95, 0.0),
        ),
        (
            {
                "explorationWindow": "168",
                "attributionWindow": "4",
                "attributionWindowUnit": "min",
                "winnerThreshold": "80%",
                "longtermExplorationAllocation": 0.2,
            },
            bandit.AutotuneSettings(1000 + 168 * HOUR, 4 * 60_000, 0.8, 0.2),
        ),
        (
            {
                "explorationWindow": "1hrs",
                "attributionWindow": "24hr",
                "attributionWindowUnit": "day",
                "winnerThreshold": "99%",
            },
            bandit.AutotuneSettings(1000 + HOUR, 24 * 24 * HOUR, 0.99, 0.0),
        ),
    ],
)
@pytest.mark.database_free
def test_settings_of__document_fields__milliseconds_and_shares(
    fields: dict[str, Any], expected: bandit.AutotuneSettings
) -> None:
    assert bandit.settings_of({"startTime": 1000, **fields}) == expected


@pytest.mark.database_free
def test_reallocate__exploring__probabilities_only() -> None:
    outcomes = [VariantOutcomes(1000, 100), VariantOutcomes(1000, 300)]
    plan = bandit.reallocate(
        outcomes,
        np.random.default_rng(1),
        exploring=True,
        winner_threshold=0.95,
        exploration_share=0.1,
    )
    assert plan.action == "exploring" and plan.weights is None and plan.winner is None
    assert plan.probability_best[1] > 0.99


@pytest.mark.database_free
def test_reallocate__leader_above_threshold__decided() -> None:
    outcomes = [VariantOutcomes(1000, 100), VariantOutcomes(1000, 300)]
    plan = bandit.reallocate(
        outcomes,
        np.random.default_rng(1),
        exploring=False,
        winner_threshold=0.95,
        exploration_share=0.1,
    )
    assert (plan.action, plan.winner, plan.weights) == ("decided", 1, None)


@pytest.mark.database_free
def test_reallocate__no_clear_leader__weights_follow_probability_above_floor() -> None:
    # Given three variants, none above a 99% threshold
    outcomes = [VariantOutcomes(500, 100), VariantOutcomes(500, 110), VariantOutcomes(500, 60)]
    plan = bandit.reallocate(
        outcomes,
        np.random.default_rng(3),
        exploring=False,
        winner_threshold=0.99,
        exploration_share=0.3,
    )
    # Then weights = 0.1 + 0.7 x P(best): they sum to 1 and the worst keeps its 10% floor
    assert plan.action == "reallocated" and plan.weights is not None
    assert math.fsum(plan.weights) == pytest.approx(1.0)
    assert plan.weights == pytest.approx([0.1 + 0.7 * p for p in plan.probability_best])
    assert plan.weights[2] == pytest.approx(0.1, abs=1e-3)
    assert plan.weights[1] > plan.weights[0] > plan.weights[2]


@pytest.mark.database_free
def test_daily_rng__same_day__same_draws_and_another_day_differs() -> None:
    def draw(ds: str) -> float:
        return float(bandit.daily_rng("p", "a", "salt", ds).random())

    assert draw("2026-05-01") == draw("2026-05-01") != draw("2026-05-02")


# --- the push-down ---------------------------------------------------------------------------

T0 = 1_780_000_000_000
VARIANTS = ("va", "vb", "vc")


def _row(pid: str, unit: str, ts: int, **fields: Any) -> dict[str, Any]:
    return {"project_id": pid, "user_id": unit, "time": ts, "received_time": ts, **fields}


def _exposure(pid: str, unit: str, variant: str, ts: int, name: str = "tune") -> dict[str, Any]:
    return _row(pid, unit, ts, kind="config", name=name, rule_id=variant)


def _signup(pid: str, unit: str, ts: int, value: str | None = None) -> dict[str, Any]:
    return _row(pid, unit, ts, event_name="signup", value_text=value)


@pytest.fixture()
def trials(db: Database, project: Bootstrap) -> dict[str, Any]:
    """400 units over three variants; some before the start, some too recent, some exposed to
    two variants; signups around their exposures, some with a value."""
    rng = random.Random(11)
    pid = project.project.id
    exposures, events = [], []
    for i in range(400):
        unit = f"u{i}"
        for variant in rng.sample(VARIANTS, 2 if rng.random() < 0.1 else 1):
            ts = T0 + rng.randint(-HOUR, 10 * HOUR)
            exposures += [_exposure(pid, unit, variant, ts + k * 60_000) for k in range(2)]
            for _ in range(rng.randint(0, 2)):
                offset = rng.randint(-HOUR // 2, 2 * HOUR)
                events.append(_signup(pid, unit, ts + offset, rng.choice([None, "gold", "tin"])))
        events.append(_row(pid, unit, T0 + HOUR, event_name="other"))
    exposures.append(_exposure(pid, "elsewhere", "va", T0, name="another_tune"))
    with db.transaction() as session:
        insert_rows(session.connection(), "exposures", exposures)
        insert_rows(session.connection(), "events", events)
    return {"pid": pid, "exposures": exposures, "events": events}


@pytest.mark.parametrize("value", [None, "gold"])
def test_autotune_outcomes__sql__equal_python_count(
    db: Database, trials: dict[str, Any], value: str | None
) -> None:
    # Given start T0, a one-hour attribution window and now T0 + 9h
    now, window = T0 + 9 * HOUR, HOUR
    first: dict[tuple[str, str], int] = {}
    for e in trials["exposures"]:
        if e["name"] == "tune" and e["time"] >= T0:
            key = (e["user_id"], e["rule_id"])
            first[key] = min(first.get(key, e["time"]), e["time"])
    expected_units: Counter[str] = Counter()
    expected_successes: Counter[str] = Counter()
    for (unit, variant), ts in first.items():
        if ts >= now - window:
            continue  # its attribution window has not closed yet
        expected_units[variant] += 1
        expected_successes[variant] += any(
            e["event_name"] == "signup"
            and e["user_id"] == unit
            and ts <= e["time"] < ts + window
            and (value is None or e["value_text"] == value)
            for e in trials["events"]
        )
    statement = autotune_outcomes(
        trials["pid"],
        "tune",
        "userID",
        VARIANTS,
        success_event="signup",
        success_value=value,
        attribution_ms=window,
        exposed_from_ms=T0,
        exposed_before_ms=now - window,
    )
    # When the database counts them
    with db.transaction(write=False) as session:
        got = {r.variant: (r.units, r.successes) for r in session.execute(statement)}
    # Then every variant has the Python counts
    assert got == {v: (expected_units[v], expected_successes[v]) for v in VARIANTS}
    assert all(0 < s < u for u, s in got.values())


# --- the computation, with rows inserted directly -------------------------------------------------


def _document(db: Database, project: Bootstrap) -> dict[str, Any]:
    with db.transaction(write=False) as session:
        row = session.get(Autotune, (project.project.id, "button_color"))
        assert row is not None
        return dict(row.document) | {"version": row.version}


def _plant(db: Database, project: Bootstrap, rates: dict[str, float], start_ms: int) -> None:
    """500 units per variant exposed just after the start, successes at exactly ``rates``."""
    pid = project.project.id
    document = _document(db, project)
    exposures, events = [], []
    for variant in document["variants"]:
        for i in range(500):
            unit = f"{variant['name']}-{i}"
            ts = start_ms + 1000 + i
            exposures.append(_exposure(pid, unit, variant["id"], ts, name="button_color"))
            if math.floor((i + 1) * rates[variant["name"]]) > math.floor(
                i * rates[variant["name"]]
            ):
                events.append(_row(pid, unit, ts + 60_000, event_name="click"))
    with db.transaction() as session:
        insert_rows(session.connection(), "exposures", exposures)
        insert_rows(session.connection(), "events", events)


def _latest_result(db: Database, project: Bootstrap) -> dict[str, Any]:
    with db.transaction(write=False) as session:
        row = session.scalars(
            select(PulseResult)
            .where(
                PulseResult.project_id == project.project.id,
                PulseResult.entity_type == "autotune",
                PulseResult.entity_id == "button_color",
            )
            .order_by(PulseResult.ds.desc())
        ).first()
        assert row is not None
        return dict(row.document)


def test_autotune_pulse__within_exploration_window__traffic_unchanged(
    app: FastAPI, console: ContractClient, db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    # Given a started autotune with a 24-hour exploration window and a clear leader
    create_autotune(console, variants=TWO_VARIANTS, winnerThreshold="99%")
    console.put(f"{ONE}/start")
    _plant(db, project, {"red": 0.1, "blue": 0.3}, clock.now_ms())
    before = _document(db, project)
    # When Pulse runs three hours later
    clock.advance(3 * HOUR)
    assert app.state.pulse_runner.run_pending() == 1
    # Then it reports the outcomes but moves nothing
    result = _latest_result(db, project)
    assert result["action"] == "exploring"
    assert [(v["units"], v["successes"]) for v in result["variants"]] == [(500, 50), (500, 150)]
    after = _document(db, project)
    assert (after["version"], after["trafficWeights"]) == (
        before["version"],
        before["trafficWeights"],
    )


def test_autotune_pulse__rerun_same_day__same_weights_and_no_new_version(
    app: FastAPI, console: ContractClient, db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    # Given an autotune past its exploration window, with close variants
    create_autotune(
        console,
        variants=TWO_VARIANTS,
        explorationWindow="1hr",
        winnerThreshold="99%",
        longtermExplorationAllocation=0.1,
    )
    console.put(f"{ONE}/start")
    _plant(db, project, {"red": 0.2, "blue": 0.24}, clock.now_ms())
    clock.advance(4 * HOUR)
    # When Pulse runs, then runs again the same day
    assert app.state.pulse_runner.run_pending() == 1
    first = _document(db, project)
    result = _latest_result(db, project)
    with db.transaction() as session:
        repository.add_job(
            session,
            project_id=project.project.id,
            entity_type="autotune",
            entity_id="button_color",
            now_ms=clock.now_ms(),
        )
    assert app.state.pulse_runner.run_pending() == 1
    second = _document(db, project)
    # Then blue gained traffic once, and the rerun changed nothing
    assert result["action"] == "reallocated" and result["applied"] is True
    red, blue = (first["trafficWeights"][v["id"]] for v in first["variants"])
    assert blue > 50 > red >= 5
    assert (second["version"], second["trafficWeights"]) == (
        first["version"],
        first["trafficWeights"],
    )
    assert _latest_result(db, project)["variants"] == result["variants"]


def test_schedule_daily__started_autotunes_only(
    console: ContractClient, db: Database, clock: ManualClock
) -> None:
    create_autotune(console)
    create_autotune(console, name="idle tune")
    console.put(f"{ONE}/start")
    assert schedule_daily(db, clock) == 1
    assert schedule_daily(db, clock) == 0  # already queued


# --- end to end with statsig-python-core ------------------------------------------------------


def _simulate(core: Any, rates: dict[str, float], users: int, prefix: str) -> Counter[str]:
    """Users meet the autotune through the SDK; the n-th user of a variant succeeds when
    floor((n + 1) x rate) grows, so each variant's success rate is exactly its rate."""
    seen: Counter[str] = Counter()
    for i in range(users):
        user = core_user({"userID": f"{prefix}-{i}"})
        group = core.get_experiment(user, "button_color").group_name
        n = seen[group]
        seen[group] += 1
        if math.floor((n + 1) * rates[group]) > math.floor(n * rates[group]):
            core.log_event(user, "click")
    core.flush_events().wait()
    return seen


def _blue_share(core: Any, prefix: str, users: int = 1000) -> float:
    groups = Counter(
        core.get_experiment(core_user({"userID": f"{prefix}-{i}"}), "button_color").group_name
        for i in range(users)
    )
    return groups["blue"] / users


def _started_now(console: ContractClient, clock: ManualClock, **fields: Any) -> dict[str, Any]:
    # The SDK stamps exposures and events with the real time; the server clock must match it.
    clock.advance(int(time.time() * 1000) - clock.now_ms())
    created = create_autotune(
        console,
        variants=TWO_VARIANTS,
        explorationWindow="1hr",
        attributionWindow="1hr",
        longtermExplorationAllocation=0.1,
        **fields,
    )
    assert console.put(f"{ONE}/start").status_code == 200
    return created


def test_autotune_pulse__sdk_users__better_variant_gains_traffic_on_next_poll(
    app: FastAPI, console: ContractClient, project: Bootstrap, clock: ManualClock
) -> None:
    # Given a running 50/50 autotune and 3,000 SDK users; blue converts at 22.5%, red at 20%
    _started_now(console, clock, winnerThreshold="99%")
    with live_server(app) as base, core_sdk(base, project.server_key) as core:
        seen = _simulate(core, {"red": 0.2, "blue": 0.225}, 3000, "sim")
        assert abs(seen["blue"] - 1500) < 150
        assert 0.4 < _blue_share(core, "before") < 0.6
        # When the daily Pulse runs after the exploration and attribution windows
        clock.advance(2 * HOUR)
        assert app.state.pulse_runner.run_pending() == 1
        # Then blue, probably best (~95%) but not above 99%, gets most of the traffic ...
        result = console.get(ONE).json()["data"]
        assert result["winner"] is None
        with ContractClient(app) as sdk:
            dcs = sdk.get(f"/v2/download_config_specs/{project.server_key}.json").json()
        red_rule = dcs["dynamic_configs"]["button_color"]["rules"][0]
        red_threshold = dcs["condition_map"][red_rule["conditions"][0]]["targetValue"]
        assert 50 <= red_threshold < 300
        # ... and the running SDK serves the new split after its next poll
        assert wait_until(lambda: _blue_share(core, "after") > 0.65)
        assert abs(_blue_share(core, "after") - (1000 - red_threshold) / 1000) < 0.06


def test_autotune_pulse__sdk_users__clear_winner_ships(
    app: FastAPI, console: ContractClient, project: Bootstrap, clock: ManualClock
) -> None:
    # Given 2,000 SDK users; blue converts at 30%, red at 5%
    created = _started_now(console, clock, winnerThreshold="95%")
    with live_server(app) as base, core_sdk(base, project.server_key) as core:
        _simulate(core, {"red": 0.05, "blue": 0.3}, 2000, "sim")
        clock.advance(2 * HOUR)
        # When Pulse runs
        assert app.state.pulse_runner.run_pending() == 1
        # Then blue ships: the autotune has its winner and everyone gets blue
        data = console.get(ONE).json()["data"]
        assert data["winner"] == {"id": created["variants"][1]["id"], "name": "blue"}
        assert data["isStarted"] is True
        assert wait_until(lambda: _blue_share(core, "after", 300) == 1.0)
