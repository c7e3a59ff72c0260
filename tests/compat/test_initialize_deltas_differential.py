"""The official ``@statsig/js-client`` under Node, kept running against a live Lockgate while
gates, configs and experiments are created, changed and deleted through the Console API: each
client refreshes with a delta from what it holds (seen on the wire), and then evaluates, and
holds, exactly what a new client that downloads the full answer does (docs/sdk.md
§Initialize deltas). With two instances of the application on one database, as two workers
of ``lockgate serve`` are, each refresh reaches the instance that did not give the answer the
client holds, which evaluates that answer again by the revision it came from."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from lockgate.app import create_app
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from tests.compat import generators
from tests.compat.live import live_server
from tests.compat.sdks import js_clients
from tests.compat.test_differential import build_project
from tests.compat.test_experiments_differential import EXPERIMENTS
from tests.compat.test_experiments_differential import _build as build_experiments
from tests.contract.client import ContractClient

USERS = 10
EVALUATED = ("gates", "configs", "experiments", "layers", "held")
EVERYONE = {"name": "everyone", "passPercentage": 100, "conditions": [{"type": "public"}]}


class Recorder:
    """The application, with every ``/v1/initialize`` request and answer body recorded; with
    several instances, a load balancer that sends each request to ``apps[target]``."""

    def __init__(self, *apps: FastAPI) -> None:
        self.apps = apps
        self.target = 0
        self.exchanges: list[tuple[dict[str, Any], bytes]] = []

    @property
    def app(self) -> FastAPI:
        return self.apps[self.target]

    def to(self, target: int) -> None:
        self.target = target % len(self.apps)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/initialize":
            await self.app(scope, receive, send)
            return
        asked: list[bytes] = []
        answered: list[bytes] = []

        async def reading() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                asked.append(message.get("body", b""))
            return message

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.body":
                answered.append(message.get("body", b""))
            await send(message)

        await self.app(scope, reading, sending)
        self.exchanges.append((orjson.loads(b"".join(asked)), b"".join(answered)))

    def take(self) -> list[tuple[dict[str, Any], bytes]]:
        taken, self.exchanges = self.exchanges, []
        return taken


def _gates_and_configs(console: ContractClient, gates: list[str], configs: list[str]) -> None:
    made = console.post("/console/v1/gates", json={"name": "late gate", "rules": [EVERYONE]})
    assert made.status_code == 201, made.text
    changed = console.patch(f"/console/v1/gates/{gates[0]}", json={"rules": [EVERYONE]})
    assert changed.status_code == 200, changed.text
    assert console.delete(f"/console/v1/gates/{gates[4]}").status_code == 200
    made = console.post(
        "/console/v1/dynamic_configs",
        json={"name": "late config", "defaultValue": {"ratio": 0.25, "10": [1.0, 2]}},
    )
    assert made.status_code == 201, made.text
    changed = console.patch(
        f"/console/v1/dynamic_configs/{configs[0]}",
        json={"defaultValue": {"variant": "changed", "size": 2.5}},
    )
    assert changed.status_code == 200, changed.text
    assert console.delete(f"/console/v1/dynamic_configs/{configs[3]}").status_code == 200


def _experiments(console: ContractClient, gates: list[str], configs: list[str]) -> None:
    abandoned = console.put("/console/v1/experiments/solo/abandon", json={"decisionReason": "flat"})
    assert abandoned.status_code == 200, abandoned.text
    assert console.put(f"/console/v1/gates/{gates[5]}/disable").status_code == 200
    assert console.delete("/console/v1/gates/late_gate").status_code == 200


CHANGES: list[Callable[[ContractClient, list[str], list[str]], None]] = [
    _gates_and_configs,
    _experiments,
]


@pytest.mark.usefixtures("company_id_type")
@pytest.mark.parametrize("instances", [1, 2])
def test_js_client__console_changes__refreshed_by_delta_equals_fresh_client(
    console: ContractClient,
    project: Bootstrap,
    app: FastAPI,
    settings: Settings,
    db: Database,
    clock: ManualClock,
    instances: int,
) -> None:
    # Given a project of gates, configs, a layer and experiments, and running clients
    rng = random.Random(17)
    gates, configs = build_project(console, rng)
    build_experiments(console)
    users = [generators.user(rng, i) for i in range(USERS)]
    others = [create_app(settings, clock=clock, database=db) for _ in range(instances - 1)]
    recorder = Recorder(app, *others)
    with (
        live_server(recorder) as base,
        js_clients(
            base,
            project.client_key,
            users,
            gates=[*gates, "late_gate"],
            configs=[*configs, "late_config"],
            experiments=EXPERIMENTS,
            layers={"a_layer": ["color", "size"]},
        ) as (clients, first),
    ):
        assert all(result["success"] for result in first)
        assert all(not asked["deltasResponseRequested"] for asked, _ in recorder.take())
        # When nothing changed, a refresh gets nothing new and keeps what it had (from the
        # other instance, which then holds the revision compiled)
        recorder.to(1)
        again = clients.run("refresh")
        assert [answer for _, answer in recorder.take()] == [b'{"has_updates":false}'] * USERS
        assert [_evaluated(r) for r in again] == [_evaluated(r) for r in first]
        for turn, change in enumerate(CHANGES, start=1):
            # When the Console changes entities and every client refreshes, through the
            # instance that did not give the answer it holds
            change(console, gates, configs)
            recorder.to(turn)
            refreshed = clients.run("refresh")
            deltas = recorder.take()
            recorder.to(turn + 1)
            fresh = clients.run("fresh")
            full = recorder.take()
            # Then each was sent a delta, smaller than the full answer a new client gets,
            # and merged it at once (no second request without deltas)
            assert len(deltas) == len(full) == USERS
            for (asked, answer), (_, whole) in zip(deltas, full, strict=True):
                assert asked["deltasResponseRequested"] is True
                assert b'"is_delta":true' in answer
                assert len(answer) * 2 < len(whole)
            # And evaluates and holds what the new client does
            assert all(result["success"] for result in refreshed)
            for user, got, want in zip(users, refreshed, fresh, strict=True):
                assert _evaluated(got) == _evaluated(want), user


def _evaluated(result: dict[str, Any]) -> dict[str, Any]:
    return {key: result[key] for key in EVALUATED}
