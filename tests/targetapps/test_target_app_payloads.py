"""What a key with target apps receives from download_config_specs and /v1/initialize."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.cores.evaluation.hashing import djb2
from lockgate.domains.projects.service import Bootstrap
from tests.contract.client import ContractClient
from tests.param_stores.support import create_store, set_parameters
from tests.targetapps.support import WEB_DEPENDENCIES, WEB_GATES, build


@pytest.fixture()
def sdk(app: FastAPI) -> Iterator[ContractClient]:
    with ContractClient(app) as client:
        yield client


def _dcs(sdk: ContractClient, key: str) -> Any:
    response = sdk.get(f"/v2/download_config_specs/{key}.json")
    assert response.status_code == 200, response.text
    return response.json()


def _initialize(sdk: ContractClient, key: str, user: dict[str, Any]) -> Any:
    response = sdk.post(
        "/v1/initialize", json={"user": user, "hash": "none"}, headers={"STATSIG-API-KEY": key}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_dcs__key_with_app__tagged_entities_and_their_dependencies(
    console: ContractClient, sdk: ContractClient
) -> None:
    built = build(console)
    document = _dcs(sdk, built.server_key)
    assert set(document["feature_gates"]) == WEB_GATES | WEB_DEPENDENCIES
    assert document["app_id"] == built.web
    # Pulled-in specs keep their own apps (none), so a client filter still hides them.
    assert "targetAppIDs" not in document["feature_gates"]["inner"]
    assert document["feature_gates"]["app_gate"]["targetAppIDs"] == [built.web, built.ios]
    used = {
        c
        for spec in document["feature_gates"].values()
        for r in spec["rules"]
        for c in r["conditions"]
    }
    assert set(document["condition_map"]) == used


def test_dcs__key_without_app__everything_and_client_key_map(
    console: ContractClient, sdk: ContractClient, project: Bootstrap
) -> None:
    built = build(console)
    document = _dcs(sdk, project.server_key)
    assert {"ios_gate", "plain"} <= set(document["feature_gates"])
    assert "app_id" not in document
    assert document["hashed_sdk_keys_to_app_ids"] == {djb2(built.client_key): built.web}


def test_initialize__client_key_with_app__scoped_gate_through_untagged_segment(
    console: ContractClient, sdk: ContractClient
) -> None:
    built = build(console)
    beta = _initialize(sdk, built.client_key, {"userID": "u1"})
    assert set(beta["feature_gates"]) == WEB_GATES
    assert beta["feature_gates"]["web_gate"]["value"] is True
    assert beta["feature_gates"]["app_gate"]["value"] is True
    # The segment's own rule needs the untagged segment `employees`: it travels too.
    staff = _initialize(sdk, built.client_key, {"userID": "x", "email": "a@acme.com"})
    assert staff["feature_gates"]["web_gate"]["value"] is True
    outsider = _initialize(sdk, built.client_key, {"userID": "u3"})
    assert outsider["feature_gates"]["web_gate"]["value"] is False
    assert outsider["feature_gates"]["outer"]["value"] is True


def test_check_gate__server_key_with_app__target_app_condition_reads_key_app(
    console: ContractClient, sdk: ContractClient, project: Bootstrap
) -> None:
    built = build(console)

    def check(key: str) -> Any:
        return sdk.post(
            "/v1/check_gate",
            json={"gateName": "app_gate", "user": {"userID": "u1"}},
            headers={"STATSIG-API-KEY": key},
        ).json()["value"]

    assert check(built.server_key) is True
    assert check(project.server_key) is False


def test_key_and_app_changes__next_download_sees_them(
    console: ContractClient, sdk: ContractClient, project: Bootstrap
) -> None:
    built = build(console)
    key_id = built.server_key[: len("secret-") + 12]
    console.patch(f"/console/v1/keys/{key_id}", json={"secondaryTargetAppIDs": ["ios"]})
    assert "ios_gate" in _dcs(sdk, built.server_key)["feature_gates"]
    console.patch("/console/v1/target_app", json={"targetApps": ["web"], "gates": ["plain"]})
    assert "plain" in _dcs(sdk, built.server_key)["feature_gates"]
    console.delete(f"/console/v1/target_app/{built.web}")
    document = _dcs(sdk, built.server_key)
    assert document["app_id"] == built.ios
    assert set(document["feature_gates"]) == {"ios_gate", "app_gate"}
    assert "hashed_sdk_keys_to_app_ids" not in _dcs(sdk, project.server_key)


def test_initialize__client_key_with_app__store_brings_the_untagged_gate_it_reads(
    console: ContractClient, sdk: ContractClient
) -> None:
    built = build(console)
    store = create_store(console, "web_settings", targetAppIDs=[built.web])
    flag = {
        "name": "everyone_on",
        "ref_type": "gate",
        "param_type": "boolean",
        "gate_name": "plain",  # public, tagged with no app
        "pass_value": True,
        "fail_value": False,
    }
    set_parameters(console, store["name"], [flag])
    body = _initialize(sdk, built.client_key, {"userID": "u9"})
    assert body["param_stores"]["web_settings"]["everyone_on"]["gate_name"] == "plain"
    # The gate travels with the store and evaluates; other untagged or ios entities stay out.
    assert body["feature_gates"]["plain"]["value"] is True
    assert set(body["feature_gates"]) == WEB_GATES | {"plain"}
