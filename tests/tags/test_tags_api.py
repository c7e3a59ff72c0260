"""The Tags resource: create, read, list, update, delete, unique names."""

from __future__ import annotations

from tests.contract.client import ContractClient


def test_tag_lifecycle__create_read_update_delete(console: ContractClient) -> None:
    created = console.post(
        "/console/v1/tags",
        json={"name": "checkout", "description": "Checkout team", "isCore": True},
    )
    assert created.status_code == 200
    tag = created.json()["data"]
    assert tag["name"] == "checkout" and tag["isCore"] is True
    assert console.get(f"/console/v1/tags/{tag['id']}").json()["data"] == tag
    assert console.get("/console/v1/tags/checkout").json()["data"]["id"] == tag["id"]
    updated = console.patch(f"/console/v1/tags/{tag['id']}", json={"description": "Payments"})
    assert updated.json()["data"]["description"] == "Payments"
    assert updated.json()["data"]["name"] == "checkout"
    assert console.delete(f"/console/v1/tags/{tag['id']}").json() == {
        "message": "Tag deleted successfully"
    }
    missing = console.get(f"/console/v1/tags/{tag['id']}")
    assert missing.status_code == 404
    assert missing.json()["message"] == "Tag not found. The requested resource could not be found."


def test_create_tag__duplicate_name_any_case__400_name_in_use(console: ContractClient) -> None:
    assert (
        console.post("/console/v1/tags", json={"name": "Growth", "description": ""}).status_code
        == 200
    )
    response = console.post("/console/v1/tags", json={"name": "growth", "description": ""})
    assert response.json() == {"status": 400, "message": "Name is already in use"}


def test_update_tag__rename_onto_other__400_and_unchanged(console: ContractClient) -> None:
    console.post("/console/v1/tags", json={"name": "a_tag", "description": ""})
    other = console.post("/console/v1/tags", json={"name": "b_tag", "description": ""}).json()[
        "data"
    ]
    response = console.patch(f"/console/v1/tags/{other['id']}", json={"name": "a_tag"})
    assert response.status_code == 400
    assert console.get(f"/console/v1/tags/{other['id']}").json()["data"]["name"] == "b_tag"


def test_tag_routes__unknown_tag__404(console: ContractClient) -> None:
    assert console.patch("/console/v1/tags/nope", json={"name": "x"}).status_code == 404
    assert console.delete("/console/v1/tags/nope").status_code == 404
