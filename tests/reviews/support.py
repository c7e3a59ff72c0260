"""Shared steps of the review tests: settings, a gate with a production rule, second keys."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from tests.contract.client import ContractClient

V1 = "/console/v1"
RESPECT = {"x-respect-review-settings": "true"}
EVERYONE = {"type": "public", "operator": None, "targetValue": None}


def require_reviews(console: ContractClient, required: bool = True) -> None:
    response = console.post(
        f"{V1}/settings/reviews",
        json={
            "is_config_review_required": required,
            "is_metric_review_required": False,
            "is_metric_review_required_on_verified_only": False,
        },
    )
    assert response.status_code == 200, response.text


def rule(name: str, percent: int, environments: list[str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "conditions": [EVERYONE],
        "passPercentage": percent,
        "environments": environments,
    }


def gate(console: ContractClient, name: str = "checkout", percent: int = 0) -> dict[str, Any]:
    response = console.post(
        f"{V1}/gates", json={"name": name, "description": "", "rules": [rule("all", percent)]}
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def set_rules(
    console: ContractClient, gate_id: str, rules: list[dict[str, Any]], *, respect: bool = True
) -> Any:
    return console.patch(
        f"{V1}/gates/{gate_id}", json={"rules": rules}, headers=RESPECT if respect else {}
    )


def second_console_key(console: ContractClient) -> str:
    response = console.post(
        f"{V1}/keys",
        json={"type": "CONSOLE", "description": "approver", "scopes": ["omni_read_write"]},
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]["key"]  # type: ignore[no-any-return]


def other_client(app: FastAPI, key: str) -> ContractClient:
    return ContractClient(app, key)


def dcs_gate(sdk: ContractClient, project: Bootstrap, gate_id: str) -> Any:
    response = sdk.get(f"/v2/download_config_specs/{project.server_key}.json")
    assert response.status_code == 200, response.text
    return response.json()["feature_gates"].get(gate_id)
