"""End to end: statsig-python-core assigns simulated users, logs exposures and purchases with a
planted lift; Pulse finds it. The A/A false-positive rate over many seeds is a slow test."""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.clock import ManualClock
from tests.compat.live import live_server
from tests.compat.sdks import core_sdk, core_user
from tests.contract.client import ContractClient

USERS = 20_000
LIFT = 0.05
BASE_VALUE = 100.0


def _experiment(console: ContractClient) -> dict[str, Any]:
    metric = console.post(
        "/console/v1/metrics",
        json={
            "name": "purchase_value",
            "type": "sum",
            "metricEvents": [{"name": "purchase", "type": "value"}],
        },
    )
    assert metric.status_code == 201, metric.text
    created = console.post(
        "/console/v1/experiments",
        json={
            "name": "checkout_test",
            "groups": [
                {"name": "Control", "size": 50, "parameterValues": {"discount": 0}},
                {"name": "Test", "size": 50, "parameterValues": {"discount": 5}},
            ],
            "primaryMetrics": [{"name": "purchase_value", "type": "sum"}],
            "secondaryMetrics": [{"name": "purchase", "type": "event_count"}],
        },
    )
    assert created.status_code == 201, created.text
    assert console.put("/console/v1/experiments/checkout_test/start", json={}).status_code == 200
    return created.json()["data"]  # type: ignore[no-any-return]


def test_pulse__planted_lift__reported_with_covering_interval(
    app: FastAPI,
    console: ContractClient,
    project: Bootstrap,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The SDK stamps events with the real time; the server's clock must not lag behind it.
    clock.advance(int(time.time() * 1000) - clock.now_ms())
    # The experiment's ids and assignment salt come from seeded draws, so every run assigns the
    # same users to the same groups and the result is the same on every run.
    draws = random.Random(5)
    with monkeypatch.context() as patch:
        patch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=draws.getrandbits(128), version=4))
        experiment = _experiment(console)
    groups = {g["name"]: g["id"] for g in experiment["groups"]}
    rng = random.Random(2024)
    with live_server(app) as base, core_sdk(base, project.server_key) as core:
        for i in range(USERS):
            user = core_user({"userID": f"sim-{i}"})
            group = core.get_experiment(user, "checkout_test").group_name
            lifted = group == "Test"
            value = rng.gauss(BASE_VALUE * (1 + LIFT if lifted else 1), 20.0)
            core.log_event(user, "purchase", value)
            if i % 1_000 == 999:
                # Flushed as it goes: no event waits behind 20,000 others in the SDK's queue.
                core.flush_events().wait()
        core.flush_events().wait()
    clock.advance(60_000)
    assert console.post("/console/v1/experiments/checkout_test/load_pulse", json={}).json() == {
        "message": "Experiment is loading."
    }
    assert app.state.pulse_runner.run_pending() == 1
    history = console.get("/console/v1/experiments/checkout_test/pulse_load_history").json()
    assert history["data"][0]["finishedState"] == "success"
    assert history["data"][0]["progress"] == 100
    results = console.get(
        "/console/v1/experiments/checkout_test/pulse_results",
        params={
            "control": groups["Control"],
            "test": groups["Test"],
            "cuped": "false",
            "confidence": "95",
        },
    ).json()["data"]
    (primary,) = results["primaryMetrics"]
    (purchases,) = results["secondaryMetrics"]
    # Every user's one purchase arrived: a lost event would read as a purchase of zero.
    assert (purchases["controlMean"], purchases["testMean"]) == (1.0, 1.0)
    assert (purchases["controlStd"], purchases["testStd"]) == (0.0, 0.0)
    assert primary["metricID"] == "purchase_value::sum"
    assert primary["controlUnits"] + primary["testUnits"] == USERS
    assert abs(primary["controlUnits"] - USERS / 2) < 4 * (USERS**0.5) / 2
    half = primary["percentConfidenceIntervalDelta"]
    lower, upper = primary["percentChange"] - half, primary["percentChange"] + half
    assert lower < LIFT * 100 < upper
    assert lower > 0 and primary["pValue"] < 1e-6
    (secondary,) = results["secondaryMetrics"]
    # Every simulated user purchased once: no difference in counts.
    assert secondary["controlMean"] == secondary["testMean"] == 1.0


def test_pulse_results__before_any_load__empty_metric_results(console: ContractClient) -> None:
    experiment = _experiment(console)
    groups = [g["id"] for g in experiment["groups"]]
    data = console.get(
        "/console/v1/experiments/checkout_test/pulse_results",
        params={"control": groups[0], "test": groups[1]},
    ).json()["data"]
    assert data["primaryMetrics"] == [] and data["secondaryMetrics"] == []


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"control": ""}, "control"),
        ({"control": "nope", "test": "nope"}, "not a group"),
        ({"cuped": "yes"}, "cuped"),
    ],
)
def test_pulse_results__bad_query__400(
    console: ContractClient, params: dict[str, str], needle: str
) -> None:
    experiment = _experiment(console)
    groups = [g["id"] for g in experiment["groups"]]
    query = {"control": groups[0], "test": groups[1], **params}
    response = console.get("/console/v1/experiments/checkout_test/pulse_results", params=query)
    assert response.status_code == 400 and needle in response.json()["message"]
