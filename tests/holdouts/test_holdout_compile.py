"""Holdouts in download_config_specs (`docs/compiling.md` §Holdout references, §Holdouts): the
holdout spec, the reference rules in the gates, experiments and layers it covers, global holdouts,
overrides."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

import pytest
from fastapi import FastAPI

from lockgate.cores.compiler.base import Compiler
from lockgate.cores.compiler.compiler import compile_v2
from lockgate.cores.compiler.conditions import condition_id
from lockgate.cores.compiler.holdouts import reference_rules
from lockgate.cores.compiler.snapshot import KeyScope, ProjectSnapshot
from lockgate.cores.evaluation.evaluator import Evaluator
from lockgate.documents.specs import SpecCondition
from lockgate.documents.stored import StoredExperiment, StoredHoldout, StoredLayer
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from tests.contract.client import ContractClient
from tests.holdouts.support import (
    HOLDOUTS,
    create_gate,
    create_holdout,
    patch_holdout,
    store_entity,
)
from tests.users.support import TEAMS, team_body


@pytest.fixture()
def sdk(app: FastAPI) -> Any:
    with ContractClient(app) as client:
        yield client


def _dcs(sdk: ContractClient, project: Bootstrap, version: int = 2) -> dict[str, Any]:
    response = sdk.get(f"/v{version}/download_config_specs/{project.server_key}.json")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _holdout_condition(holdout_id: str, id_type: str = "userID") -> SpecCondition:
    return {
        "type": "pass_gate",
        "targetValue": holdout_id,
        "operator": "any",
        "field": None,
        "additionalValues": None,
        "idType": id_type,
    }


def _reference_id(holdout_id: str, dcs: dict[str, Any]) -> str:
    """The id of the rule applying ``holdout_id`` in any spec of ``dcs``."""
    wanted = condition_id(_holdout_condition(holdout_id))
    for spec in dcs["feature_gates"].values():
        for rule in spec["rules"]:
            if rule["conditions"] == [wanted]:
                return str(rule["id"])
    raise AssertionError(f"no reference to {holdout_id}")


def test_holdout_spec__new_holdout__population_rule_with_stable_salt(
    console: ContractClient, sdk: ContractClient, project: Bootstrap
) -> None:
    create_holdout(console, "a holdout")
    dcs = _dcs(sdk, project)
    spec = dcs["feature_gates"]["a_holdout"]
    assert list(spec) == [
        "type", "salt", "enabled", "defaultValue", "rules", "idType", "entity", "version",
    ]  # fmt: skip
    assert (spec["entity"], spec["enabled"], spec["defaultValue"]) == ("holdout", True, False)
    [rule] = spec["rules"]
    assert rule["id"] == rule["name"] == rule["salt"] and len(rule["id"]) == 22
    assert (rule["passPercentage"], rule["returnValue"]) == (0, True)
    assert dcs["condition_map"][rule["conditions"][0]] == {
        "type": "public",
        "targetValue": None,
        "operator": None,
        "field": None,
        "additionalValues": None,
        "idType": "userID",
    }


def test_holdout_spec__percentage_edits__rule_id_suffixed_salt_kept(
    console: ContractClient, sdk: ContractClient, project: Bootstrap
) -> None:
    create_holdout(console, "a holdout")
    base = _dcs(sdk, project)["feature_gates"]["a_holdout"]["rules"][0]["id"]
    patch_holdout(console, "a_holdout", passPercentage=0.5)
    patch_holdout(console, "a_holdout", description="no percentage change")
    patch_holdout(console, "a_holdout", passPercentage=5)
    [rule] = _dcs(sdk, project)["feature_gates"]["a_holdout"]["rules"]
    assert rule["id"] == f"{base}:5.00:2" and rule["salt"] == base
    assert rule["passPercentage"] == 5


def test_holdout_spec__overrides_then_targeting_gate(
    console: ContractClient, sdk: ContractClient, project: Bootstrap
) -> None:
    create_holdout(console, "a holdout")
    create_gate(console, "target gate")
    patch_holdout(console, "a_holdout", passPercentage=10, targetingGateID="target_gate")
    console.post(
        f"{HOLDOUTS}/a_holdout/overrides",
        json={"passingUserIDs": ["in"], "failingUserIDs": ["out"]},
    )
    dcs = _dcs(sdk, project)
    rules = dcs["feature_gates"]["a_holdout"]["rules"]
    assert [(r["id"], r["passPercentage"]) for r in rules[:2]] == [
        ("pass:all:id_override", 100),
        ("fail:all:id_override", 0),
    ]
    assert dcs["condition_map"][rules[2]["conditions"][0]] == {
        "type": "pass_gate",
        "targetValue": "target_gate",
        "operator": None,
        "field": None,
        "additionalValues": {},
        "idType": "userID",
    }


def test_gate_in_holdout__reference_after_overrides_before_rules(
    console: ContractClient, sdk: ContractClient, project: Bootstrap
) -> None:
    create_gate(console, "a gate")
    console.post(
        "/console/v1/gates/a_gate/overrides", json={"passingUserIDs": ["vip"], "failingUserIDs": []}
    )
    create_holdout(console, "a holdout")
    patch_holdout(console, "a_holdout", passPercentage=10, gateIDs=["a_gate"])
    dcs = _dcs(sdk, project)
    rules = dcs["feature_gates"]["a_gate"]["rules"]
    reference = rules[1]
    assert rules[0]["id"] == "pass:all:id_override"
    assert reference == {
        "name": reference["id"],
        "passPercentage": 100,
        "conditions": [condition_id(_holdout_condition("a_holdout"))],
        "returnValue": False,
        "id": reference["id"],
        "salt": "",
        "idType": "userID",
    }
    assert dcs["condition_map"][reference["conditions"][0]] == _holdout_condition("a_holdout")
    assert rules[2]["returnValue"] is True
    # v1: the legacy encoding of "force false" (docs/compiling.md §The v1 rendering).
    v1 = _dcs(sdk, project, version=1)
    [gate] = [g for g in v1["feature_gates"] if g["name"] == "a_gate"]
    assert (gate["rules"][1]["passPercentage"], gate["rules"][1]["returnValue"]) == (0, True)


def test_gate_in_holdout__held_out_users_fail_with_reference_rule(
    console: ContractClient, sdk: ContractClient, project: Bootstrap
) -> None:
    create_gate(console, "a gate")
    create_holdout(console, "a holdout")
    patch_holdout(console, "a_holdout", passPercentage=10, gateIDs=["a_gate"])
    console.post(
        f"{HOLDOUTS}/a_holdout/overrides",
        json={"passingUserIDs": ["forced_in"], "failingUserIDs": ["forced_out"]},
    )
    dcs = _dcs(sdk, project)
    reference = _reference_id("a_holdout", dcs)
    evaluator = Evaluator(dcs)
    results = [evaluator.check_gate({"userID": f"u{i}"}, "a_gate") for i in range(400)]
    held = [r for r in results if r.rule_id == reference]
    assert all(r.value is False for r in held) and 15 < len(held) < 70
    assert evaluator.check_gate({"userID": "forced_in"}, "a_gate").rule_id == reference
    assert evaluator.check_gate({"userID": "forced_out"}, "a_gate").value is True


def test_disabled_holdout__no_rules_no_references(
    console: ContractClient, sdk: ContractClient, project: Bootstrap
) -> None:
    create_gate(console, "a gate")
    create_holdout(console, "a holdout")
    patch_holdout(console, "a_holdout", passPercentage=10, gateIDs=["a_gate"], isEnabled=False)
    dcs = _dcs(sdk, project)
    spec = dcs["feature_gates"]["a_holdout"]
    assert (spec["enabled"], spec["rules"]) == (False, [])
    assert [r["returnValue"] for r in dcs["feature_gates"]["a_gate"]["rules"]] == [True]


def test_global_holdout__covers_later_entities_of_its_unit_type_only(
    console: ContractClient, sdk: ContractClient, project: Bootstrap, clock: ManualClock
) -> None:
    create_gate(console, "older gate")
    clock.advance(1000)
    create_holdout(console, "global holdout")
    create_holdout(console, "chosen holdout")
    patch_holdout(console, "global_holdout", passPercentage=5, isGlobal=True)
    clock.advance(1000)
    create_gate(console, "newer gate")
    create_gate(console, "stable gate", idType="stableID")
    # Attached explicitly: comes after the global one even though it was attached first.
    patch_holdout(console, "chosen_holdout", gateIDs=["newer_gate", "older_gate"])
    dcs = _dcs(sdk, project)
    global_ref = _reference_id("global_holdout", dcs)
    chosen_ref = _reference_id("chosen_holdout", dcs)

    def references(gate: str) -> list[str]:
        return [r["id"] for r in dcs["feature_gates"][gate]["rules"] if r["returnValue"] is False]

    assert references("newer_gate") == [global_ref, chosen_ref]
    assert references("older_gate") == [chosen_ref]
    assert references("stable_gate") == []
    patch_holdout(console, "global_holdout", isGlobal=False)
    dcs = _dcs(sdk, project)
    assert references("newer_gate") == [chosen_ref]


@pytest.mark.database_free
def test_target_app_key__still_sees_holdouts() -> None:
    snapshot = ProjectSnapshot(
        project_id="p",
        company_id="c",
        time_ms=1,
        # Partial fixture: only the keys the holdout compiler reads.
        holdouts=[
            cast(
                StoredHoldout,
                {"id": "h", "idType": "userID", "isEnabled": True, "passPercentage": 1},
            )
        ],
    )
    assert "h" in compile_v2(snapshot, KeyScope(target_app="web"))["feature_gates"]


# --- experiments and layers (the hook their compilers call) ----------------------------------


def _snapshot_with_layer() -> ProjectSnapshot:
    # Partial fixtures: each document holds only the keys reference_rules reads.
    holdout = {
        "id": "h",
        "idType": "userID",
        "isEnabled": True,
        "passPercentage": 5,
        "referenceID": "REFERENCEid000000000001",
        "experimentIDs": ["in_layer", "alone"],
        "layerIDs": ["layer"],
    }
    layer = {
        "id": "layer",
        "idType": "userID",
        "parameters": [
            {"name": "color", "type": "string", "defaultValue": "shipped"},
            {"name": "size", "type": "number", "defaultValue": 3},
        ],
        "holdoutValues": {"h": {"color": "original", "size": 3}},
    }
    return ProjectSnapshot(
        project_id="p",
        company_id="c",
        time_ms=1,
        holdouts=[cast(StoredHoldout, holdout)],
        layers=[cast(StoredLayer, layer)],
        experiments=[
            cast(StoredExperiment, {"id": "in_layer", "idType": "userID", "layerID": "layer"}),
            cast(StoredExperiment, {"id": "alone", "idType": "userID"}),
        ],
    )


@pytest.mark.parametrize(
    ("kind", "entity", "pass_percentage", "value"),
    [
        ("experiment", "in_layer", 0, {"color": "shipped", "size": 3}),
        ("experiment", "alone", 0, {}),
        ("layer", "layer", 100, {"color": "original", "size": 3}),
        ("dynamic_config", "anything", None, None),
    ],
)
@pytest.mark.database_free
def test_reference_rules__kind__statsig_encoding(
    kind: str, entity: str, pass_percentage: float | None, value: Any
) -> None:
    compiler = Compiler(_snapshot_with_layer(), KeyScope())
    rules = reference_rules(compiler, kind, entity, "userID")
    if pass_percentage is None:
        assert rules == []
        return
    [rule] = rules
    assert rule["id"] == rule["name"] == "REFERENCEid000000000001" and rule["salt"] == ""
    assert (rule["passPercentage"], rule["returnValue"]) == (pass_percentage, value)
    assert compiler.conditions.entries[rule["conditions"][0]] == _holdout_condition("h")


@pytest.mark.database_free
def test_reference_rules__layer_without_holdout_values__layer_defaults() -> None:
    snapshot = _snapshot_with_layer()
    layer: StoredLayer = {**snapshot.layers[0], "holdoutValues": {}}
    compiler = Compiler(replace(snapshot, layers=[layer]), KeyScope())
    [rule] = reference_rules(compiler, "layer", "layer", "userID")
    assert rule["returnValue"] == {"color": "shipped", "size": 3}


def test_reference_rules__experiment_stored_through_table__attachable(
    console: ContractClient,
    sdk: ContractClient,
    project: Bootstrap,
    db: Database,
    clock: ManualClock,
) -> None:
    store_entity(db, project, clock, "experiment", "exp_one")
    create_holdout(console, "a holdout")
    data = patch_holdout(console, "a_holdout", experimentIDs=["exp_one"])
    assert data["experimentIDs"] == ["exp_one"]


def test_team_default_holdout__new_gate_and_experiment_join__held_out_users_fail(
    console: ContractClient, sdk: ContractClient, project: Bootstrap
) -> None:
    create_holdout(console, "team holdout")
    console.post(
        f"{HOLDOUTS}/team_holdout/overrides",
        json={"passingUserIDs": ["held"], "failingUserIDs": ["kept"]},
    )
    team = console.post(TEAMS, json=team_body("Growth", defaultHoldoutID="team_holdout"))
    assert team.status_code == 200, team.text

    create_gate(console, "team gate", team="Growth")
    create_gate(console, "lone gate")
    experiment = console.post(
        "/console/v1/experiments",
        json={"name": "team exp", "hypothesis": "h", "teamID": team.json()["data"]["id"]},
    )

    assert experiment.status_code == 201, experiment.text
    holdout = console.get(f"{HOLDOUTS}/team_holdout").json()["data"]
    assert (holdout["gateIDs"], holdout["experimentIDs"]) == (["team_gate"], ["team_exp"])
    dcs = _dcs(sdk, project)
    reference = _reference_id("team_holdout", dcs)
    evaluator = Evaluator(dcs)
    held = evaluator.check_gate({"userID": "held"}, "team_gate")
    assert (held.value, held.rule_id) == (False, reference)
    assert evaluator.check_gate({"userID": "kept"}, "team_gate").value is True
    assert evaluator.check_gate({"userID": "held"}, "lone_gate").value is True
