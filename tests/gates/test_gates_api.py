"""Gates: create, read, list with filters, full and partial update, delete, versions."""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.kit.clock import ManualClock
from tests.contract.client import ContractClient
from tests.gates.support import GATES, create_gate, error, rule
from tests.users.support import team_body


def test_create_gate__name_only__defaults_as_statsig_shows(console: ContractClient) -> None:
    response = console.post(GATES, json={"name": "A Gate"})
    assert response.status_code == 201
    body = response.json()
    assert body["message"] == "Gate created successfully."
    gate = body["data"]
    assert gate["id"] == "a_gate" and gate["name"] == "A Gate"
    assert gate["status"] == "In Progress" and gate["isEnabled"] is True
    assert gate["type"] == "TEMPORARY" and gate["typeReason"] == "NONE"
    assert gate["idType"] == "userID" and gate["description"] == ""
    assert gate["checksPerHour"] is None and gate["holdoutIDs"] == []
    assert gate["rules"] == [] and gate["tags"] == [] and gate["version"] == 1
    assert gate["creatorName"] == "CONSOLE API" and gate["lastModifierName"] == "CONSOLE API"
    assert "overrides" not in gate
    read = console.get(f"{GATES}/a_gate")
    assert read.json() == {"message": "Gate read successfully.", "data": gate}


def test_create_gate__every_field__stored_and_read_back(console: ContractClient) -> None:
    console.post("/console/v1/tags", json={"name": "checkout", "description": ""})
    web = console.post("/console/v1/target_app", json={"name": "web", "description": ""})
    team = console.post("/console/v1/users/teams", json=team_body("payments")).json()["data"]
    gate = create_gate(
        console,
        "Checkout v2",
        id="checkout.v2",
        description="new checkout",
        type="PERMANENT",
        idType="stableID",
        tags=["CHECKOUT"],
        targetApps="web",
        team="payments",
        measureMetricLifts=False,
        monitoringMetrics=[{"name": "purchase", "type": "event_count"}],
        reviewSettings={"requiredReview": True},
        releasePipelineID="rp1",
        rules=[
            rule(
                "Employees",
                50,
                {"type": "email", "operator": "str_contains_any", "targetValue": ["@acme.com"]},
            )
        ],
    )
    assert gate["id"] == "checkout.v2" and gate["type"] == "PERMANENT"
    assert gate["team"] == "payments" and gate["teamID"] == team["id"]
    assert gate["tags"] == ["checkout"] and gate["targetApps"] == [web.json()["data"]["id"]]
    assert gate["monitoringMetrics"] == [{"name": "purchase", "type": "event_count"}]
    assert gate["reviewSettings"]["requiredReview"] is True
    assert gate["releasePipelineID"] == "rp1" and gate["measureMetricLifts"] is False
    stored = gate["rules"][0]
    assert stored["name"] == "Employees" and stored["passPercentage"] == 50
    assert stored["id"] == stored["baseID"] and "salt" not in stored
    assert stored["conditions"] == [
        {"type": "email", "operator": "str_contains_any", "targetValue": ["@acme.com"]}
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Invalid request. name: is required"),
        ({"name": "ab"}, "Invalid request. name: must be 3 to 100 characters, got 2"),
        ({"name": "bad/name"}, "Invalid request. name: 'bad/name' may contain only"),
        ({"name": "Good", "id": "bad id"}, "Invalid request. id: 'bad id' may contain only"),
        ({"name": "Tagged", "tags": ["nope"]}, "Invalid request. tags: tag 'nope' does not exist"),
        ({"name": "Typed", "type": "STALE"}, "Invalid request. type:"),
        ({"name": "Described", "description": "x" * 1001}, "Invalid request. description:"),
    ],
)
def test_create_gate__bad_input__400_with_message(
    console: ContractClient, body: dict[str, Any], message: str
) -> None:
    assert error(console.post(GATES, json=body)).startswith(message)
    assert console.get(GATES).json()["pagination"]["totalItems"] == 0


def test_create_gate__same_name_twice__name_in_use(console: ContractClient) -> None:
    create_gate(console, "A Gate")
    response = console.post(GATES, json={"name": "a gate"})
    assert response.json() == {"status": 400, "message": "Name is already in use"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("PUT", "/launch"),
        ("GET", "/versions"),
        ("GET", "/rules"),
        ("GET", "/overrides"),
        ("GET", "/gate_references"),
    ],
)
def test_gate_routes__unknown_gate__404_generic(
    console: ContractClient, method: str, path: str
) -> None:
    kwargs: dict[str, Any] = {} if method in ("GET", "DELETE", "PUT") else {"json": {}}
    response = console.request(method, f"{GATES}/nope{path}", **kwargs)
    assert response.json() == {
        "status": 404,
        "message": "Not Found. The requested resource could not be found.",
    }


def test_full_update__required_fields_missing__400_naming_them(console: ContractClient) -> None:
    create_gate(console, "A Gate")
    message = error(console.post(f"{GATES}/a_gate", json={"description": "d"}))
    assert "isEnabled: is required" in message and "rules: is required" in message


def test_full_update__replaces_rules_and_keeps_rule_ids_it_names(
    console: ContractClient,
) -> None:
    gate = create_gate(console, "A Gate", rules=[rule("one"), rule("two", 20)])
    one = gate["rules"][0]
    body = {
        "isEnabled": True,
        "description": "replaced",
        "rules": [{**rule("one renamed", 100), "id": one["id"]}, rule("three", 0)],
    }
    response = console.post(f"{GATES}/a_gate", json=body)
    assert response.status_code == 200
    updated = response.json()["data"]
    assert [r["name"] for r in updated["rules"]] == ["one renamed", "three"]
    assert updated["rules"][0]["id"] == one["id"] and updated["description"] == "replaced"
    assert updated["version"] == 2


