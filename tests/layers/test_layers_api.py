"""Layers: CRUD, parameters, the experiments lineage, and layer overrides."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.client import ContractClient
from tests.experiments.support import LAYERS, create, create_layer, groups

PARAMS = [{"name": "color", "type": "string", "defaultValue": "grey"}]


def test_create_read_list__layer_contract(console: ContractClient) -> None:
    data = create_layer(console, description="d", parameters=PARAMS)
    assert data["id"] == "a_layer" and data["isImplicitLayer"] is False
    assert data["parameters"] == PARAMS and "salt" not in data
    read = console.get(f"{LAYERS}/a_layer")
    assert read.json() == {"message": "Layer read successfully.", "data": data}
    listed = console.get(LAYERS).json()
    assert listed["message"] == "Layers listed successfully." and listed["data"] == [data]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "x layer"}, "Invalid request. idType: is required"),
        (
            {"name": "x", "idType": "userID"},
            "Invalid request. name: must be 3 to 100 characters, got 1",
        ),
        (
            {
                "name": "x layer",
                "idType": "userID",
                "parameters": [{"name": "p", "type": "number", "defaultValue": "1"}],
            },
            "Invalid request. parameters[0] \"p\": defaultValue must be a number, got '1'",
        ),
    ],
)
def test_create__bad_input__400(
    console: ContractClient, body: dict[str, Any], message: str
) -> None:
    response = console.post(LAYERS, json=body)
    assert response.status_code == 400 and response.json()["message"] == message
    assert console.get(LAYERS).json()["data"] == []


def test_create__duplicate_name__400(console: ContractClient) -> None:
    create_layer(console)
    assert (
        console.post(LAYERS, json={"name": "A Layer", "idType": "userID"}).json()["message"]
        == "Name is already in use"
    )


def test_updates__full_and_partial(console: ContractClient) -> None:
    create_layer(console, parameters=PARAMS)
    full = console.post(
        f"{LAYERS}/a_layer",
        json={
            "description": "new",
            "parameters": [*PARAMS, {"name": "n", "type": "number", "defaultValue": 3}],
        },
    )
    assert full.status_code == 200 and full.json()["message"] == "Layer updated successfully."
    assert [p["name"] for p in full.json()["data"]["parameters"]] == ["color", "n"]
    partial = console.patch(f"{LAYERS}/a_layer", json={"description": "only"})
    assert (
        partial.json()["data"]["description"] == "only"
        and len(partial.json()["data"]["parameters"]) == 2
    )
    assert partial.json()["data"]["version"] == 3


def test_update__parameter_in_use__400(console: ContractClient) -> None:
    create_layer(console, parameters=PARAMS)
    create(console, layerID="a_layer", groups=groups(50, 50))
    response = console.patch(f"{LAYERS}/a_layer", json={"parameters": []})
    assert response.status_code == 400
    assert "'color' is not a parameter of layer 'a_layer'" in response.json()["message"]


def test_delete__with_experiments__400_then_ok(console: ContractClient) -> None:
    create_layer(console, parameters=PARAMS)
    experiment = create(console, layerID="a_layer", groups=groups(50, 50))
    blocked = console.delete(f"{LAYERS}/a_layer")
    assert blocked.status_code == 400
    assert blocked.json()["message"] == (
        "Invalid request. Layer 'a_layer' has experiments (an_experiment); delete them or move "
        "them to another layer first"
    )
    console.delete(f"/console/v1/experiments/{experiment['id']}")
    done = console.delete(f"{LAYERS}/a_layer")
    assert done.json() == {"message": "Layer deleted successfully."}
    assert console.get(f"{LAYERS}/a_layer").status_code == 404


def test_experiments__lists_layer_members(console: ContractClient) -> None:
    create_layer(console, parameters=PARAMS)
    create(console, "inside", layerID="a_layer", groups=groups(50, 50), allocation=50)
    create(console, "outside")
    response = console.get(f"{LAYERS}/a_layer/experiments")
    assert response.status_code == 200
    assert [e["id"] for e in response.json()["data"]] == ["inside"]
    assert console.get(f"{LAYERS}/nope/experiments").status_code == 404


def test_overrides__replace_add_delete(console: ContractClient) -> None:
    console.post("/console/v1/gates", json={"name": "vip gate"})
    create_layer(console, parameters=PARAMS)
    create(console, "inside", layerID="a_layer", groups=groups(50, 50))
    url = f"{LAYERS}/a_layer/overrides"
    assert console.get(url).json()["data"] == {"conditionalOverrides": [], "idOverrides": []}
    body = {
        "conditionalOverrides": [
            {"type": "gate", "name": "vip_gate", "experimentName": "inside", "groupName": "Test"}
        ],
        "idOverrides": [{"groupName": "Control", "ids": ["u1"], "experimentName": "inside"}],
    }
    replaced = console.post(url, json=body)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["data"]["idOverrides"] == [
        {
            "groupName": "Control",
            "ids": ["u1"],
            "idType": "userID",
            "environment": None,
            "experimentName": "inside",
        }
    ]
    added = console.patch(
        url,
        json={
            "op": "add",
            "conditionalOverrides": [],
            "idOverrides": [{"groupName": "Control", "ids": ["u2"], "experimentName": "inside"}],
        },
    )
    assert added.json()["data"]["idOverrides"][0]["ids"] == ["u1", "u2"]
    bad = console.patch(
        url,
        json={
            "op": "add",
            "conditionalOverrides": [],
            "idOverrides": [{"groupName": "Nope", "ids": ["u"], "experimentName": "inside"}],
        },
    )
    assert (
        bad.status_code == 400
        and bad.json()["message"]
        == "Invalid request. idOverrides[0] groupName: 'Nope' is not a group of experiment 'inside'"
    )
    outsider = console.post(
        url,
        json={
            "conditionalOverrides": [],
            "idOverrides": [{"groupName": "Test", "ids": ["u"], "experimentName": "nope"}],
        },
    )
    assert (
        outsider.status_code == 400
        and "'nope' is not an experiment of this layer" in outsider.json()["message"]
    )
    removed = console.delete(
        url,
        json={
            "conditionalOverrides": body["conditionalOverrides"],
            "idOverrides": [{"groupName": "Control", "ids": ["u1"], "experimentName": "inside"}],
        },
    )
    assert removed.status_code == 200
    assert removed.json()["data"] == {
        "conditionalOverrides": [],
        "idOverrides": [
            {
                "groupName": "Control",
                "ids": ["u2"],
                "idType": "userID",
                "environment": None,
                "experimentName": "inside",
            }
        ],
    }
    assert console.delete(url).json()["data"] == {"conditionalOverrides": [], "idOverrides": []}
