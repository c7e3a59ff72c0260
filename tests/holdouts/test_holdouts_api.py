"""The Holdouts resource: create, read, list, full and partial updates, delete, overrides and
Pulse results; every bad input is a precise 400 that changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from tests.contract.client import ContractClient
from tests.holdouts.support import (
    FULL_UPDATE,
    HOLDOUTS,
    create_gate,
    create_holdout,
    error,
    patch_holdout,
    store_entity,
)
from tests.users.support import team_body


def test_create__name_only__200_with_statsig_defaults(console: ContractClient) -> None:
    response = console.post(HOLDOUTS, json={"name": "a holdout", "description": "why"})
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Holdout created successfully."
    data = body["data"]
    assert {k: data[k] for k in ("id", "name", "description", "idType", "version")} == {
        "id": "a_holdout",
        "name": "a holdout",
        "description": "why",
        "idType": "userID",
        "version": 1,
    }
    assert data["isEnabled"] is True and data["isGlobal"] is False
    assert data["passPercentage"] == 0 and data["targetingGateID"] is None
    assert data["gateIDs"] == data["experimentIDs"] == data["layerIDs"] == []
    assert data["creatorName"] == "CONSOLE API"
    assert not {"salt", "referenceID", "overrides", "attachedTimes"} & set(data)


@pytest.mark.usefixtures("company_id_type")
def test_create__id_type_and_team__kept(console: ContractClient) -> None:
    team = console.post("/console/v1/users/teams", json=team_body("t1")).json()["data"]
    data = create_holdout(console, "company holdout", idType="companyID", teamID=team["id"])
    assert data["idType"] == "companyID" and data["teamID"] == team["id"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Invalid request. name: is required"),
        ({"name": "ab"}, "Invalid request. name: must be 3 to 100 characters, got 2"),
        ({"name": "a.holdout"}, "Invalid request. name: 'a.holdout' may contain only"),
        ({"name": "ok name", "description": "x" * 1001}, "Invalid request. description:"),
        ({"name": "ok name", "idType": ""}, "Invalid request. idType:"),
    ],
)
def test_create__bad_body__400(console: ContractClient, body: dict[str, Any], message: str) -> None:
    assert error(console.post(HOLDOUTS, json=body)).startswith(message)
    assert console.get(HOLDOUTS).json()["data"] == []


@pytest.mark.parametrize("existing", ["holdout", "gate"])
def test_create__id_taken_in_feature_gates__name_in_use(
    console: ContractClient, existing: str
) -> None:
    if existing == "holdout":
        create_holdout(console, "shared name")
    else:
        create_gate(console, "shared name")
    assert error(console.post(HOLDOUTS, json={"name": "Shared Name"})) == "Name is already in use"


def test_read__unknown__404_holdout_not_found(console: ContractClient) -> None:
    assert error(console.get(f"{HOLDOUTS}/ghost"), 404) == "Holdout not found."


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("POST", "", FULL_UPDATE),
        ("PATCH", "", {}),
        ("DELETE", "", None),
        ("GET", "/overrides", None),
        ("POST", "/overrides", {"passingUserIDs": [], "failingUserIDs": []}),
        ("GET", "/pulse_results", None),
    ],
)
def test_operations__unknown_holdout__404(
    console: ContractClient, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    response = console.request(method, f"{HOLDOUTS}/ghost{suffix}", json=body)
    assert error(response, 404) == "Holdout not found."


def test_list__filters_and_pages(console: ContractClient) -> None:
    for index in range(5):
        create_holdout(console, f"holdout {index}")
    page = console.get(HOLDOUTS, params={"limit": "2", "page": "2"}).json()
    assert page["message"] == "Holdouts listed successfully."
    assert [h["id"] for h in page["data"]] == ["holdout_2", "holdout_3"]
    assert page["pagination"]["totalItems"] == 5
    assert page["pagination"]["nextPage"] == "/console/v1/holdouts?page=3&limit=2"
    by_creator = console.get(HOLDOUTS, params={"creatorName": "CONSOLE API"}).json()
    assert by_creator["pagination"]["totalItems"] == 5
    assert console.get(HOLDOUTS, params={"creatorName": "someone"}).json()["data"] == []
    creator_id = page["data"][0]["creatorID"]
    assert len(console.get(HOLDOUTS, params={"creatorID": creator_id}).json()["data"]) == 5
    assert console.get(HOLDOUTS, params=[("tags", "a"), ("tags", "b")]).json()["data"] == []


def test_full_update__attachments__stored_and_versioned(
    console: ContractClient, db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    create_holdout(console, "a holdout")
    create_gate(console, "gate one")
    create_gate(console, "gate two")
    store_entity(db, project, clock, "experiment", "exp_one")
    store_entity(db, project, clock, "layer", "layer_one")
    body = {
        **FULL_UPDATE,
        "description": "updated",
        "passPercentage": 5,
        "gateIDs": ["gate_one", "gate_two", "gate_one"],
        "experimentIDs": ["exp_one"],
        "layerIDs": ["layer_one"],
        "isGlobal": True,
        "targetingGateID": "gate_two",
        "monitoringMetrics": [{"name": "m", "type": "event_count"}],
    }
    response = console.post(f"{HOLDOUTS}/a_holdout", json=body)
    assert response.status_code == 200
    assert response.json()["message"] == "Holdout updated successfully."
    data = response.json()["data"]
    assert data["gateIDs"] == ["gate_one", "gate_two"]
    assert (data["experimentIDs"], data["layerIDs"]) == (["exp_one"], ["layer_one"])
    assert (data["passPercentage"], data["isGlobal"], data["targetingGateID"]) == (
        5,
        True,
        "gate_two",
    )
    assert data["monitoringMetrics"] == [{"name": "m", "type": "event_count"}]
    assert data["version"] == 2 and data["description"] == "updated"
    assert console.get(f"{HOLDOUTS}/a_holdout").json()["data"] == data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"gateIDs": ["gate_one", "nope"]},
            "Invalid request. gateIDs: no gate with id 'nope' exists in this project",
        ),
        (
            {"experimentIDs": ["missing_exp"]},
            "Invalid request. experimentIDs: no experiment with id 'missing_exp' exists",
        ),
        (
            {"layerIDs": ["missing_layer"]},
            "Invalid request. layerIDs: no layer with id 'missing_layer' exists",
        ),
        ({"gateIDs": [""]}, "Invalid request. gateIDs: ids must be non-empty strings"),
        (
            {"targetingGateID": "nope"},
            "Invalid request. targetingGateID: no gate with id 'nope' exists",
        ),
        ({"passPercentage": 10.5}, "Invalid request. passPercentage: input should be less than"),
        ({"passPercentage": -1}, "Invalid request. passPercentage: input should be greater"),
        ({"isGlobal": "maybe"}, "Invalid request. isGlobal:"),
    ],
)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_update__bad_body__400_and_unchanged(
    console: ContractClient, method: str, change: dict[str, Any], message: str
) -> None:
    before = create_holdout(console, "a holdout")
    create_gate(console, "gate one")
    body = {**FULL_UPDATE, **change} if method == "POST" else change
    assert error(console.request(method, f"{HOLDOUTS}/a_holdout", json=body)).startswith(message)
    assert console.get(f"{HOLDOUTS}/a_holdout").json()["data"] == before


@pytest.mark.parametrize("missing", sorted(FULL_UPDATE))
def test_full_update__required_field_missing__400_names_it(
    console: ContractClient, missing: str
) -> None:
    create_holdout(console, "a holdout")
    body = {k: v for k, v in FULL_UPDATE.items() if k != missing}
    message = error(console.post(f"{HOLDOUTS}/a_holdout", json=body))
    assert message == f"Invalid request. {missing}: is required"


def test_partial_update__one_field__others_kept(console: ContractClient) -> None:
    create_holdout(console, "a holdout", description="first")
    data = patch_holdout(console, "a_holdout", isEnabled=False)
    assert data["isEnabled"] is False and data["description"] == "first"
    data = patch_holdout(console, "a_holdout", passPercentage=2.5, targetingGateID=None)
    assert data["passPercentage"] == 2.5 and data["isEnabled"] is False
    assert data["version"] == 3


def test_delete__existing__returns_holdout_then_gone(console: ContractClient) -> None:
    created = create_holdout(console, "a holdout")
    response = console.delete(f"{HOLDOUTS}/a_holdout")
    assert response.status_code == 200
    assert response.json() == {"message": "Holdout deleted successfully.", "data": created}
    assert error(console.get(f"{HOLDOUTS}/a_holdout"), 404) == "Holdout not found."
    # The id is free again.
    create_holdout(console, "a holdout")


def test_mutations__audited(console: ContractClient) -> None:
    create_holdout(console, "a holdout")
    patch_holdout(console, "a_holdout", passPercentage=3)
    console.delete(f"{HOLDOUTS}/a_holdout")
    logs = console.get("/console/v1/audit_logs", params={"id": "a_holdout"}).json()["data"]
    assert {entry["actionType"] for entry in logs} == {
        "holdout_create",
        "holdout_update",
        "holdout_delete",
    }


# --- overrides --------------------------------------------------------------------------------

EMPTY_OVERRIDES: dict[str, list[Any]] = {
    "passingUserIDs": [],
    "failingUserIDs": [],
    "passingCustomIDs": [],
    "failingCustomIDs": [],
    "environmentOverrides": [],
}
OVERRIDES = f"{HOLDOUTS}/a_holdout/overrides"


def test_overrides__replace_add_remove__200_each_and_versioned(console: ContractClient) -> None:
    create_holdout(console, "a holdout")
    read = console.get(OVERRIDES)
    assert read.status_code == 200
    assert read.json() == {
        "message": "Holdout Overrides read successfully.",
        "data": EMPTY_OVERRIDES,
    }
    replaced = console.post(OVERRIDES, json={"passingUserIDs": ["u1"], "failingUserIDs": ["u2"]})
    assert replaced.status_code == 200
    assert replaced.json()["message"] == "Holdout Overrides updated successfully."
    added = console.patch(OVERRIDES, json={"passingUserIDs": ["u3"], "failingUserIDs": []})
    assert added.status_code == 200
    assert added.json()["data"]["passingUserIDs"] == ["u1", "u3"]
    removed = console.delete(OVERRIDES, json={"passingUserIDs": ["u1"], "failingUserIDs": ["u2"]})
    assert removed.status_code == 200
    assert removed.json()["data"] == {**EMPTY_OVERRIDES, "passingUserIDs": ["u3"]}
    assert console.get(f"{HOLDOUTS}/a_holdout").json()["data"]["version"] == 4


def test_overrides__id_both_passing_and_failing__400_unchanged(console: ContractClient) -> None:
    create_holdout(console, "a holdout")
    response = console.post(OVERRIDES, json={"passingUserIDs": ["u1"], "failingUserIDs": ["u1"]})
    assert "would be both passing and failing" in error(response)
    assert console.get(OVERRIDES).json()["data"] == EMPTY_OVERRIDES


# --- Pulse ------------------------------------------------------------------------------------


def test_pulse_results__no_data_yet__empty_metrics_for_today(console: ContractClient) -> None:
    create_holdout(console, "a holdout")
    response = console.get(
        f"{HOLDOUTS}/a_holdout/pulse_results", params={"cuped": "false", "confidence": "95"}
    )
    assert response.status_code == 200
    assert response.json() == {
        "message": "Successfully loaded Pulse Results",
        "data": {"ds": "2026-05-28", "monitoringMetrics": []},
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"cuped": "yes"}, 'Invalid request. cuped: must be "true" or "false"'),
        ({"confidence": "x"}, "Invalid request. confidence: must be a number"),
    ],
)
def test_pulse_results__bad_query__400(
    console: ContractClient, params: dict[str, str], message: str
) -> None:
    create_holdout(console, "a holdout")
    response = console.get(f"{HOLDOUTS}/a_holdout/pulse_results", params=params)
    assert error(response).startswith(message)


def test_full_update__attached_gate_deleted_since__dropped_not_rejected(
    console: ContractClient,
) -> None:
    create_holdout(console, "a holdout")
    create_gate(console, "gate one")
    create_gate(console, "gate two")
    attached = patch_holdout(console, "a_holdout", gateIDs=["gate_one", "gate_two"])
    console.delete("/console/v1/gates/gate_one")
    body = {k: attached[k] for k in FULL_UPDATE}
    response = console.post(f"{HOLDOUTS}/a_holdout", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["gateIDs"] == ["gate_two"]
