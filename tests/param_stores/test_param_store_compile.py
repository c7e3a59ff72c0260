"""Parameter stores in SDK payloads: download_config_specs (v2 and v1) carry each store by
name with its parameters unchanged; /v1/initialize carries them with hashed names; a key
with target apps receives the stores tagged with one of them and every spec a kept store reads,
with that spec's own dependencies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lockgate.cores.compiler.compiler import compile_v2
from lockgate.cores.compiler.snapshot import ProjectSnapshot
from lockgate.cores.evaluation import Evaluator
from lockgate.cores.evaluation.hashing import djb2
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.specs.scoping import scope_to_apps
from tests.contract.client import ContractClient
from tests.param_stores.support import (
    ALL_KINDS,
    create_app,
    create_store,
    referenced_entities,
    set_parameters,
)

Download = Callable[[], dict[str, Any]]


def test_dcs_v2__store__keyed_by_name_parameters_by_name_version_counts_updates(
    console: ContractClient, sdk_server: Download
) -> None:
    referenced_entities(console)
    create_store(console, "my store")
    assert sdk_server()["param_stores"] == {
        "my store": {"parameters": {}, "targetAppIDs": [], "version": 1}
    }
    set_parameters(console, "my store", ALL_KINDS)
    entry = sdk_server()["param_stores"]["my store"]
    assert entry["parameters"] == {p["name"]: p for p in ALL_KINDS}
    assert entry["targetAppIDs"] == [] and entry["version"] == 2


def test_dcs_v1__store__same_object_as_v2(
    console: ContractClient, sdk: ContractClient, project: Bootstrap, sdk_server: Download
) -> None:
    referenced_entities(console)
    create_store(console)
    set_parameters(console, "param 1", ALL_KINDS)
    v1 = sdk.get(f"/v1/download_config_specs/{project.server_key}.json").json()
    assert v1["param_stores"] == sdk_server()["param_stores"]


def test_delete_store__gone_from_the_payload(console: ContractClient, sdk_server: Download) -> None:
    create_store(console)
    console.delete("/console/v1/param_stores/param 1")
    assert sdk_server()["param_stores"] == {}


def test_initialize__djb2__store_and_entity_names_hashed_values_plain(
    console: ContractClient, sdk: ContractClient, project: Bootstrap
) -> None:
    referenced_entities(console)
    create_store(console)
    set_parameters(console, "param 1", ALL_KINDS)
    body = sdk.post(f"/v1/initialize?k={project.client_key}", json={"user": {"userID": "u"}}).json()
    stores = body["param_stores"]
    assert list(stores) == [djb2("param 1")]
    rendered = stores[djb2("param 1")]
    assert rendered["gated"]["gate_name"] == djb2("a_gate")
    assert rendered["color"]["config_name"] == djb2("a_config")
    assert rendered["exp_size"]["experiment_name"] == djb2("an_experiment")
    assert rendered["layer_size"]["layer_name"] == djb2("a_layer")
    assert rendered["static_arr"] == ALL_KINDS[1]
    assert rendered["gated"]["pass_value"] == "on" and rendered["color"]["param_name"] == "color"
    # The entities they read are in the same response, under the same hashed names.
    assert djb2("a_gate") in body["feature_gates"]
    assert djb2("a_config") in body["dynamic_configs"]
    assert djb2("a_layer") in body["layer_configs"]


def _gate(gate_id: str, rules: list[dict[str, Any]], apps: list[str]) -> dict[str, Any]:
    return {
        "id": gate_id,
        "name": gate_id,
        "idType": "userID",
        "isEnabled": True,
        "status": "In Progress",
        "rules": rules,
        "targetApps": apps,
        "salt": f"salt-{gate_id}",
    }


def _rule(rule_id: str, condition: dict[str, Any]) -> dict[str, Any]:
    condition = {"operator": None, "targetValue": None, **condition}
    return {
        "id": rule_id,
        "baseID": rule_id,
        "name": rule_id,
        "passPercentage": 100,
        "conditions": [condition],
    }


@pytest.mark.database_free
def test_scope_to_apps__store_pulls_its_gate_and_the_gate_it_nests() -> None:
    # Given a store for app "web" reading an untagged gate that passes through another gate
    nested = _gate(
        "inner", [_rule("r_in", {"type": "user_id", "operator": "any", "targetValue": ["u1"]})], []
    )
    outer = _gate("outer", [_rule("r_out", {"type": "passes_gate", "targetValue": "inner"})], [])
    other = _gate("unrelated", [_rule("r_un", {"type": "public"})], [])
    store = {
        "name": "web store",
        "targetAppIDs": ["web"],
        "version": 3,
        "parameters": [
            {
                "name": "flag",
                "ref_type": "gate",
                "param_type": "boolean",
                "gate_name": "outer",
                "pass_value": True,
                "fail_value": False,
            }
        ],
    }
    hidden = {**store, "name": "mobile store", "targetAppIDs": ["mobile"]}
    snapshot = ProjectSnapshot(
        project_id="p",
        company_id="c",
        time_ms=1,
        gates=[nested, outer, other],  # type: ignore[list-item]
        param_stores=[store, hidden],
    )
    # When the payload is narrowed for a key whose app is "web"
    document = scope_to_apps(compile_v2(snapshot), ("web",), "web")
    # Then the web store is there, and both gates it needs, but not the unrelated one
    assert list(document["param_stores"]) == ["web store"]
    assert set(document["feature_gates"]) == {"outer", "inner"}
    # And the parameter resolves as it would with the whole project
    evaluator = Evaluator(document)
    full = Evaluator(compile_v2(snapshot))
    for user in ({"userID": "u1"}, {"userID": "u2"}):
        ours = evaluator.get_parameter(user, "web store", "flag").value
        assert ours == full.get_parameter(user, "web store", "flag").value
    assert evaluator.get_parameter({"userID": "u1"}, "web store", "flag").value is True
    assert evaluator.get_parameter({"userID": "u2"}, "web store", "flag").value is False


@pytest.mark.database_free
def test_unscoped_key__every_store_and_nothing_pulled() -> None:
    store = {"name": "s", "targetAppIDs": ["web"], "version": 1, "parameters": []}
    document = compile_v2(ProjectSnapshot("p", "c", 1, param_stores=[store]))
    assert document["param_stores"] == {
        "s": {"parameters": {}, "targetAppIDs": ["web"], "version": 1}
    }


def test_dcs__key_with_app__its_stores_and_every_spec_they_read(
    console: ContractClient, sdk: ContractClient, sdk_server: Download
) -> None:
    # Given untagged entities read by a store tagged web, and a store tagged ios
    web, ios = create_app(console, "web"), create_app(console, "ios")
    referenced_entities(console)
    create_store(console, "web store", targetAppIDs=[web])
    set_parameters(console, "web store", ALL_KINDS)
    create_store(console, "ios store", targetAppIDs=[ios])
    key = console.post(
        "/console/v1/keys", json={"description": "web", "type": "SERVER", "targetAppID": web}
    )
    assert key.status_code == 200, key.text
    # When the web key downloads its payload
    response = sdk.get(f"/v2/download_config_specs/{key.json()['data']['key']}.json")
    assert response.status_code == 200, response.text
    document = response.json()
    # Then it has the web store and exactly the specs it reads (the experiment with its layer)
    assert list(document["param_stores"]) == ["web store"]
    assert set(document["feature_gates"]) == {"a_gate"}
    assert set(document["dynamic_configs"]) == {"a_config", "an_experiment"}
    assert set(document["layer_configs"]) == {"a_layer"}
    assert document["experiment_to_layer"] == {"an_experiment": "a_layer"}
    # And every parameter resolves as it does for the unscoped server key
    scoped, full = Evaluator(document), Evaluator(sdk_server())
    for user in ({"userID": "u1"}, {"userID": "u2"}, {"userID": "u3"}):
        for parameter in ALL_KINDS:
            name = parameter["name"]
            expected = full.get_parameter(user, "web store", name).value
            assert scoped.get_parameter(user, "web store", name).value == expected
