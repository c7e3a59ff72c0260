"""Helpers shared by the parameter store tests: paths, one-call creation of stores and of the
entities their parameters read from."""

from __future__ import annotations

from typing import Any

from tests.contract.client import ContractClient

STORES = "/console/v1/param_stores"
EVERYONE = {"name": "everyone", "passPercentage": 100, "conditions": [{"type": "public"}]}


def error(response: Any, status: int = 400) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    return str(body["message"])


def create_store(console: ContractClient, name: str = "param 1", **body: Any) -> dict[str, Any]:
    payload = {"name": name, "description": "", "displayName": name, **body}
    response = console.post(STORES, json=payload)
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def set_parameters(
    console: ContractClient, name: str, parameters: list[dict[str, Any]]
) -> dict[str, Any]:
    response = console.post(f"{STORES}/{name}", json={"parameters": parameters})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def create_app(console: ContractClient, name: str) -> str:
    """A target app named ``name``; its id."""
    response = console.post("/console/v1/target_app", json={"name": name, "description": ""})
    assert response.status_code in (200, 201), response.text
    return str(response.json()["data"]["id"])


def referenced_entities(console: ContractClient) -> None:
    """A gate ``a_gate``, a config ``a_config``, a layer ``a_layer`` and an experiment
    ``an_experiment`` in that layer, each with something for a parameter to read."""
    created = [
        console.post("/console/v1/gates", json={"name": "a gate", "rules": [EVERYONE]}),
        console.post(
            "/console/v1/dynamic_configs",
            json={"name": "a config", "defaultValue": {"color": "red"}},
        ),
        console.post(
            "/console/v1/layers",
            json={
                "name": "a layer",
                "idType": "userID",
                "parameters": [{"name": "size", "type": "number", "defaultValue": 1}],
            },
        ),
    ]
    created.append(
        console.post(
            "/console/v1/experiments",
            json={
                "name": "an experiment",
                "layerID": "a_layer",
                "groups": [
                    {"name": "Control", "size": 50, "parameterValues": {"size": 1}},
                    {"name": "Test", "size": 50, "parameterValues": {"size": 2}},
                ],
            },
        )
    )
    for response in created:
        assert response.status_code == 201, response.text


ALL_KINDS: list[dict[str, Any]] = [
    {"name": "static_bool", "ref_type": "static", "param_type": "boolean", "value": True},
    {"name": "static_arr", "ref_type": "static", "param_type": "array", "value": [1, "a"]},
    {
        "name": "gated",
        "ref_type": "gate",
        "param_type": "string",
        "gate_name": "a_gate",
        "pass_value": "on",
        "fail_value": "off",
    },
    {
        "name": "color",
        "ref_type": "dynamic_config",
        "param_type": "string",
        "config_name": "a_config",
        "param_name": "color",
    },
    {
        "name": "exp_size",
        "ref_type": "experiment",
        "param_type": "number",
        "experiment_name": "an_experiment",
        "param_name": "size",
    },
    {
        "name": "layer_size",
        "ref_type": "layer",
        "param_type": "number",
        "layer_name": "a_layer",
        "param_name": "size",
    },
]
