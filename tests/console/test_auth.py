"""Console API authentication, scopes and the version and review headers."""

from __future__ import annotations

from collections.abc import Callable

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


def _wrong_secret(key: str) -> str:
    """A key with ``key``'s public id and another secret part."""
    return key[:-1] + ("A" if key[-1] != "A" else "B")


@pytest.mark.parametrize(
    ("kind", "alter"),
    [("server_key", str), ("client_key", str), ("console_key", _wrong_secret)],
)
def test_not_a_console_key__read__401_echoes_no_more_than_the_public_id(
    anonymous: ContractClient, project: Bootstrap, kind: str, alter: Callable[[str], str]
) -> None:
    sent = alter(getattr(project, kind))
    public_id = sent[: sent.index("-") + 1 + 12]  # secret-/client-/console- and 12 characters
    response = anonymous.get("/console/v1/tags", headers={"STATSIG-API-KEY": sent})
    assert response.status_code == 401
    assert response.json()["message"] == f"{INVALID_KEY_PREFIX} Key: {public_id}********"


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
