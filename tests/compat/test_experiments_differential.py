"""Differential tests for experiments and layers: made through the Console API, evaluated by
statsig-python-core, the legacy ``statsig`` SDK and Lockgate (``/v1/get_config``,
``/v1/get_layer``, ``/v1/initialize``), which must agree on values, rule ids and groups. Also:
exposures an SDK logs show up in ``cumulative_exposures`` per group."""

from __future__ import annotations

import random
from typing import Any

import httpx
from fastapi import FastAPI

from lockgate.domains.events.incoming import settle
from lockgate.domains.experiments import exposures
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.db import Database
from tests.compat.live import live_server
from tests.compat.sdks import (
    core_initialize,
    core_sdk,
    core_user,
    js_evaluate,
    legacy_initialize,
    legacy_sdk,
    legacy_user,
    node_available,
    wait_until,
)
from tests.contract.client import ContractClient
from tests.experiments.support import BASE, LAYERS, create, create_layer, groups, put

EXPERIMENTS = ["in_layer", "targeted", "shipped", "dropped", "solo", "inline", "unstarted"]
USERS = 60


def _build(console: ContractClient) -> None:
    console.post(
        "/console/v1/gates",
        json={
            "name": "half gate",
            "rules": [{"name": "half", "passPercentage": 50, "conditions": [{"type": "public"}]}],
        },
    )
    create_layer(
        console,
        parameters=[
            {"name": "color", "type": "string", "defaultValue": "grey"},
            {"name": "size", "type": "number", "defaultValue": 1},
        ],
    )
    create(console, "in layer", layerID="a_layer", allocation=40, groups=groups(50, 50))
    create(
        console,
        "targeted",
        layerID="a_layer",
        allocation=30,
        groups=groups(30, 70),
        targetingGateID="half_gate",
    )
    create(
        console,
        "shipped",
        layerID="a_layer",
        allocation=20,
        groups=[
            {"name": "A", "size": 50, "parameterValues": {"size": 2}},
            {"name": "B", "size": 50, "parameterValues": {"size": 3}},
        ],
    )
    create(console, "dropped", groups=groups(50, 50))
    create(console, "solo", allocation=60, groups=groups(25, 25, 50))
    create(
        console,
        "inline",
        groups=groups(50, 50),
        inlineTargetingRules=[
            {
                "name": "Inline Targeting Rule 1",
                "passPercentage": 100,
                "conditions": [
                    {
                        "type": "user_id",
                        "operator": "any",
                        "targetValue": [f"user_{i}" for i in range(0, 60, 3)],
                    }
                ],
            }
        ],
    )
    create(console, "unstarted", groups=groups(50, 50))
    for name in ("in_layer", "targeted", "shipped", "dropped", "solo", "inline"):
        assert put(console, name, "start").status_code == 200
    shipped_b = console.get(f"{BASE}/shipped").json()["data"]["groups"][1]["id"]
    put(console, "shipped", "make_decision", id=shipped_b, decisionReason="won")
    put(console, "dropped", "abandon", decisionReason="flat")
    console.post(
        f"{BASE}/solo/overrides",
        json={
            "overrides": [{"type": "gate", "id": "half_gate", "groupID": "Test B"}],
            "userIDOverrides": [{"groupID": "Control", "ids": ["user_1", "user_2"]}],
        },
    )
    console.post(
        f"{BASE}/unstarted/overrides",
        json={"overrides": [], "userIDOverrides": [{"groupID": "Test", "ids": ["user_4"]}]},
    )
    console.post(
        f"{LAYERS}/a_layer/overrides",
        json={
            "conditionalOverrides": [],
            "idOverrides": [{"groupName": "Test", "ids": ["user_5"], "experimentName": "in_layer"}],
        },
    )


def _entry(init: dict[str, Any], name: str) -> tuple[Any, ...]:
    entry = init["dynamic_configs"][name]
    exposures_ = [(e["gate"], e["gateValue"], e["ruleID"]) for e in entry["secondary_exposures"]]
    return entry["value"], entry["rule_id"], entry.get("group_name"), exposures_


