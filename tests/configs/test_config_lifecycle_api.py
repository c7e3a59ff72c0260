"""Dynamic config lifecycle (enable, disable, archive, unarchive), versions and audit entries."""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.kit.clock import ManualClock
from tests.configs.support import BASE, create, rule
from tests.contract.client import ContractClient


def _put(console: ContractClient, action: str, **kwargs: Any) -> dict[str, Any]:
    response = console.put(f"{BASE}/a_config/{action}", **kwargs)
    assert response.status_code == 200, response.text
    assert response.json()["message"] == f"Dynamic config {action}d successfully."
    return response.json()["data"]  # type: ignore[no-any-return]


def test_disable_then_enable__status_and_flag_follow(console: ContractClient) -> None:
    create(console, defaultValue={"mode": "off"}, rules=[rule("All", {"mode": "on"})])
    disabled = _put(console, "disable")
    assert disabled["isEnabled"] is False and disabled["status"] == "Disabled"
    # What a disabled config serves is its defaultValue; the rules are kept for re-enabling.
    assert disabled["defaultValue"] == {"mode": "off"} and len(disabled["rules"]) == 1
    enabled = _put(console, "enable")
    assert enabled["isEnabled"] is True and enabled["status"] == "Enabled"
    assert enabled["version"] == 3


def test_archive_then_unarchive__status_round_trips(console: ContractClient) -> None:
    create(console, isEnabled=False)
    archived = _put(console, "archive", json={"archiveReason": "unused", "forceArchive": True})
    assert archived["status"] == "Archived" and archived["isEnabled"] is False
    unarchived = _put(console, "unarchive", json={"unarchiveReason": "needed"})
    assert unarchived["status"] == "Disabled"


def test_archive__no_body__accepted(console: ContractClient) -> None:
    create(console)
    assert _put(console, "archive")["status"] == "Archived"
    assert _put(console, "unarchive")["status"] == "Enabled"


@pytest.mark.parametrize(
    ("setup", "action", "message"),
    [
        (["archive"], "enable", "is archived and cannot be enabled; unarchive it first"),
        (["archive"], "disable", "is archived and cannot be disabled; unarchive it first"),
        (["archive"], "archive", "is already archived"),
        ([], "unarchive", "is not archived"),
    ],
)
def test_lifecycle__invalid_transition__400_and_unchanged(
    console: ContractClient, setup: list[str], action: str, message: str
) -> None:
    create(console)
    for step in setup:
        _put(console, step, json={})
    before = console.get(f"{BASE}/a_config").json()["data"]
    response = console.put(f"{BASE}/a_config/{action}", json={})
    assert response.status_code == 400
    assert response.json()["message"] == (f"Invalid request. Dynamic Config 'a_config' {message}")
    assert console.get(f"{BASE}/a_config").json()["data"] == before


def test_partial_update__archived_config__stays_archived(console: ContractClient) -> None:
    create(console)
    _put(console, "archive", json={})
    data = console.patch(f"{BASE}/a_config", json={"isEnabled": False}).json()["data"]
    assert data["status"] == "Archived" and data["isEnabled"] is False
    assert _put(console, "unarchive", json={})["status"] == "Disabled"


def test_versions__one_per_change__newest_first_and_paginated(
    console: ContractClient, clock: ManualClock
) -> None:
    create(console, defaultValue={"v": 1})
    clock.advance(1000)
    console.patch(f"{BASE}/a_config", json={"defaultValue": {"v": 2}})
    rule_added = console.post(f"{BASE}/a_config/rule", json=rule("R")).json()["data"]
    console.delete(f"{BASE}/a_config/rule/{rule_added['rules'][0]['id']}")
    _put(console, "disable")
    failed = console.patch(f"{BASE}/a_config", json={"defaultValue": []})
    assert failed.status_code == 400

    response = console.get(f"{BASE}/a_config/versions")
    assert response.status_code == 200
    versions = response.json()["data"]
    assert [v["version"] for v in versions] == [5, 4, 3, 2, 1]
    assert versions[-1]["defaultValue"] == {"v": 1} and versions[-2]["defaultValue"] == {"v": 2}
    assert versions[0]["status"] == "Disabled"
    assert versions[0]["lastModifiedTime"] == versions[-1]["createdTime"] + 1000
    assert all("salt" not in v for v in versions)
    assert all("salt" not in r for r in versions[2]["rules"])
    page = console.get(f"{BASE}/a_config/versions?limit=2&page=2").json()
    assert [v["version"] for v in page["data"]] == [3, 2]
    assert page["pagination"]["totalItems"] == 5


def test_mutations__audited_with_config_action_types(console: ContractClient) -> None:
    create(console)
    console.patch(f"{BASE}/a_config", json={"description": "new"})
    _put(console, "disable")
    console.delete(f"{BASE}/a_config")
    entries = console.get("/console/v1/audit_logs", params={"id": "a_config"}).json()["data"]
    assert [e["actionType"] for e in entries] == [
        "config_delete",
        "config_state_toggle",
        "config_description_update",
        "dynamic_config_create",
    ]
