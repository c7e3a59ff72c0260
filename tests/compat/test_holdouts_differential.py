"""Differential tests for holdouts and autotunes: entities made through the Console API,
evaluated by statsig-python-core, the legacy ``statsig`` SDK, ``@statsig/js-client`` and
Lockgate's own ``/v1/check_gate``, ``/v1/get_config`` and ``/v1/initialize``. All must agree on
value, rule id and secondary exposures; held-out users must get ``false`` with the holdout's
reference rule id. A second test checks the shares over 50,000 random units against the
configured percentages (binomial bounds)."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from lockgate.cores.evaluation.evaluator import Evaluator
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.clock import ManualClock
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
)
from tests.contract.client import ContractClient

USERS = 160
SHARE_UNITS = 50_000
EVERYONE = {"name": "everyone", "passPercentage": 100, "conditions": [{"type": "public"}]}
GATES = ["plain_gate", "held_gate", "global_gate"]
AUTOTUNES = ["tune_setup", "tune_running", "tune_decided"]
VARIANTS: list[dict[str, Any]] = [
    {"name": "red", "json": {"color": "red"}, "size": 20},
    {"name": "blue", "json": {"color": "blue"}, "size": 30},
    {"name": "green", "json": {"color": "green"}, "size": 50},
]


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return response.json().get("data") or {}


def _autotune(console: ContractClient, name: str) -> dict[str, Any]:
    body = {
        "name": name,
        "variants": VARIANTS,
        "successEvent": "click",
        "explorationWindow": "24hr",
        "attributionWindow": "2hrs",
        "winnerThreshold": "95%",
    }
    return _ok(console.post("/console/v1/autotunes", json=body))


def build_project(console: ContractClient, clock: ManualClock) -> None:
    """A gate in a holdout (with holdout overrides), a global holdout created before one gate
    and after another, and three autotunes: not started, running, decided."""
    _ok(console.post("/console/v1/gates", json={"name": "plain gate", "rules": [EVERYONE]}))
    _ok(console.post("/console/v1/gates", json={"name": "held gate", "rules": [EVERYONE]}))
    _ok(console.post("/console/v1/holdouts", json={"name": "team holdout"}))
    _ok(
        console.post(
            "/console/v1/holdouts/team_holdout",
            json={
                "isEnabled": True,
                "description": "team",
                "passPercentage": 10,
                "gateIDs": ["held_gate"],
                "experimentIDs": [],
                "layerIDs": [],
                "isGlobal": False,
                "targetingGateID": None,
            },
        )
    )
    _ok(
        console.post(
            "/console/v1/holdouts/team_holdout/overrides",
            json={"passingUserIDs": ["forced_in"], "failingUserIDs": ["forced_out"]},
        )
    )
    clock.advance(1000)
    _ok(console.post("/console/v1/holdouts", json={"name": "global holdout"}))
    _ok(
        console.patch(
            "/console/v1/holdouts/global_holdout", json={"passPercentage": 8, "isGlobal": True}
        )
    )
    clock.advance(1000)
    _ok(console.post("/console/v1/gates", json={"name": "global gate", "rules": [EVERYONE]}))
    _autotune(console, "tune setup")
    _autotune(console, "tune running")
    _ok(console.put("/console/v1/autotunes/tune_running/start"))
    decided = _autotune(console, "tune decided")
    _ok(console.put("/console/v1/autotunes/tune_decided/start"))
    winner = decided["variants"][2]["id"]
    _ok(
        console.put(
            "/console/v1/autotunes/tune_decided/make_decision",
            json={"id": winner, "decisionReason": "green converts best"},
        )
    )


def _references(dcs: dict[str, Any]) -> dict[str, str]:
    """Holdout id -> the id of the rule that applies it in gates."""
    found = {}
    for spec in dcs["feature_gates"].values():
        for rule in spec["rules"]:
            if rule["returnValue"] is False:
                target = dcs["condition_map"][rule["conditions"][0]]["targetValue"]
                found[target] = rule["id"]
    return found


def test_sdks_and_lockgate__holdouts_and_autotunes__agree(
    console: ContractClient, project: Bootstrap, app: FastAPI, clock: ManualClock
) -> None:
    build_project(console, clock)
    users = [{"userID": f"unit_{i}"} for i in range(USERS)]
    users += [{"userID": "forced_in"}, {"userID": "forced_out"}]
    with (
        live_server(app) as base,
        core_sdk(base, project.server_key) as core,
        legacy_sdk(base, project.server_key) as legacy,
    ):
        server = httpx.Client(base_url=base, headers={"STATSIG-API-KEY": project.server_key})
        dcs = server.get(f"/v2/download_config_specs/{project.server_key}.json").json()
        references = _references(dcs)
        mismatches: list[str] = []
        rules_seen: Counter[tuple[str, str]] = Counter()
        groups_seen: Counter[tuple[str, str | None]] = Counter()
        for wire in users:
            ours = server.post(
                f"/v1/initialize?k={project.client_key}", json={"user": wire, "hash": "none"}
            ).json()
            theirs = core_initialize(core, wire)
            old = legacy_initialize(wire)
            checked = server.post("/v1/check_gate", json={"gateNames": GATES, "user": wire}).json()
            for name in GATES:
                expected = initialize_entry(theirs, "feature_gates", name)
                rules_seen[(name, expected[1])] += 1
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
            for name in AUTOTUNES:
                expected = initialize_entry(theirs, "dynamic_configs", name)
                group = theirs["dynamic_configs"][name].get("group_name")
                groups_seen[(name, group)] += 1
                config = core.get_dynamic_config(core_user(wire), name)
                legacy_config = legacy.get_config(legacy_user(wire), name)
                http = server.post("/v1/get_config", json={"configName": name, "user": wire}).json()
                observed = {
                    "lockgate initialize": initialize_entry(ours, "dynamic_configs", name),
                    "legacy initialize": initialize_entry(old, "dynamic_configs", name),
                    "core get_dynamic_config": (config.value, config.rule_id, expected[2]),
                    "legacy get_config": (legacy_config.value, legacy_config.rule_id, expected[2]),
                    "lockgate get_config": (http["value"], http["rule_id"] or "", expected[2]),
                }
                mismatches += [
                    f"{name} {wire['userID']} {who}: {got} != core {expected}"
                    for who, got in observed.items()
                    if got != expected
                ]
                if http["group_name"] != group:
                    mismatches.append(
                        f"{name} {wire['userID']} group {http['group_name']} != {group}"
                    )
            # Holdouts are evaluated but never shown to clients.
            assert "team_holdout" not in ours["feature_gates"]
        if node_available():
            js = js_evaluate(base, project.client_key, users, GATES, AUTOTUNES)
            for wire, result in zip(users, js, strict=True):
                assert result["success"], result
                theirs = core_initialize(core, wire)
                for section, names, key in (
                    ("feature_gates", GATES, "gates"),
                    ("dynamic_configs", AUTOTUNES, "configs"),
                ):
                    for name in names:
                        value, rule_id, _ = initialize_entry(theirs, section, name)
                        got = result[key][name]
                        if (got["value"], got["ruleID"]) != (value, rule_id):
                            mismatches.append(
                                f"{name} {wire['userID']} js: {got} != {value, rule_id}"
                            )
        forced_in = core.get_feature_gate(core_user({"userID": "forced_in"}), "held_gate")
        forced_out = core.get_feature_gate(core_user({"userID": "forced_out"}), "held_gate")
        server.close()
    assert mismatches == [], f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches[:40])
    team, glob = references["team_holdout"], references["global_holdout"]
    # Held-out users get false with the holdout's rule id; everyone else passes the gate.
    held_rules = {rule for (name, rule) in rules_seen if name == "held_gate"}
    assert team in held_rules and len(held_rules) == 2
    assert 5 <= rules_seen[("held_gate", team)] <= 35
    assert {rule for (name, rule) in rules_seen if name == "plain_gate"} == {
        dcs["feature_gates"]["plain_gate"]["rules"][0]["id"]
    }
    assert {rule for (name, rule) in rules_seen if name == "global_gate"} == {
        glob,
        dcs["feature_gates"]["global_gate"]["rules"][-1]["id"],
    }
    assert 3 <= rules_seen[("global_gate", glob)] <= 30
    assert (forced_in.value, forced_in.rule_id) == (False, team)
    assert forced_out.value is True
    # Autotunes: defaults before start, every variant while running, the winner after a decision.
    assert groups_seen[("tune_setup", None)] == len(users)
    assert {g for (n, g) in groups_seen if n == "tune_running"} == {"red", "blue", "green"}
    assert groups_seen[("tune_decided", "green")] == len(users)


def _within_binomial(count: int, n: int, p: float, sigmas: float = 5.0) -> bool:
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


@pytest.mark.parametrize("seed", [0, 1])
def test_shares__50000_units__match_percentages(
    console: ContractClient, project: Bootstrap, app: FastAPI, clock: ManualClock, seed: int
) -> None:
    build_project(console, clock)
    with ContractClient(app) as sdk:
        dcs = sdk.get(f"/v2/download_config_specs/{project.server_key}.json").json()
    evaluator = Evaluator(dcs)
    references = _references(dcs)
    held = 0
    variants: Counter[str | None] = Counter()
    for index in range(SHARE_UNITS):
        user = {"userID": f"s{seed}_{index}"}
        if evaluator.check_gate(user, "held_gate").rule_id == references["team_holdout"]:
            held += 1
        variants[evaluator.get_config(user, "tune_running").group_name] += 1
    assert _within_binomial(held, SHARE_UNITS, 0.10), held
    for variant in VARIANTS:
        share = variant["size"] / 100
        assert _within_binomial(variants[variant["name"]], SHARE_UNITS, share), variants
    assert sum(variants.values()) == SHARE_UNITS and None not in variants
