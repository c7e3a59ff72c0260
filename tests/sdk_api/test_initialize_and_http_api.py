"""``/v1/initialize`` and the HTTP evaluation API: hashing, derived fields, errors, exposures."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from lockgate.cores.evaluation.hashing import djb2
from lockgate.domains.events.incoming import settle
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.models import Exposure
from tests.contract.client import ContractClient

COUNTRY_RULE = {
    "name": "britain",
    "passPercentage": 100,
    "conditions": [{"type": "country", "operator": "any", "targetValue": ["GB"]}],
}


@pytest.fixture()
def settings(base_settings: Settings) -> Settings:
    # The in-process client connects from 127.0.0.1: trust it as a proxy so that the tests'
    # X-Forwarded-For header gives the client's address (docs/operations.md §Behind a proxy).
    return base_settings.model_copy(update={"trusted_proxies": "127.0.0.1"})


@pytest.fixture()
def sdk(app: FastAPI) -> Any:
    with ContractClient(app) as client:
        yield client


@pytest.fixture()
def gate(console: ContractClient) -> str:
    console.post("/console/v1/gates", json={"name": "uk_only", "rules": [COUNTRY_RULE]})
    console.post(
        "/console/v1/dynamic_configs",
        json={"name": "banner", "defaultValue": {"text": "hello"}, "rules": []},
    )
    return "uk_only"


@pytest.mark.usefixtures("none_hash_scope")
@pytest.mark.parametrize(
    ("hash_name", "key_of"),
    [("none", lambda n: n), ("djb2", djb2), ("sha256", None)],
)
def test_initialize__hash_choice__names_hashed(
    sdk: ContractClient, project: Bootstrap, gate: str, hash_name: str, key_of: Any
) -> None:
    response = sdk.post(
        f"/v1/initialize?k={project.client_key}", json={"user": {"userID": "u"}, "hash": hash_name}
    )
    body = response.json()
    assert response.status_code == 200 and body["hash_used"] == hash_name
    assert body["has_updates"] is True and len(body["feature_gates"]) == 1
    if key_of is not None:
        assert key_of(gate) in body["feature_gates"]
    assert body["hashed_sdk_key_used"] == djb2(project.client_key)


def test_initialize__hash_none_without_scope__default_hash_used(
    sdk: ContractClient, project: Bootstrap, gate: str
) -> None:
    response = sdk.post(
        f"/v1/initialize?k={project.client_key}", json={"user": {"userID": "u"}, "hash": "none"}
    )
    body = response.json()
    assert response.status_code == 200 and body["hash_used"] == "djb2"
    assert list(body["feature_gates"]) == [djb2(gate)]


def test_initialize__hash_none_with_server_key__plain_names(
    sdk: ContractClient, project: Bootstrap, gate: str
) -> None:
    # A server secret is never public, so it needs no scope to see names.
    body = sdk.post(
        "/v1/initialize",
        json={"user": {"userID": "u"}, "hash": "none"},
        headers={"STATSIG-API-KEY": project.server_key},
    ).json()
    assert body["hash_used"] == "none" and list(body["feature_gates"]) == [gate]


@pytest.mark.usefixtures("none_hash_scope")
def test_initialize__ip_from_request__country_derived(
    sdk: ContractClient, project: Bootstrap, gate: str
) -> None:
    response = sdk.post(
        f"/v1/initialize?k={project.client_key}",
        json={"user": {"userID": "u"}, "hash": "none"},
        headers={"x-forwarded-for": "81.2.69.160", "user-agent": "Mozilla/5.0 test"},
    )
    body = response.json()
    assert body["derived_fields"] == {
        "ip": "81.2.69.160",
        "user_agent": "Mozilla/5.0 test",
        "country": "GB",
    }
    assert body["feature_gates"][gate]["value"] is True


@pytest.mark.usefixtures("none_hash_scope")
def test_initialize__user_country_given__not_overridden(
    sdk: ContractClient, project: Bootstrap, gate: str
) -> None:
    body = sdk.post(
        f"/v1/initialize?k={project.client_key}",
        json={"user": {"userID": "u", "country": "US"}, "hash": "none"},
        headers={"x-forwarded-for": "81.2.69.160"},
    ).json()
    assert body["feature_gates"][gate]["value"] is False and "country" not in body["derived_fields"]


@pytest.mark.usefixtures("none_hash_scope")
def test_initialize__browser_encoded_body__decoded(
    sdk: ContractClient, project: Bootstrap, gate: str
) -> None:
    raw = json.dumps({"user": {"userID": "u", "country": "GB"}, "hash": "none"})
    encoded = base64.b64encode(raw.encode()).decode()[::-1]
    body = sdk.post(f"/v1/initialize?k={project.client_key}&se=1", content=encoded).json()
    assert body["feature_gates"][gate]["value"] is True


def test_initialize__stable_id_in_metadata__becomes_custom_id(
    sdk: ContractClient, project: Bootstrap, gate: str
) -> None:
    body = sdk.post(
        f"/v1/initialize?k={project.client_key}",
        json={"user": {"userID": "u"}, "hash": "none", "statsigMetadata": {"stableID": "st-1"}},
    ).json()
    assert body["evaluated_keys"]["customIDs"] == {"stableID": "st-1"}


@pytest.mark.parametrize(
    ("query", "body", "status"),
    [
        ("", {"user": {}}, 401),
        ("?k=client-nope", {"user": {}}, 401),
        ("?k={client}", {"user": {}, "hash": "md5"}, 400),
        ("?k={client}", {"user": "bob"}, 400),
        ("?k={console}", {"user": {}}, 401),
    ],
)
def test_initialize__bad_request__error_envelope(
    sdk: ContractClient, project: Bootstrap, query: str, body: dict[str, Any], status: int
) -> None:
    url = "/v1/initialize" + query.format(client=project.client_key, console=project.console_key)
    response = sdk.post(url, json=body)
    assert response.status_code == status and response.json()["status"] == status


def test_check_gate__single_and_many__shapes_and_exposures(
    sdk: ContractClient, project: Bootstrap, gate: str, db: Database
) -> None:
    headers = {"STATSIG-API-KEY": project.server_key}
    user = {"userID": "u1", "country": "GB"}
    one = sdk.post("/v1/check_gate", json={"gateName": gate, "user": user}, headers=headers).json()
    assert one["name"] == gate and one["value"] is True and one["rule_id"]
    many = sdk.post(
        "/v1/check_gate", json={"gateNames": [gate, "missing_gate"], "user": user}, headers=headers
    ).json()
    assert many["missing_gate"] == {
        "name": "missing_gate",
        "value": False,
        "rule_id": None,
        "group_name": None,
    }
    settle(db)  # acknowledged events reach the indexed tables
    with db.transaction(write=False) as session:
        exposures = session.scalars(select(Exposure).where(Exposure.name == gate)).all()
    assert len(exposures) == 2 and exposures[0].user_id == "u1" and exposures[0].value == "true"


def test_get_config__default__value_and_exposure(
    sdk: ContractClient, project: Bootstrap, gate: str
) -> None:
    body = sdk.post(
        "/v1/get_config",
        json={"configName": "banner", "user": {"userID": "u"}},
        headers={"STATSIG-API-KEY": project.server_key},
    ).json()
    assert body == {
        "name": "banner",
        "value": {"text": "hello"},
        "group": "default",
        "rule_id": "default",
        "group_name": None,
    }


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/v1/check_gate", {"user": {}}, 400),
        ("/v1/check_gate", {"gateNames": [], "user": {}}, 400),
        ("/v1/get_config", {"user": {}}, 400),
        ("/v1/get_layer", {"layerName": "nope", "user": {}}, 404),
    ],
)
def test_http_api__bad_request__error_envelope(
    sdk: ContractClient, project: Bootstrap, path: str, body: dict[str, Any], status: int
) -> None:
    response = sdk.post(path, json=body, headers={"STATSIG-API-KEY": project.server_key})
    assert response.status_code == status and response.json()["status"] == status


@pytest.mark.parametrize("field", ["ip", "userID", "country"])
@pytest.mark.parametrize("path", ["/v1/check_gate", "/v1/initialize"])
def test_sdk_api__user_text_field_as_list__400_naming_it(
    sdk: ContractClient, project: Bootstrap, gate: str, path: str, field: str
) -> None:
    user = {"userID": "u", field: [None, None]}
    response = sdk.post(
        path,
        json={"gateName": gate, "user": user},
        headers={"STATSIG-API-KEY": project.server_key if "check" in path else project.client_key},
    )
    assert response.status_code == 400
    assert f"user.{field}" in response.json()["message"]
