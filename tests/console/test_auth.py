"""Console API authentication, scopes and the version and review headers."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from tests.contract.client import ContractClient

INVALID_KEY_PREFIX = (
    "This endpoint only accepts an active CONSOLE key, but an invalid key was sent."
)


def test_missing_key__read__401_statsig_message(
    anonymous: ContractClient, project: Bootstrap
) -> None:
    response = anonymous.get("/console/v1/tags")
    assert response.status_code == 401
    assert response.json() == {"status": 401, "message": f"{INVALID_KEY_PREFIX} Key: "}


def test_unknown_key__read__401_echoes_masked_key(anonymous: ContractClient) -> None:
    response = anonymous.get("/console/v1/keys", headers={"STATSIG-API-KEY": "console-nope"})
    assert response.status_code == 401
    assert response.json()["message"] == f"{INVALID_KEY_PREFIX} Key: console-nope"


@pytest.mark.parametrize("kind", ["server_key", "client_key"])
def test_sdk_key__console_route__401_never_echoes_whole_secret(
    anonymous: ContractClient, project: Bootstrap, kind: str
) -> None:
    secret = getattr(project, kind)
    response = anonymous.get("/console/v1/tags", headers={"STATSIG-API-KEY": secret})
    assert response.status_code == 401
    message = response.json()["message"]
    assert message.startswith(INVALID_KEY_PREFIX)
    assert secret not in message and secret[:20] in message


def test_deactivated_console_key__read__401(console: ContractClient, project: Bootstrap) -> None:
    created = console.post(
        "/console/v1/keys",
        json={"type": "CONSOLE", "description": "temp", "scopes": ["omni_read_only"]},
    ).json()["data"]
    assert console.patch(f"/console/v1/keys/{created['id']}/deactivate").status_code == 200
    response = console.get("/console/v1/tags", headers={"STATSIG-API-KEY": created["key"]})
    assert response.status_code == 401


def test_read_only_key__mutation__403_and_nothing_changes(
    console: ContractClient, app: FastAPI
) -> None:
    read_only = console.post(
        "/console/v1/keys",
        json={"type": "CONSOLE", "description": "ro", "scopes": ["omni_read_only"]},
    ).json()["data"]["key"]
    with ContractClient(app, read_only) as client:
        assert client.get("/console/v1/tags").status_code == 200
        response = client.post("/console/v1/tags", json={"name": "t", "description": "d"})
        assert response.status_code == 403
        assert response.json() == {"status": 403, "message": "Forbidden resource"}
    assert console.get("/console/v1/tags").json()["data"] == []


def test_key_without_key_access_scope__keys_route__403(
    console: ContractClient, app: FastAPI
) -> None:
    plain = console.post(
        "/console/v1/keys",
        json={"type": "CONSOLE", "description": "rw", "scopes": ["omni_read_write"]},
    ).json()["data"]["key"]
    with ContractClient(app, plain) as client:
        assert client.get("/console/v1/keys").status_code == 403
        assert client.get("/console/v1/tags").status_code == 200


def test_version_header__supported__accepted(console: ContractClient) -> None:
    response = console.get("/console/v1/tags", headers={"STATSIG-API-VERSION": "20240601"})
    assert response.status_code == 200


def test_version_header__unsupported__400_names_supported_version(console: ContractClient) -> None:
    response = console.get("/console/v1/tags", headers={"STATSIG-API-VERSION": "20990101"})
    assert response.status_code == 400
    assert "20240601" in response.json()["message"]


@pytest.mark.parametrize("method", ["get", "post"])
def test_review_header__any_route__accepted(console: ContractClient, method: str) -> None:
    headers = {"x-respect-review-settings": "true"}
    if method == "get":
        response = console.get("/console/v1/tags", headers=headers)
    else:
        response = console.post(
            "/console/v1/tags", json={"name": "reviewed", "description": ""}, headers=headers
        )
    assert response.status_code == 200
