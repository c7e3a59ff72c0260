"""Helpers shared by the Experiments and Layers tests."""

from __future__ import annotations

from typing import Any

from tests.contract.client import ContractClient

BASE = "/console/v1/experiments"
LAYERS = "/console/v1/layers"


def groups(*sizes: float, param: str = "color") -> list[dict[str, Any]]:
    names = ["Control", "Test", "Test B", "Test C"]
    return [
        {"name": names[i], "size": size, "parameterValues": {param: names[i].lower()}}
        for i, size in enumerate(sizes)
    ]


def create(console: ContractClient, name: str = "An Experiment", **body: Any) -> dict[str, Any]:
    response = console.post(BASE, json={"name": name, **body})
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def create_layer(console: ContractClient, name: str = "A Layer", **body: Any) -> dict[str, Any]:
    payload = {"name": name, "idType": "userID", **body}
    response = console.post(LAYERS, json=payload)
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def put(console: ContractClient, experiment_id: str, action: str, **body: Any) -> Any:
    return console.put(f"{BASE}/{experiment_id}/{action}", json=body)


def read(console: ContractClient, experiment_id: str) -> dict[str, Any]:
    response = console.get(f"{BASE}/{experiment_id}")
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]
