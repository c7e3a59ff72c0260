"""The Unit ID Types resource: lifecycle, reserved built-ins, validation wherever a type is named,
and types in use kept."""

from __future__ import annotations

from typing import Any

import pytest

from tests.autotunes.support import BODY as AUTOTUNE_BODY
from tests.contract.client import ContractClient

BASE = "/console/v1/unit_id_types"


def _error(response: Any, status: int = 400) -> str:
    assert response.status_code == status, response.text
    assert response.json()["status"] == status
    return response.json()["message"]  # type: ignore[no-any-return]


def _actions(console: ContractClient, name: str) -> list[str]:
    response = console.get("/console/v1/audit_logs", params={"id": name})
    assert response.status_code == 200, response.text
    return [entry["actionType"] for entry in response.json()["data"]]


def test_unit_id_type_lifecycle__create_read_update_list_delete__audited(
    console: ContractClient,
) -> None:
    assert console.get(BASE).json()["data"] == []
    created = console.post(BASE, json={"name": "companyID", "description": "The company"})
    assert created.status_code == 201
    assert created.json() == {
        "message": "Unit ID Type created successfully.",
        "data": {"name": "companyID", "description": "The company"},
    }
    read = console.get(f"{BASE}/companyID").json()
    assert read == {
        "message": "Unit ID Type read successfully.",
        "data": {"name": "companyID", "description": "The company"},
    }
    updated = console.patch(f"{BASE}/companyID", json={"description": "Paying company"})
    assert updated.status_code == 200
    assert updated.json()["data"] == {"name": "companyID", "description": "Paying company"}
    listed = console.get(BASE).json()
    assert listed["message"] == "Unit ID Types listed successfully."
    assert listed["data"] == [{"name": "companyID", "description": "Paying company"}]
    assert listed["pagination"]["totalItems"] == 1
    assert console.delete(f"{BASE}/companyID").json() == {
        "message": "Unit ID Type deleted successfully."
    }
    assert console.get(f"{BASE}/companyID").status_code == 404
    assert sorted(_actions(console, "companyID")) == [
        "company_ID_type_add",
        "company_ID_type_delete",
        "company_ID_type_edit",
    ]


def test_list_unit_id_types__pages__limit_and_page_honoured(console: ContractClient) -> None:
    for name in ("aID", "bID", "cID"):
        assert console.post(BASE, json={"name": name}).status_code == 201
    page = console.get(BASE, params={"limit": 2, "page": 2}).json()
    assert [t["name"] for t in page["data"]] == ["cID"]
    assert page["pagination"]["totalItems"] == 3


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("userID", "is a built-in unit id type"),
        ("STABLEID", "is a built-in unit id type"),
        ("", "must be 1 to 100 letters"),
        ("company id", "must be 1 to 100 letters"),
        ("x" * 101, "must be 1 to 100 letters"),
    ],
)
def test_create_unit_id_type__reserved_or_invalid_name__400(
    console: ContractClient, name: str, message: str
) -> None:
    assert message in _error(console.post(BASE, json={"name": name}))
    assert console.get(BASE).json()["data"] == []


def test_create_unit_id_type__duplicate_any_case__400_name_in_use(
    console: ContractClient,
) -> None:
    assert console.post(BASE, json={"name": "companyID"}).status_code == 201
    assert _error(console.post(BASE, json={"name": "CompanyId"})) == "Name is already in use"


@pytest.mark.parametrize("method", ["PATCH", "DELETE", "GET"])
def test_unit_id_type_routes__built_in__400(console: ContractClient, method: str) -> None:
    response = console.request(method, f"{BASE}/userID", json={"description": "x"})
    assert "built-in" in _error(response)


@pytest.mark.parametrize("method", ["PATCH", "DELETE", "GET"])
def test_unit_id_type_routes__unknown__404(console: ContractClient, method: str) -> None:
    response = console.request(method, f"{BASE}/orgID", json={"description": "x"})
    assert _error(response, 404) == "Unit ID Type not found."


