"""The Target App resource: all six operations, tagging, deletion everywhere, audit, keys."""

from __future__ import annotations

from typing import Any

from tests.contract.client import ContractClient

BASE = "/console/v1/target_app"


def _app(console: ContractClient, name: str, **body: Any) -> dict[str, Any]:
    response = console.post(BASE, json={"name": name, "description": "", **body})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def _gate(console: ContractClient, name: str, **body: Any) -> dict[str, Any]:
    response = console.post("/console/v1/gates", json={"name": name, **body})
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def _entity(console: ContractClient, path: str, entity_id: str) -> dict[str, Any]:
    return console.get(f"/console/v1/{path}/{entity_id}").json()["data"]  # type: ignore[no-any-return]


def _audit(console: ContractClient, entity_id: str) -> list[str]:
    entries = console.get("/console/v1/audit_logs", params={"id": entity_id}).json()["data"]
    return [e["actionType"] for e in entries]


def test_target_app_lifecycle__create_read_list_update_delete(console: ContractClient) -> None:
    created = console.post(BASE, json={"name": "ios", "description": "iPhone app"})
    assert created.json()["message"] == "Target app created successfully."
    app = created.json()["data"]
    assert app["name"] == "ios" and app["id"]
    read = console.get(f"{BASE}/{app['id']}")
    assert read.json()["message"] == "Target app read successfully."
    assert read.json()["data"] == app
    assert console.get(f"{BASE}/ios").json()["data"]["id"] == app["id"]
    listed = console.get(BASE).json()
    assert listed["message"] == "Target apps listed successfully."
    assert [a["id"] for a in listed["data"]] == [app["id"]]
    updated = console.patch(f"{BASE}/{app['id']}", json={"name": "iphone"})
    assert updated.json() == {"message": "Target apps updated successfully."}
    assert console.get(f"{BASE}/{app['id']}").json()["data"]["name"] == "iphone"
    deleted = console.delete(f"{BASE}/{app['id']}")
    assert deleted.json() == {"message": "Target app deleted successfully"}
    assert console.get(f"{BASE}/{app['id']}").status_code == 404
    assert _audit(console, app["id"]) == [
        "delete_target_app",
        "edit_target_app",
        "create_customer_app",
    ]


def test_list_target_apps__pages(console: ContractClient) -> None:
    for name in ("a_app", "b_app", "c_app"):
        _app(console, name)
    page = console.get(BASE, params={"limit": 2, "page": 2}).json()
    assert [a["name"] for a in page["data"]] == ["c_app"]
    assert page["pagination"]["totalItems"] == 3


def test_create_target_app__duplicate_name_any_case__400(console: ContractClient) -> None:
    _app(console, "Web")
    response = console.post(BASE, json={"name": "web", "description": ""})
    assert response.json() == {"status": 400, "message": "Name is already in use"}


def test_update_target_app__rename_onto_other__400_and_unchanged(console: ContractClient) -> None:
    _app(console, "web")
    other = _app(console, "ios")
    assert console.patch(f"{BASE}/{other['id']}", json={"name": "WEB"}).status_code == 400
    assert console.get(f"{BASE}/{other['id']}").json()["data"]["name"] == "ios"


def test_target_app_routes__unknown_app__404(console: ContractClient) -> None:
    assert console.get(f"{BASE}/nope").status_code == 404
    assert console.patch(f"{BASE}/nope", json={"name": "x"}).status_code == 404
    assert console.delete(f"{BASE}/nope").status_code == 404
    gate = _gate(console, "some gate")
    response = console.patch(BASE, json={"targetApps": ["nope"], "gates": [gate["id"]]})
    assert response.status_code == 404


def test_create_target_app__entities__tagged_and_audited(console: ContractClient) -> None:
    gate = _gate(console, "checkout gate")
    config = console.post("/console/v1/dynamic_configs", json={"name": "prices"}).json()["data"]
    app = _app(console, "web", gates=[gate["id"]], dynamicConfigs=[config["id"]])
    assert _entity(console, "gates", gate["id"])["targetApps"] == [app["id"]]
    assert _entity(console, "dynamic_configs", config["id"])["targetApps"] == [app["id"]]
    assert "config_edit_target_apps" in _audit(console, gate["id"])


def test_create_target_app__unknown_entity__404_and_nothing_created(
    console: ContractClient,
) -> None:
    response = console.post(BASE, json={"name": "web", "description": "", "gates": ["ghost"]})
    assert response.status_code == 404
    assert response.json()["message"] == "Gates with IDs [ghost] do not exist"
    assert console.get(BASE).json()["data"] == []


