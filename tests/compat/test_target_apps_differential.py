"""Target apps against statsig-python-core: a client key's ``/v1/initialize`` from Lockgate and
core's ``get_client_initialize_response(user, client_sdk_key=...)`` from a server key agree on
which entities are returned and on their values, ``target_app`` conditions included; a server
key with the app evaluates the scoped gates (and their untagged dependencies) as Lockgate does."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from tests.compat import generators
from tests.compat.live import live_server
from tests.compat.sdks import core_sdk, core_user
from tests.contract.client import ContractClient
from tests.targetapps.support import WEB_GATES, build

USERS = 25


def _core_scoped(core: Any, wire: dict[str, Any], client_key: str) -> dict[str, Any]:
    raw = core.get_client_initialize_response(
        core_user(wire), hash="none", client_sdk_key=client_key
    )
    return json.loads(raw) if isinstance(raw, str) else dict(raw)


def _gates(init: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {n: (g["value"], g["rule_id"]) for n, g in init["feature_gates"].items()}


def test_client_key_with_app__lockgate_initialize_and_core_gcir__agree(
    console: ContractClient, project: Bootstrap, app: FastAPI
) -> None:
    built = build(console)
    rng = random.Random(7)
    users = [generators.user(rng, i) for i in range(USERS)]
    users += [{"userID": "u1"}, {"userID": "x", "email": "a@acme.com"}, {"userID": "u3"}]
    mismatches: list[str] = []
    seen: set[bool] = set()
    with live_server(app) as base, core_sdk(base, project.server_key) as core:
        client = httpx.Client(base_url=base, headers={"STATSIG-API-KEY": built.client_key})
        for wire in users:
            ours = client.post("/v1/initialize", json={"user": wire, "hash": "none"}).json()
            theirs = _core_scoped(core, wire, built.client_key)
            assert set(theirs["feature_gates"]) == WEB_GATES
            seen.update(v for v, _ in _gates(theirs).values())
            if _gates(ours) != _gates(theirs):
                mismatches.append(f"{wire}: {_gates(ours)} != core {_gates(theirs)}")
        client.close()
    assert mismatches == [], "\n".join(mismatches[:20])
    assert seen == {True, False}


def test_server_key_with_app__core_and_lockgate_check_gate__agree(
    console: ContractClient, app: FastAPI
) -> None:
    built = build(console)
    users = [{"userID": "u1"}, {"userID": "x", "email": "a@acme.com"}, {"userID": "u3"}]
    with live_server(app) as base, core_sdk(base, built.server_key) as core:
        server = httpx.Client(base_url=base, headers={"STATSIG-API-KEY": built.server_key})
        for wire in users:
            for name in sorted(WEB_GATES):
                ours = server.post("/v1/check_gate", json={"gateName": name, "user": wire})
                assert core.check_gate(core_user(wire), name) == ours.json()["value"], (name, wire)
        # Entities of other apps are unknown to a web key, for core as for Lockgate.
        assert core.check_gate(core_user({"userID": "u1"}), "ios_gate") is False
        assert core.check_gate(core_user({"userID": "u1"}), "app_gate") is True
        server.close()
