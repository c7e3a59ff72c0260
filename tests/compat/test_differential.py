"""Differential tests: entities made through the Console API, evaluated for random users by
statsig-python-core, the legacy ``statsig`` SDK, ``@statsig/js-client`` and Lockgate's own
``/v1/check_gate``, ``/v1/get_config`` and ``/v1/initialize``. All must agree on value, rule id
and secondary exposures.

The users stay in value shapes on which the two Python SDKs are documented to agree
(`docs/sdk.md` §Operators: the legacy SDK differs on float and boolean custom values, missing
values against ``any [""]`` and ISO date strings); those edge cases are covered against core
alone by the evaluator's operator matrix in ``tests/evaluation``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from lockgate.domains.events.incoming import settle
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.db import Database
from lockgate.storage.models import CustomEvent, Exposure
from tests.compat import generators
from tests.compat.live import live_server
from tests.compat.sdks import (
    core_initialize,
    core_sdk,
    core_user,
    gate_mismatches,
    initialize_entry,
    js_evaluate,
    legacy_initialize,
    legacy_sdk,
    legacy_user,
    node_available,
    wait_until,
)
from tests.contract.client import ContractClient

SEEDS = [11, 29]
USERS = 30
BIG_LIST = 1200


def _create(console: ContractClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = console.post(path, json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def build_project(console: ContractClient, rng: random.Random) -> tuple[list[str], list[str]]:
    """Segments, gates (some nested, launched, disabled, overridden) and configs."""
    world = generators.World()
    for index in range(3):
        segment = _create(
            console,
            "/console/v1/segments",
            {
                "name": f"rules segment {index}",
                "type": "rule_based",
                "rules": generators.rules(rng, world, in_segment=True),
            },
        )
        world.segments.append(segment["id"])
    small = _create(console, "/console/v1/segments", {"name": "small list", "type": "id_list"})
    ids = generators.USER_IDS[::2]
    console.patch(f"/console/v1/segments/{small['id']}/id_list", json={"ids": ids})
    big = _create(
        console,
        "/console/v1/segments",
        {"name": "big list", "type": "id_list", "idType": "companyID"},
    )
    many = [f"co_{i}" for i in range(1, BIG_LIST + 1)]
    console.patch(f"/console/v1/segments/{big['id']}/id_list", json={"ids": many})
    world.segments += [small["id"], big["id"]]
    gates = []
    for index in range(16):
        gate = _create(
            console,
            "/console/v1/gates",
            {"name": f"gate {index}", "rules": generators.rules(rng, world)},
        )
        gates.append(gate["id"])
        world.gates.append(gate["id"])
    console.put(f"/console/v1/gates/{gates[1]}/launch")
    console.put(f"/console/v1/gates/{gates[2]}/disable")
    console.post(
        f"/console/v1/gates/{gates[3]}/overrides",
        json={"passingUserIDs": ["user_1", "user_2"], "failingUserIDs": ["user_3"]},
    )
    configs = []
    for index in range(6):
        config = _create(
            console,
            "/console/v1/dynamic_configs",
            {
                "name": f"config {index}",
                "defaultValue": {"variant": "default", "size": 0},
                "rules": generators.rules(rng, world, values=True),
            },
        )
        configs.append(config["id"])
    console.put(f"/console/v1/dynamic_configs/{configs[1]}/disable")
    return gates, configs


@pytest.fixture()
def sdk_app(app: FastAPI) -> Iterator[str]:
    with live_server(app) as base:
        yield base


@pytest.mark.usefixtures("company_id_type")
@pytest.mark.parametrize("seed", SEEDS)
def test_sdks_and_lockgate__random_project__agree(
    seed: int,
    console: ContractClient,
    project: Bootstrap,
    app: FastAPI,
    db: Database,
) -> None:
    rng = random.Random(seed)
    gates, configs = build_project(console, rng)
    users = [generators.user(rng, i) for i in range(USERS)]
    with (
        live_server(app) as base,
        core_sdk(base, project.server_key) as core,
        legacy_sdk(base, project.server_key) as legacy,
    ):
        # Core downloads file-based id lists in the background after initializing.
        member = {"userID": "x", "customIDs": {"companyID": "co_7"}}
        assert wait_until(lambda: core.check_gate(core_user(member), "segment:big_list"))
        server = httpx.Client(base_url=base, headers={"STATSIG-API-KEY": project.server_key})
        mismatches: list[str] = []
        seen_values: list[bool] = []
        seen_rules: set[str] = set()
        with_exposures = 0
        for wire in users:
            ours = server.post(
                f"/v1/initialize?k={project.client_key}", json={"user": wire, "hash": "none"}
            ).json()
            theirs = core_initialize(core, wire)
            old = legacy_initialize(wire)
            checked = server.post("/v1/check_gate", json={"gateNames": gates, "user": wire}).json()
            for name in gates:
                expected = initialize_entry(theirs, "feature_gates", name)
                seen_values.append(expected[0])
                seen_rules.add(expected[1])
                with_exposures += bool(expected[2])
                mismatches += gate_mismatches(
                    name,
                    wire,
                    core_init=theirs,
                    lockgate_init=ours,
                    legacy_init=old,
                    checked=checked,
                    core_client=core,
                    legacy_client=legacy,
                )
            for name in configs:
                expected = initialize_entry(theirs, "dynamic_configs", name)
                http = server.post("/v1/get_config", json={"configName": name, "user": wire}).json()
                legacy_config = legacy.get_config(legacy_user(wire), name)
                observed = {
                    "lockgate initialize": initialize_entry(ours, "dynamic_configs", name),
                    "legacy initialize": initialize_entry(old, "dynamic_configs", name),
                    "legacy get_config": (
                        legacy_config.value,
                        legacy_config.rule_id,
                        expected[2],
                    ),
                    "lockgate get_config": (http["value"], http["rule_id"] or "", expected[2]),
                }
                mismatches += [
                    f"{name} {wire['userID']} {who}: {got} != core {expected}"
                    for who, got in observed.items()
                    if got != expected
                ]
        if node_available():
            js = js_evaluate(base, project.client_key, users, gates, configs, event="js_checkout")
            for wire, result in zip(users, js, strict=True):
                assert result["success"], result
                theirs = core_initialize(core, wire)
                for name in gates:
                    value, rule_id, _ = initialize_entry(theirs, "feature_gates", name)
                    got = result["gates"][name]
                    if (got["value"], got["ruleID"]) != (value, rule_id):
                        mismatches.append(f"{name} {wire['userID']} js: {got} != {value, rule_id}")
                for name in configs:
                    value, rule_id, _ = initialize_entry(theirs, "dynamic_configs", name)
                    got = result["configs"][name]
                    if (got["value"], got["ruleID"]) != (value, rule_id):
                        mismatches.append(f"{name} {wire['userID']} js: {got} != {value, rule_id}")
        core.log_event(core_user(users[0]), "core_checkout", 3.5)
        legacy.log_event(
            __import__("statsig").StatsigEvent(legacy_user(users[0]), "legacy_checkout", 2)
        )
        core.flush_events().wait()
        legacy.flush()
        server.close()
    assert mismatches == [], f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches[:40])
    # The comparison means something only if the random project really varies.
    assert 0.15 < sum(seen_values) / len(seen_values) < 0.85
    assert {"disabled", "default", "pass:all:id_override"} <= seen_rules and len(seen_rules) > 15
    assert with_exposures > len(users)
    settle(db)  # acknowledged events reach the indexed tables
    with db.transaction(write=False) as session:
        names = set(session.scalars(select(CustomEvent.event_name)))
        sdk_types = set(session.scalars(select(Exposure.sdk_type)))
    assert {"core_checkout", "legacy_checkout"} <= names
    assert {"statsig-server-core-python", "py-server", "http-api"} <= sdk_types
    if node_available():
        assert "js_checkout" in names and "javascript-client" in sdk_types