def test_partial_update__only_given_fields_change(console: ContractClient) -> None:
    create_gate(console, "A Gate", description="keep", rules=[rule("r")])
    response = console.patch(
        f"{GATES}/a_gate", json={"name": "A Gate Renamed", "type": "PERMANENT"}
    )
    assert response.json()["message"] == "Gate updated successfully."
    gate = response.json()["data"]
    assert gate["name"] == "A Gate Renamed" and gate["id"] == "a_gate"
    assert gate["type"] == "PERMANENT" and gate["description"] == "keep"
    assert [r["name"] for r in gate["rules"]] == ["r"]


@pytest.mark.parametrize(("enabled", "status"), [(False, "Disabled"), (True, "In Progress")])
def test_partial_update__is_enabled__moves_status(
    console: ContractClient, enabled: bool, status: str
) -> None:
    create_gate(console, "A Gate", isEnabled=not enabled)
    gate = console.patch(f"{GATES}/a_gate", json={"isEnabled": enabled}).json()["data"]
    assert gate["isEnabled"] is enabled and gate["status"] == status


def test_delete_gate__gone_with_its_versions(console: ContractClient) -> None:
    create_gate(console, "A Gate")
    response = console.delete(f"{GATES}/a_gate")
    assert response.json() == {"message": "Gate deleted successfully."}
    assert console.get(f"{GATES}/a_gate").status_code == 404
    create_gate(console, "A Gate")
    assert console.get(f"{GATES}/a_gate/versions").json()["pagination"]["totalItems"] == 1


def test_versions__one_per_change__newest_first_paginated(console: ContractClient) -> None:
    create_gate(console, "A Gate")
    console.patch(f"{GATES}/a_gate", json={"description": "two"})
    console.put(f"{GATES}/a_gate/launch")
    first = console.get(f"{GATES}/a_gate/versions", params={"limit": 2}).json()
    assert [v["version"] for v in first["data"]] == [3, 2]
    assert first["data"][0]["status"] == "Launched" and first["data"][1]["description"] == "two"
    assert first["pagination"]["totalItems"] == 3 and first["pagination"]["nextPage"]
    second = console.get(f"{GATES}/a_gate/versions", params={"limit": 2, "page": 2}).json()
    assert [v["version"] for v in second["data"]] == [1]


def test_changes__audited_with_gate_actions(console: ContractClient) -> None:
    create_gate(console, "A Gate")
    console.patch(f"{GATES}/a_gate", json={"description": "two"})
    logs = console.get("/console/v1/audit_logs", params={"id": "a_gate"}).json()["data"]
    assert [e["actionType"] for e in logs] == ["gate_update", "gate_create"]
    assert logs[0]["changes"]["description"] == {"old": "", "new": "two"}


def _listed(console: ContractClient, **params: Any) -> list[str]:
    response = console.get(GATES, params=params)
    assert response.status_code == 200, response.text
    return [g["id"] for g in response.json()["data"]]


@pytest.mark.usefixtures("company_id_type")
def test_list_gates__each_filter__selects_matching(
    console: ContractClient, clock: ManualClock
) -> None:
    for tag in ("alpha", "beta"):
        console.post("/console/v1/tags", json={"name": tag, "description": ""})
    create_gate(console, "plain", rules=[rule("half", 50)])
    clock.advance(1)
    create_gate(
        console, "stable", idType="stableID", tags=["alpha"], type="PERMANENT", rules=[rule("all")]
    )
    clock.advance(1)
    create_gate(
        console,
        "company",
        idType="companyID",
        tags=["beta"],
        releasePipelineID="rp",
        rules=[rule("none", 0)],
    )
    assert _listed(console) == ["plain", "stable", "company"]
    assert _listed(console, idType="stableID") == ["stable"]
    assert _listed(console, idType=["stableID", "companyID"]) == ["stable", "company"]
    assert _listed(console, type="PERMANENT") == ["stable"]
    assert _listed(console, typeReason="NONE") == ["plain", "stable", "company"]
    assert _listed(console, typeReason="STALE_NO_RULES") == []
    assert _listed(console, tags=["alpha", "beta"]) == ["stable", "company"]
    assert _listed(console, releasePipelineID="rp") == ["company"]
    assert _listed(console, rolloutRate="100") == ["stable"]
    assert _listed(console, rolloutRate=["0", "INBETWEEN"]) == ["plain", "company"]
    assert _listed(console, passRate="0") == ["company"]
    assert _listed(console, creatorName="CONSOLE API") == ["plain", "stable", "company"]
    assert _listed(console, creatorID="someone else") == []
    page = console.get(GATES, params={"limit": 1, "page": 2, "idType": "userID"}).json()
    assert [g["id"] for g in page["data"]] == [] and page["pagination"]["totalItems"] == 1
    paged = console.get(GATES, params={"limit": 2, "page": 2}).json()
    assert [g["id"] for g in paged["data"]] == ["company"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"type": "BIG"}, "Invalid request. type: 'BIG' is not one of"),
        ({"typeReason": "OLD"}, "Invalid request. typeReason: 'OLD' is not one of"),
        ({"passRate": "50"}, "Invalid request. passRate: '50' is not one of"),
        ({"rolloutRate": "x"}, "Invalid request. rolloutRate: 'x' is not one of"),
        ({"limit": "0"}, "Invalid request. limit: must be at least 1"),
    ],
)
def test_list_gates__bad_filter__400(
    console: ContractClient, params: dict[str, str], message: str
) -> None:
    assert error(console.get(GATES, params=params)).startswith(message)