def test_bulk_assign__adds_to_existing_apps(console: ContractClient) -> None:
    web, ios = _app(console, "web"), _app(console, "ios")
    gate = _gate(console, "shared gate", targetApps=["web"])
    experiment = console.post(
        "/console/v1/experiments", json={"name": "exp one", "hypothesis": "h"}
    ).json()["data"]
    response = console.patch(
        BASE, json={"targetApps": [ios["name"]], "gates": [gate["id"]], "experiments": ["exp_one"]}
    )
    assert response.json() == {"message": "Target apps updated successfully."}
    assert _entity(console, "gates", gate["id"])["targetApps"] == [web["id"], ios["id"]]
    assert _entity(console, "experiments", experiment["id"])["targetApps"] == [ios["id"]]
    assert "experiment_update_target_apps" in _audit(console, experiment["id"])


def test_bulk_assign__unknown_config__404_naming_it(console: ContractClient) -> None:
    _app(console, "web")
    response = console.patch(BASE, json={"targetApps": ["web"], "dynamicConfigs": ["x1", "x2"]})
    assert response.status_code == 404
    assert response.json()["message"] == "Dynamic configs with IDs [x1, x2] do not exist"


def test_bulk_assign__no_apps__400(console: ContractClient) -> None:
    assert console.patch(BASE, json={"targetApps": []}).status_code == 400


def test_entity_target_apps__names_resolved_repeats_dropped_unknown_400(
    console: ContractClient,
) -> None:
    web = _app(console, "web")
    gate = _gate(console, "named gate", targetApps=["web", web["id"], "web"])
    assert gate["targetApps"] == [web["id"]]
    response = console.post("/console/v1/gates", json={"name": "bad gate", "targetApps": ["tv"]})
    assert response.status_code == 400
    assert "targetApps" in response.json()["message"]


def test_delete_target_app__removed_from_entities_and_keys(console: ContractClient) -> None:
    web, ios = _app(console, "web"), _app(console, "ios")
    gate = _gate(console, "both apps", targetApps=["web", "ios"])
    layer = console.post(
        "/console/v1/layers",
        json={"name": "web layer", "idType": "userID", "targetApps": ["web"]},
    ).json()["data"]
    key = console.post(
        "/console/v1/keys",
        json={
            "description": "k",
            "type": "CLIENT",
            "targetAppID": "web",
            "secondaryTargetAppIDs": ["ios"],
        },
    ).json()["data"]
    assert console.delete(f"{BASE}/{web['id']}").status_code == 200
    assert _entity(console, "gates", gate["id"])["targetApps"] == [ios["id"]]
    assert _entity(console, "layers", layer["id"])["targetApps"] == []
    after = console.get(f"/console/v1/keys/{key['id']}").json()["data"]
    assert after["primaryTargetApp"] == ios["id"] and after["secondaryTargetApps"] is None
    assert "layer_update_target_apps" in _audit(console, layer["id"])
    assert _audit(console, key["id"])[0] == "sdk_key_update_target_app"


def test_key_target_apps__resolved_validated_and_audited(console: ContractClient) -> None:
    web = _app(console, "web")
    ios = _app(console, "ios")
    key = console.post(
        "/console/v1/keys", json={"description": "k", "type": "SERVER", "targetAppID": "web"}
    ).json()["data"]
    assert key["primaryTargetApp"] == web["id"]
    patched = console.patch(
        f"/console/v1/keys/{key['id']}", json={"secondaryTargetAppIDs": [ios["id"]]}
    ).json()["data"]
    assert patched["secondaryTargetApps"] == [ios["id"]]
    assert _audit(console, key["id"])[0] == "sdk_key_update_target_app"
    unknown = console.post(
        "/console/v1/keys", json={"description": "k", "type": "SERVER", "targetAppID": "tv"}
    )
    assert unknown.status_code == 400
    lonely = console.post(
        "/console/v1/keys",
        json={"description": "k", "type": "SERVER", "secondaryTargetAppIDs": ["web"]},
    )
    assert lonely.status_code == 400
    cleared = console.patch(
        f"/console/v1/keys/{key['id']}", json={"targetAppID": None, "secondaryTargetAppIDs": None}
    ).json()["data"]
    assert cleared["primaryTargetApp"] is None and cleared["secondaryTargetApps"] is None