def test_update_unit_id_type__no_description__400(console: ContractClient) -> None:
    console.post(BASE, json={"name": "companyID"})
    assert console.patch(f"{BASE}/companyID", json={}).status_code == 400


_UNIT_ID_RULE = {
    "name": "companies",
    "passPercentage": 100,
    "conditions": [
        {"type": "unit_id", "customID": "companyID", "operator": "any", "targetValue": ["c1"]}
    ],
}
# (path, body, success status) naming companyID in each place an id type is validated.
NAMING_COMPANY_ID: list[tuple[str, dict[str, Any], int]] = [
    ("/console/v1/gates", {"name": "company gate", "idType": "companyID"}, 201),
    ("/console/v1/gates", {"name": "rule gate", "rules": [_UNIT_ID_RULE]}, 201),
    ("/console/v1/dynamic_configs", {"name": "company config", "idType": "companyID"}, 201),
    ("/console/v1/experiments", {"name": "company exp", "idType": "companyID"}, 201),
    (
        "/console/v1/experiments",
        {"name": "secondary exp", "secondaryIDType": "companyID"},
        201,
    ),
    ("/console/v1/layers", {"name": "company layer", "idType": "companyID"}, 201),
    ("/console/v1/holdouts", {"name": "company holdout", "idType": "companyID"}, 200),
    ("/console/v1/autotunes", {**AUTOTUNE_BODY, "idType": "companyID"}, 201),
    (
        "/console/v1/segments",
        {"name": "company list", "type": "id_list", "idType": "companyID"},
        201,
    ),
    (
        "/console/v1/metrics",
        {
            "name": "Orders",
            "type": "event_count_custom",
            "metricEvents": [{"name": "order"}],
            "unitTypes": ["userID", "companyID"],
        },
        201,
    ),
]


@pytest.mark.parametrize(("path", "body", "status"), NAMING_COMPANY_ID)
def test_entity_write__undefined_unit_id_type__400_then_accepted_once_defined(
    console: ContractClient, path: str, body: dict[str, Any], status: int
) -> None:
    message = _error(console.post(path, json=body))
    assert "unknown unit id type 'companyID'" in message
    assert console.post(BASE, json={"name": "companyID"}).status_code == 201
    created = console.post(path, json=body)
    assert created.status_code == status, created.text


def test_gate_overrides__undefined_custom_id_type__400(console: ContractClient) -> None:
    assert console.post("/console/v1/gates", json={"name": "a gate"}).status_code == 201
    override = {"environment": None, "unitID": "deviceID", "passingIDs": ["d1"], "failingIDs": []}
    body = {"environmentOverrides": [override]}
    path = "/console/v1/gates/a_gate/overrides"
    assert "unknown unit id type 'deviceID'" in _error(console.post(path, json=body))
    console.post(BASE, json={"name": "deviceID"})
    assert console.post(path, json=body).status_code == 201


def test_entity_write__custom_type_other_case__accepted(console: ContractClient) -> None:
    console.post(BASE, json={"name": "companyID"})
    response = console.post("/console/v1/gates", json={"name": "g one", "idType": "companyid"})
    assert response.status_code == 201, response.text


def test_delete_unit_id_type__in_use__400_names_users_until_unused(
    console: ContractClient,
) -> None:
    console.post(BASE, json={"name": "companyID"})
    console.post("/console/v1/gates", json={"name": "rule gate", "rules": [_UNIT_ID_RULE]})
    message = _error(console.delete(f"{BASE}/companyID"))
    assert message.endswith("unit id type 'companyID' is used by gate rule_gate")
    assert console.get(f"{BASE}/companyID").status_code == 200
    assert console.delete("/console/v1/gates/rule_gate").status_code == 200
    assert console.delete(f"{BASE}/companyID").status_code == 200


def test_config_value__idType_key_inside_value__not_a_reference(console: ContractClient) -> None:
    body = {"name": "valued config", "defaultValue": {"idType": "anything"}}
    response = console.post("/console/v1/dynamic_configs", json=body)
    assert response.status_code == 201, response.text
