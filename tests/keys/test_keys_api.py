"""The Keys resource: all seven operations, scopes, secrets shown once, rotation."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from tests.contract.client import ContractClient


def _create(console: ContractClient, **body: Any) -> dict[str, Any]:
    response = console.post("/console/v1/keys", json={"description": "k", **body})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("key_type", "prefix"), [("SERVER", "secret-"), ("CLIENT", "client-"), ("CONSOLE", "console-")]
)
def test_create_key__each_type__secret_shown_once(
    console: ContractClient, key_type: str, prefix: str
) -> None:
    data = _create(console, type=key_type)
    assert data["key"].startswith(prefix) and data["id"].startswith(prefix)
    assert data["status"] == "active" and data["type"] == key_type
    listed = {k["id"]: k for k in console.get("/console/v1/keys").json()["data"]}
    assert listed[data["id"]]["key"] is None
    assert console.get(f"/console/v1/keys/{data['id']}").json()["data"]["key"] is None


def test_create_console_key__no_access_scope__defaults_to_read_only(
    console: ContractClient,
) -> None:
    assert _create(console, type="CONSOLE")["scopes"] == ["omni_read_only"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"type": "SERVER", "scopes": ["omni_read_write"]}, "does not apply to SERVER"),
        ({"type": "CLIENT", "scopes": ["can_access_keys"]}, "does not apply to CLIENT"),
        ({"type": "CONSOLE", "scopes": ["omni_read_only", "omni_read_write"]}, "takes one of"),
        ({"type": "SCIM"}, "does not issue SCIM"),
        ({"type": "PLATINUM"}, "type"),
        ({"type": "SERVER", "scopes": ["fly"]}, "scopes.0"),
        ({"type": "SERVER", "description": "x" * 1001}, "description"),
    ],
)
def test_create_key__bad_input__400_and_nothing_created(
    console: ContractClient, body: dict[str, Any], needle: str
) -> None:
    before = console.get("/console/v1/keys").json()["pagination"]["totalItems"]
    response = console.post("/console/v1/keys", json={"description": "k", **body})
    assert response.status_code == 400
    assert needle in response.json()["message"]
    assert console.get("/console/v1/keys").json()["pagination"]["totalItems"] == before


def test_read_key__by_full_secret__found(console: ContractClient) -> None:
    data = _create(console, type="SERVER")
    assert console.get(f"/console/v1/keys/{data['key']}").json()["data"]["id"] == data["id"]


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("patch", ""), ("delete", ""), ("patch", "/deactivate"), ("patch", "/rotate")],
)
def test_key_operation__unknown_key__404_key_not_found(
    console: ContractClient, method: str, suffix: str
) -> None:
    kwargs: dict[str, Any] = {"json": {}} if method == "patch" and not suffix else {}
    response = getattr(console, method)(f"/console/v1/keys/secret-missing{suffix}", **kwargs)
    assert response.status_code == 404
    assert response.json() == {"status": 404, "message": "Key not found."}


def test_update_key__fields__changed_and_audited(console: ContractClient) -> None:
    web = console.post("/console/v1/target_app", json={"name": "web", "description": ""})
    data = _create(console, type="CLIENT")
    response = console.patch(
        f"/console/v1/keys/{data['id']}",
        json={
            "description": "web",
            "scopes": ["client_download_config_specs"],
            "environments": ["staging"],
            "targetAppID": "web",
        },
    )
    updated = response.json()["data"]
    assert updated["description"] == "web"
    assert updated["scopes"] == ["client_download_config_specs"]
    assert updated["environments"] == ["staging"]
    assert updated["primaryTargetApp"] == web.json()["data"]["id"]
    entry = console.get("/console/v1/audit_logs", params={"id": data["id"]}).json()["data"][0]
    assert entry["changes"]["description"] == {"old": "k", "new": "web"}


def test_list_keys__filters__environment_and_target_app(console: ContractClient) -> None:
    console.post("/console/v1/target_app", json={"name": "web", "description": ""})
    staging = _create(console, type="SERVER", environments=["staging"], targetAppID="web")
    _create(console, type="SERVER", environments=["production"])
    ids = [k["id"] for k in console.get("/console/v1/keys?environment=staging").json()["data"]]
    assert ids == [staging["id"]]
    ids = [k["id"] for k in console.get("/console/v1/keys?primaryTargetApp=web").json()["data"]]
    assert ids == [staging["id"]]


def test_rotate_key__old_secret__stops_working(console: ContractClient, app: FastAPI) -> None:
    old = _create(console, type="CONSOLE", scopes=["omni_read_only"])
    rotated = console.patch(f"/console/v1/keys/{old['id']}/rotate").json()["data"]
    assert rotated["id"] == old["id"] and rotated["key"] != old["key"]
    with ContractClient(app) as client:
        assert (
            client.get("/console/v1/tags", headers={"STATSIG-API-KEY": old["key"]}).status_code
            == 401
        )
        assert (
            client.get("/console/v1/tags", headers={"STATSIG-API-KEY": rotated["key"]}).status_code
            == 200
        )


def test_deactivate_key__status__deactivated(console: ContractClient) -> None:
    data = _create(console, type="SERVER")
    response = console.patch(f"/console/v1/keys/{data['id']}/deactivate")
    assert response.json()["message"] == "Key deactivated successfully."
    assert console.get(f"/console/v1/keys/{data['id']}").json()["data"]["status"] == "deactivated"


def test_delete_key__then_read__404(console: ContractClient) -> None:
    data = _create(console, type="SERVER")
    assert console.delete(f"/console/v1/keys/{data['id']}").json() == {
        "message": "Key deleted successfully."
    }
    assert console.get(f"/console/v1/keys/{data['id']}").status_code == 404


def test_keys__bootstrap__one_of_each_kind(console: ContractClient, project: Bootstrap) -> None:
    kinds = sorted(k["type"] for k in console.get("/console/v1/keys").json()["data"])
    assert kinds == ["CLIENT", "CONSOLE", "SERVER"]
