"""End to end for gate-rule and holdout Pulse: statsig-python-core evaluates simulated users,
logs exposures and purchases with a planted difference; Pulse finds it from stored sums."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.clock import ManualClock
from tests.compat.live import live_server
from tests.compat.sdks import core_sdk, core_user
from tests.contract.client import ContractClient

USERS = 3_000
LIFT = 0.10
BASE_VALUE = 100.0
GATES = "/console/v1/gates"
HOLDOUTS = "/console/v1/holdouts"
METRIC = {"name": "purchase_value", "type": "sum"}


def _metric(console: ContractClient) -> None:
    response = console.post(
        "/console/v1/metrics",
        json={**METRIC, "metricEvents": [{"name": "purchase", "type": "value"}]},
    )
    assert response.status_code == 201, response.text


def _gate(console: ContractClient, name: str, pct: float, **body: Any) -> dict[str, Any]:
    response = console.post(
        GATES,
        json={
            "name": name,
            "rules": [
                {"name": "rollout", "passPercentage": pct, "conditions": [{"type": "public"}]}
            ],
            **body,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def _simulate(app: FastAPI, project: Bootstrap, gate: str, lifted_when: bool) -> int:
    """Check ``gate`` for every user and log one purchase, higher by LIFT when the gate's value
    is ``lifted_when``; return how many users passed."""
    rng = random.Random(7)
    passed = 0
    with live_server(app) as base, core_sdk(base, project.server_key) as core:
        for i in range(USERS):
            user = core_user({"userID": f"sim-{i}"})
            value = core.check_gate(user, gate)
            passed += value
            lift = 1 + LIFT if value == lifted_when else 1
            core.log_event(user, "purchase", rng.gauss(BASE_VALUE * lift, 20.0))
        core.flush_events().wait()
    return passed


def _covers_lift(metric: dict[str, Any], lift: float) -> None:
    half = metric["percentConfidenceIntervalDelta"]
    lower, upper = metric["percentChange"] - half, metric["percentChange"] + half
    assert lower < lift * 100 < upper
    assert metric["pValue"] < 1e-6


@pytest.fixture()
def real_time(clock: ManualClock) -> None:
    # The SDK stamps events with the real time; the server's clock must not lag behind it.
    clock.advance(int(time.time() * 1000) - clock.now_ms())


@pytest.mark.usefixtures("real_time")
def test_gate_rule_pulse__planted_difference__pass_vs_fail_found(
    app: FastAPI, console: ContractClient, project: Bootstrap, clock: ManualClock
) -> None:
    _metric(console)
    gate = _gate(console, "new checkout", 50, monitoringMetrics=[METRIC])
    base_id = gate["rules"][0]["baseID"]
    passed = _simulate(app, project, "new_checkout", lifted_when=True)
    # A later rollout change gives the rule a new id; exposures under the old one still count.
    changed = console.patch(
        f"{GATES}/new_checkout/rules/{base_id}",
        json={"name": "rollout", "passPercentage": 60, "conditions": [{"type": "public"}]},
    )
    assert changed.status_code == 200, changed.text
    rule_id = changed.json()["data"]["rules"][0]["id"]
    assert rule_id.startswith(base_id + ":")
    clock.advance(60_000)
    url = f"{GATES}/new_checkout/rules/{rule_id}"
    loaded = console.post(f"{GATES}/new_checkout/load_pulse", json={"ruleId": rule_id})
    assert loaded.json() == {"message": "Gate loaded successfully."}
    queued = console.get(f"{url}/pulse_load_history").json()["data"]
    assert [(h["status"], "finishedState" in h) for h in queued] == [("queued", False)]
    assert app.state.pulse_runner.run_pending() == 1
    history = console.get(f"{url}/pulse_load_history").json()
    assert history["pagination"]["totalItems"] == 1
    assert history["data"][0]["finishedState"] == "success"
    # The rule's history is the same under its base id.
    by_base = console.get(f"{GATES}/new_checkout/rules/{base_id}/pulse_load_history").json()
    assert by_base["data"] == history["data"]
    # 99.9% intervals: the assignment salt is random, so a 95% interval would miss the planted
    # lift in one run out of twenty.
    results = console.get(
        f"{url}/pulse_results", params={"cuped": "false", "confidence": "99.9"}
    ).json()["data"]
    (metric,) = results["monitoringMetrics"]
    assert metric["metricID"] == "purchase_value::sum"
    assert (metric["testUnits"], metric["controlUnits"]) == (passed, USERS - passed)
    assert abs(passed - USERS / 2) < 4 * USERS**0.5 / 2
    _covers_lift(metric, LIFT)
    narrow = console.get(f"{url}/pulse_results", params={"confidence": "80"}).json()["data"]
    assert (
        narrow["monitoringMetrics"][0]["confidenceIntervalDelta"]
        < (metric["confidenceIntervalDelta"])
    )


@pytest.mark.usefixtures("real_time")
def test_holdout_pulse__planted_difference__held_out_vs_not_found(
    app: FastAPI, console: ContractClient, project: Bootstrap, clock: ManualClock
) -> None:
    _metric(console)
    _gate(console, "feature", 100)
    created = console.post(HOLDOUTS, json={"name": "q3 holdout"})
    assert created.status_code == 200, created.text
    patched = console.patch(
        f"{HOLDOUTS}/q3_holdout",
        json={"passPercentage": 10, "gateIDs": ["feature"], "monitoringMetrics": [METRIC]},
    )
    assert patched.status_code == 200, patched.text
    # Held-out users never see the feature (the gate is false for them); the others buy more.
    passed = _simulate(app, project, "feature", lifted_when=True)
    clock.advance(60_000)
    before = console.get(f"{HOLDOUTS}/q3_holdout/pulse_results").json()["data"]
    assert before["monitoringMetrics"] == []
    # Holdouts have no load endpoint: the daily schedule queues every enabled holdout.
    assert app.state.pulse_runner.run_pending() == 1
    results = console.get(
        f"{HOLDOUTS}/q3_holdout/pulse_results", params={"cuped": "true", "confidence": "99.9"}
    ).json()["data"]
    (metric,) = results["monitoringMetrics"]
    assert (metric["testUnits"], metric["controlUnits"]) == (passed, USERS - passed)
    assert abs((USERS - passed) - USERS * 0.1) < 4 * (USERS * 0.1 * 0.9) ** 0.5
    _covers_lift(metric, LIFT)
    # Today's result exists: the schedule queues nothing more.
    assert app.state.pulse_runner.run_pending() == 0