def test_sdks_and_lockgate__experiments_and_layers__agree(
    console: ContractClient, project: Bootstrap, app: FastAPI
) -> None:
    _build(console)
    rng = random.Random(5)
    users = [{"userID": f"user_{i}", "custom": {"n": rng.randint(0, 9)}} for i in range(USERS)]
    mismatches: list[str] = []
    rule_ids: set[str] = set()
    with (
        live_server(app) as base,
        core_sdk(base, project.server_key) as core,
        legacy_sdk(base, project.server_key) as legacy,
    ):
        server = httpx.Client(base_url=base, headers={"STATSIG-API-KEY": project.server_key})
        for wire in users:
            theirs = core_initialize(core, wire)
            ours = server.post(
                f"/v1/initialize?k={project.client_key}", json={"user": wire, "hash": "none"}
            ).json()
            old = legacy_initialize(wire)
            for name in EXPERIMENTS:
                expected = _entry(theirs, name)
                rule_ids.add(expected[1])
                core_exp = core.get_experiment(core_user(wire), name)
                legacy_exp = legacy.get_experiment(legacy_user(wire), name)
                http = server.post("/v1/get_config", json={"configName": name, "user": wire}).json()
                observed = {
                    "lockgate initialize": _entry(ours, name),
                    "legacy initialize": _entry(old, name)[:2],
                    "core get_experiment": (core_exp.get_value(), core_exp.get_rule_id()),
                    "legacy get_experiment": (legacy_exp.value, legacy_exp.rule_id),
                    "lockgate get_config": (http["value"], http["rule_id"] or ""),
                }
                for who, got in observed.items():
                    if got != expected[: len(got)]:
                        mismatches.append(
                            f"{name} {wire['userID']} {who}: {got} != core {expected}"
                        )
            core_layer = core.get_layer(core_user(wire), "a_layer")
            legacy_layer = legacy.get_layer(legacy_user(wire), "a_layer")
            http_layer = server.post(
                "/v1/get_layer", json={"layerName": "a_layer", "user": wire}
            ).json()
            expected_layer = (
                core_layer.get("color", ""),
                core_layer.get("size", 0),
                core_layer.get_rule_id(),
            )
            for who, got in {
                "legacy get_layer": (
                    legacy_layer.get("color", ""),
                    legacy_layer.get("size", 0),
                    legacy_layer.rule_id,
                ),
                "lockgate get_layer": (
                    http_layer["value"].get("color"),
                    http_layer["value"].get("size"),
                    http_layer["ruleID"],
                ),
                "lockgate initialize": (
                    ours["layer_configs"]["a_layer"]["value"].get("color"),
                    ours["layer_configs"]["a_layer"]["value"].get("size"),
                    ours["layer_configs"]["a_layer"]["rule_id"],
                ),
            }.items():
                if got != expected_layer:
                    mismatches.append(
                        f"a_layer {wire['userID']} {who}: {got} != core {expected_layer}"
                    )
        if node_available():
            js = js_evaluate(
                base,
                project.client_key,
                users,
                [],
                [],
                experiments=list(EXPERIMENTS),
                layers={"a_layer": ["color", "size"]},
            )
            for wire, result in zip(users, js, strict=True):
                theirs = core_initialize(core, wire)
                for name in EXPERIMENTS:
                    value, rule_id, group, _ = _entry(theirs, name)
                    got = result["experiments"][name]
                    if (got["value"], got["ruleID"], got["groupName"]) != (value, rule_id, group):
                        mismatches.append(f"{name} {wire['userID']} js: {got} != {value, rule_id}")
                core_layer = core.get_layer(core_user(wire), "a_layer")
                js_layer = result["layers"]["a_layer"]
                expected_js = (
                    core_layer.get("color", None),
                    core_layer.get("size", None),
                    core_layer.get_rule_id(),
                )
                got_js = (
                    js_layer["values"]["color"],
                    js_layer["values"]["size"],
                    js_layer["ruleID"],
                )
                if got_js != expected_js:
                    mismatches.append(f"a_layer {wire['userID']} js: {got_js} != {expected_js}")
        server.close()
    assert mismatches == [], f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches[:40])
    # The comparison means something only if every kind of rule was reached.
    assert {
        "layerAssignment",
        "targetingGate",
        "inlineTargetingRules",
        "launchedGroup",
        "abandoned",
        "prestart",
    } <= rule_ids
    assert any(r.endswith(":id_override") for r in rule_ids) and any(
        r.endswith(":override") for r in rule_ids
    )


def test_core_exposures__cumulative_exposures_count_groups(
    console: ContractClient, project: Bootstrap, app: FastAPI, db: Database
) -> None:
    created = create(console, "counted", groups=groups(50, 50))
    put(console, "counted", "start")
    seen: dict[str, set[str]] = {}
    with live_server(app) as base, core_sdk(base, project.server_key) as core:
        for i in range(200):
            user = core_user({"userID": f"person_{i}"})
            experiment = core.get_experiment(user, "counted")
            core.get_experiment(user, "counted")  # a repeat exposure counts the unit once
            seen.setdefault(experiment.get_rule_id(), set()).add(f"person_{i}")
        core.flush_events().wait()

        def counted() -> dict[str, int]:
            settle(db)  # acknowledged events reach the indexed tables
            with db.transaction(write=False) as session:
                data = exposures.cumulative_exposures(session, project.project.id, "counted")
            return {
                g["groupID"]: (g["results"][-1]["exposures"] if g["results"] else 0) for g in data
            }

        expected = {g["id"]: len(seen.get(g["id"], ())) for g in created["groups"]}
        assert wait_until(lambda: counted() == expected), (counted(), expected)
    assert all(v > 50 for v in expected.values())
