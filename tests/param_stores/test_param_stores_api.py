"""The Param Store resource: list, create, read, update (the parameter list replaced whole) and
delete by name; every rule on a store and its parameters is a precise 400 that changes nothing."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.contract.client import ContractClient
from tests.param_stores.support import (
    ALL_KINDS,
    STORES,
    create_app,
    create_store,
    error,
    referenced_entities,
    set_parameters,
)

DTO_FIELDS = {"id", "name", "displayName", "description", "createdTime", "creatorID"}


def test_create__required_fields__200_read_message_and_empty_parameters(
    console: ContractClient,
) -> None:
    response = console.post(
        STORES, json={"name": "param 1", "description": "why", "displayName": "Param One"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Param Store read successfully."
    data = body["data"]
    assert set(data) >= DTO_FIELDS and len(data["id"]) == 22
    assert (data["name"], data["displayName"], data["description"]) == (
        "param 1",
        "Param One",
        "why",
    )
    assert data["parameters"] == [] and data["targetAppIDs"] == [] and data["team"] is None
    assert data["creatorID"] == data["lastModifierID"]
    assert "storeID" not in data and "version" not in data


def test_read_and_list__created_stores__same_dto_in_creation_order(
    console: ContractClient,
) -> None:
    app = create_app(console, "web")
    first = create_store(console, "param 1")
    second = create_store(console, "second store", targetAppIDs=[app, app])
    assert second["targetAppIDs"] == [app]
    read = console.get(f"{STORES}/param 1")
    assert read.status_code == 200
    assert read.json() == {"message": "Param Store read successfully.", "data": first}
    listed = console.get(STORES).json()
    assert listed["message"] == "List param stores success"
    assert listed["data"] == [first, second]
    assert listed["pagination"]["totalItems"] == 2
    page = console.get(STORES, params={"limit": 1, "page": 2}).json()
    assert page["data"] == [second]


def test_update__all_five_reference_kinds__stored_verbatim(console: ContractClient) -> None:
    referenced_entities(console)
    create_store(console)
    data = set_parameters(console, "param 1", ALL_KINDS)
    assert data["parameters"] == ALL_KINDS
    assert console.get(f"{STORES}/param 1").json()["data"]["parameters"] == ALL_KINDS


def test_update__parameters_replace_whole_list_description_kept(console: ContractClient) -> None:
    create_store(console, description="kept")
    set_parameters(console, "param 1", ALL_KINDS[:2])
    data = set_parameters(console, "param 1", ALL_KINDS[1:2])
    assert data["parameters"] == ALL_KINDS[1:2] and data["description"] == "kept"


def test_update__description_only__parameters_kept(console: ContractClient) -> None:
    create_store(console)
    set_parameters(console, "param 1", ALL_KINDS[:1])
    response = console.post(f"{STORES}/param 1", json={"description": "new"})
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["description"] == "new" and data["parameters"] == ALL_KINDS[:1]


def test_update__unknown_fields_in_a_parameter__dropped(console: ContractClient) -> None:
    create_store(console)
    extra = {**ALL_KINDS[0], "gate_name": "ignored", "colour": 1}
    assert set_parameters(console, "param 1", [extra])["parameters"] == [ALL_KINDS[0]]


def test_delete__existing__message_only_then_404(console: ContractClient) -> None:
    create_store(console)
    response = console.delete(f"{STORES}/param 1")
    # The 2026 operation is missing from the 2024 spec: its shape is Statsig's message-only body.
    assert response.status_code == 200
    assert response.json() == {"message": "Param Store deleted successfully."}
    assert error(console.get(f"{STORES}/param 1"), 404) == "Param Store not found."
    assert console.get(STORES).json()["data"] == []


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("POST", {"description": "x"}), ("DELETE", None)],
)
def test_unknown_store__every_operation__404_param_store_not_found(
    console: ContractClient, method: str, body: dict[str, Any] | None
) -> None:
    response = console.request(method, f"{STORES}/ghost", json=body)
    assert error(response, 404) == "Param Store not found."


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"description": "", "displayName": "x"}, "Invalid request. name:"),
        ({"name": "ok", "displayName": "x"}, "Invalid request. description:"),
        ({"name": "ok", "description": ""}, "Invalid request. displayName:"),
        (
            {"name": "  ", "description": "", "displayName": "x"},
            "Invalid request. name: is required",
        ),
        (
            {"name": " padded", "description": "", "displayName": "x"},
            "Invalid request. name: ' padded' may contain only",
        ),
        (
            {"name": "a/b", "description": "", "displayName": "x"},
            "Invalid request. name: 'a/b' may contain only",
        ),
        (
            {"name": "n" * 101, "description": "", "displayName": "x"},
            "Invalid request. name: must be at most 100 characters",
        ),
        (
            {"name": "ok", "description": "", "displayName": "x", "tags": ["nope"]},
            "Invalid request. tags: tag 'nope' does not exist",
        ),
        (
            {"name": "ok", "description": "", "displayName": "x", "targetAppIDs": ["nope"]},
            "Invalid request. targetAppIDs: target app 'nope' does not exist",
        ),
    ],
)
def test_create__bad_body__400_nothing_created(
    console: ContractClient, body: dict[str, Any], message: str
) -> None:
    assert error(console.post(STORES, json=body)).startswith(message)
    assert console.get(STORES).json()["data"] == []


@pytest.mark.parametrize("taken", ["param 1", "PARAM 1"])
def test_create__name_in_use_any_case__400(console: ContractClient, taken: str) -> None:
    create_store(console)
    response = console.post(STORES, json={"name": taken, "description": "", "displayName": ""})
    assert error(response) == "Name is already in use"
    assert len(console.get(STORES).json()["data"]) == 1


def _with(index: int, **fields: Any) -> dict[str, Any]:
    parameter = copy.deepcopy(ALL_KINDS[index])
    for key, value in fields.items():
        if value is ...:
            parameter.pop(key)
        else:
            parameter[key] = value
    return parameter


@pytest.mark.parametrize(
    ("parameter", "message"),
    [
        ("text", "parameters[0]: must be an object"),
        (_with(0, name=""), "parameters[0].name: must be a non-empty string"),
        (_with(0, name=...), "parameters[0].name: must be a non-empty string"),
        (_with(0, ref_type="segment"), "parameters[0].ref_type: must be one of static, gate,"),
        (_with(0, param_type="integer"), "parameters[0].param_type: must be one of boolean,"),
        (_with(0, value=...), "parameters[0].value: is required when ref_type is static"),
        (_with(0, value=1), "parameters[0].value: must be a boolean, as param_type is boolean"),
        (_with(1, value={}), "parameters[0].value: must be an array, as param_type is array"),
        (
            _with(0, param_type="number"),
            "parameters[0].value: must be a number, as param_type is number",
        ),
        (
            _with(1, param_type="object"),
            "parameters[0].value: must be an object, as param_type is object",
        ),
        (
            _with(2, fail_value=False),
            "parameters[0].fail_value: must be a string, as param_type is string",
        ),
        (_with(2, pass_value=...), "parameters[0].pass_value: is required when ref_type is gate"),
        (_with(2, gate_name="ghost"), "parameters[0].gate_name: no gate named 'ghost' exists"),
        (
            _with(3, config_name="ghost"),
            "parameters[0].config_name: no dynamic config named 'ghost' exists",
        ),
        (_with(3, param_name=""), "parameters[0].param_name: must be a non-empty string"),
        (
            _with(4, experiment_name="a_config"),
            "parameters[0].experiment_name: no experiment named 'a_config' exists",
        ),
        (_with(5, layer_name="ghost"), "parameters[0].layer_name: no layer named 'ghost' exists"),
        (_with(5, param_name=...), "parameters[0].param_name: is required when ref_type is layer"),
    ],
)
def test_update__bad_parameter__400_store_unchanged(
    console: ContractClient, parameter: Any, message: str
) -> None:
    referenced_entities(console)
    before = create_store(console)
    response = console.post(f"{STORES}/param 1", json={"parameters": [parameter]})
    assert error(response).startswith(f"Invalid request. {message}")
    assert console.get(f"{STORES}/param 1").json()["data"] == before


def test_update__duplicate_parameter_names__400(console: ContractClient) -> None:
    create_store(console)
    twice = [ALL_KINDS[0], {**ALL_KINDS[1], "name": ALL_KINDS[0]["name"]}]
    response = console.post(f"{STORES}/param 1", json={"parameters": twice})
    assert error(response) == (
        "Invalid request. parameters[1].name: 'static_bool' is used by another parameter"
    )


@pytest.mark.parametrize(
    ("path", "kind", "entity"),
    [
        ("/console/v1/gates/a_gate", "Gate", "a_gate"),
        ("/console/v1/dynamic_configs/a_config", "Dynamic Config", "a_config"),
        ("/console/v1/experiments/an_experiment", "Experiment", "an_experiment"),
        ("/console/v1/layers/a_layer", "Layer", "a_layer"),
    ],
)
def test_delete_referenced_entity__400_names_the_store(
    console: ContractClient, path: str, kind: str, entity: str
) -> None:
    referenced_entities(console)
    create_store(console)
    set_parameters(console, "param 1", ALL_KINDS)
    assert error(console.delete(path)) == (
        f"Invalid request. {kind} {entity!r} is referenced by param store 'param 1'; "
        "remove those parameters first"
    )
    assert console.get(path).status_code == 200


def test_every_change__audited_with_statsig_action_types(console: ContractClient) -> None:
    create_store(console)
    set_parameters(console, "param 1", ALL_KINDS[:1])
    console.delete(f"{STORES}/param 1")
    entries = console.get("/console/v1/audit_logs", params={"id": "param 1"}).json()["data"]
    assert [e["actionType"] for e in entries] == [
        "param_store_delete",
        "param_store_update",
        "param_store_create",
    ]
    assert entries[1]["changes"]["parameters"] == {"old": [], "new": ALL_KINDS[:1]}


def test_every_change__bumps_the_sdk_payload_time(console: ContractClient, sdk_server: Any) -> None:
    times = [sdk_server()["time"]]
    create_store(console)
    times.append(sdk_server()["time"])
    set_parameters(console, "param 1", ALL_KINDS[:1])
    times.append(sdk_server()["time"])
    console.delete(f"{STORES}/param 1")
    times.append(sdk_server()["time"])
    assert times == sorted(set(times))


def test_target_app_ids__names_resolved_to_ids_unknown_400_store_unchanged(
    console: ContractClient,
) -> None:
    # Given two apps, a store tagged with one by name
    web, ios = create_app(console, "web"), create_app(console, "ios")
    assert create_store(console, targetAppIDs=["web"])["targetAppIDs"] == [web]
    # When an update names the other app by name and id and the first by id, then an unknown app
    updated = console.post(f"{STORES}/param 1", json={"targetAppIDs": ["ios", web, ios]})
    assert updated.status_code == 200, updated.text
    refused = console.post(f"{STORES}/param 1", json={"targetAppIDs": [web, "android"]})
    # Then the stored ids follow the first update, and the unknown app changed nothing
    assert updated.json()["data"]["targetAppIDs"] == [ios, web]
    assert error(refused) == "Invalid request. targetAppIDs: target app 'android' does not exist"
    assert console.get(f"{STORES}/param 1").json()["data"]["targetAppIDs"] == [ios, web]


def test_delete_target_app__taken_off_stores_and_audited(console: ContractClient) -> None:
    # Given stores tagged with web, with web and ios, and with nothing
    web, ios = create_app(console, "web"), create_app(console, "ios")
    create_store(console, "web only", targetAppIDs=[web])
    create_store(console, "both", targetAppIDs=[web, ios])
    create_store(console, "untagged")
    # When web is deleted
    assert console.delete(f"/console/v1/target_app/{web}").status_code == 200
    # Then no store carries it; the others' apps stay, and each changed store is audited
    apps = {s["name"]: s["targetAppIDs"] for s in console.get(STORES).json()["data"]}
    assert apps == {"web only": [], "both": [ios], "untagged": []}
    for name, changed in (("web only", True), ("both", True), ("untagged", False)):
        entries = console.get("/console/v1/audit_logs", params={"id": name}).json()["data"]
        actions = [e["actionType"] for e in entries]
        assert actions == (["param_store_update"] if changed else []) + ["param_store_create"]
