"""``download_config_specs`` v1/v2 and id lists: auth, freshness, encodings, live updates."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.clock import ManualClock
from tests.contract.client import ContractClient

EMAIL_RULE = {
    "name": "employees",
    "passPercentage": 100,
    "conditions": [{"type": "email", "operator": "str_contains_any", "targetValue": ["@corp.com"]}],
}


@pytest.fixture()
def sdk(app: FastAPI) -> Any:
    with ContractClient(app) as client:
        yield client


def _dcs(sdk: ContractClient, key: str, version: int = 2, **params: Any) -> Any:
    response = sdk.get(f"/v{version}/download_config_specs/{key}.json", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_dcs_v2__server_key__document_with_required_fields(
    sdk: ContractClient, console: ContractClient, project: Bootstrap
) -> None:
    console.post("/console/v1/gates", json={"name": "a_gate", "rules": [EMAIL_RULE]})
    body = _dcs(sdk, project.server_key)
    for required in (
        "has_updates",
        "time",
        "feature_gates",
        "dynamic_configs",
        "layer_configs",
        "condition_map",
        "experiment_to_layer",
    ):
        assert required in body
    assert body["response_format"] == "dcs-v2" and body["checksum"]
    assert body["feature_gates"]["a_gate"]["rules"][0]["passPercentage"] == 100


def test_dcs_v1__server_key__arrays_with_inline_conditions(
    sdk: ContractClient, console: ContractClient, project: Bootstrap
) -> None:
    console.post("/console/v1/gates", json={"name": "a_gate", "rules": [EMAIL_RULE]})
    body = _dcs(sdk, project.server_key, version=1)
    (gate,) = body["feature_gates"]
    assert gate["name"] == "a_gate"
    assert gate["rules"][0]["conditions"][0]["operator"] == "str_contains_any"


def test_dcs__since_time_current__has_updates_false(
    sdk: ContractClient, project: Bootstrap
) -> None:
    body = _dcs(sdk, project.server_key)
    assert _dcs(sdk, project.server_key, sinceTime=body["time"]) == {"has_updates": False}
    assert _dcs(sdk, project.server_key, checksum=body["checksum"]) == {"has_updates": False}
    assert _dcs(sdk, project.server_key, sinceTime=body["time"] - 1)["has_updates"] is True


def test_dcs__console_change__next_poll_sees_it(
    sdk: ContractClient, console: ContractClient, project: Bootstrap, clock: ManualClock
) -> None:
    before = _dcs(sdk, project.server_key)
    console.post("/console/v1/gates", json={"name": "new_gate", "rules": []})
    after = _dcs(sdk, project.server_key, sinceTime=before["time"])
    assert after["has_updates"] is True and "new_gate" in after["feature_gates"]
    assert after["time"] > before["time"] and after["checksum"] != before["checksum"]


@pytest.mark.parametrize("version", [1, 2])
def test_dcs__gzip_accepted__gzip_of_the_plain_document(
    sdk: ContractClient, console: ContractClient, project: Bootstrap, version: int
) -> None:
    console.post("/console/v1/gates", json={"name": "a_gate", "rules": [EMAIL_RULE]})
    url = f"/v{version}/download_config_specs/{project.server_key}.json"
    plain, plain_body = sdk.get_raw(url, headers={"accept-encoding": "identity"})
    zipped, zipped_body = sdk.get_raw(url, headers={"accept-encoding": "gzip"})
    assert plain.status_code == zipped.status_code == 200
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped_body[:2] == b"\x1f\x8b" and zipped_body != plain_body
    document = json.loads(plain_body)
    assert document["feature_gates"] and json.loads(gzip.decompress(zipped_body)) == document
    assert zipped.headers["x-since-time"] == plain.headers["x-since-time"]


def test_dcs__key_in_header_only__accepted(sdk: ContractClient, project: Bootstrap) -> None:
    response = sdk.get("/v2/download_config_specs", headers={"STATSIG-API-KEY": project.server_key})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("key_attr", "status"), [("client_key", 403), ("console_key", 401), (None, 401)]
)
def test_dcs__wrong_key__refused_in_envelope(
    sdk: ContractClient, project: Bootstrap, key_attr: str | None, status: int
) -> None:
    key = getattr(project, key_attr) if key_attr else "secret-unknown"
    response = sdk.get(f"/v2/download_config_specs/{key}.json")
    assert response.status_code == status
    assert response.json()["status"] == status and response.json()["message"]


def test_dcs__client_key_with_dcs_scope__accepted(
    sdk: ContractClient, console: ContractClient
) -> None:
    key = console.post(
        "/console/v1/keys",
        json={
            "type": "CLIENT",
            "description": "on-device",
            "scopes": ["client_download_config_specs"],
        },
    ).json()["data"]["key"]
    assert sdk.get(f"/v2/download_config_specs/{key}.json").status_code == 200


def test_dcs__environment_scoped_key__drops_other_environment_rules(
    sdk: ContractClient, console: ContractClient
) -> None:
    key = console.post(
        "/console/v1/keys",
        json={"type": "SERVER", "description": "staging", "environments": ["staging"]},
    ).json()["data"]["key"]
    console.post(
        "/console/v1/gates",
        json={"name": "env_gate", "rules": [{**EMAIL_RULE, "environments": ["production"]}]},
    )
    assert _dcs(sdk, key)["feature_gates"]["env_gate"]["rules"] == []


def test_id_lists__large_segment__manifest_and_ranged_file(
    sdk: ContractClient, console: ContractClient, project: Bootstrap
) -> None:
    console.post("/console/v1/segments", json={"name": "big_list", "type": "id_list"})
    ids = [f"user-{i:05d}" for i in range(1500)]
    assert (
        console.patch("/console/v1/segments/big_list/id_list", json={"ids": ids}).status_code == 200
    )
    headers = {"STATSIG-API-KEY": project.server_key}
    manifest = sdk.post("/v1/get_id_lists", headers=headers).json()
    entry = manifest["big_list"]
    assert entry["size"] == 1500 * 10 and entry["url"].endswith(
        "/v1/download_id_list_file/big_list"
    )
    path = "/v1/download_id_list_file/big_list"
    whole = sdk.get(path, headers=headers)
    assert whole.status_code == 200 and len(whole.content) == entry["size"]
    assert whole.headers["content-length"] == str(entry["size"])
    tail = sdk.get(path, headers={**headers, "range": "bytes=14990-"})
    assert tail.status_code == 206 and tail.content == whole.content[14990:]
    dcs = _dcs(sdk, project.server_key)
    assert dcs["id_lists"] == {"big_list": True}
