"""Helpers shared by the autotune tests."""

from __future__ import annotations

from typing import Any

from tests.contract.client import ContractClient

AUTOTUNES = "/console/v1/autotunes"
BODY: dict[str, Any] = {
    "name": "button color",
    "description": "which color gets the most clicks",
    "variants": [
        {"name": "red", "json": {"color": "red"}, "size": 20},
        {"name": "blue", "json": {"color": "blue"}, "size": 30},
        {"name": "green", "json": {"color": "green"}, "size": 50},
    ],
    "successEvent": "click",
    "explorationWindow": "24hr",
    "attributionWindow": "2hrs",
    "winnerThreshold": "95%",
}


def create_autotune(console: ContractClient, **overrides: Any) -> dict[str, Any]:
    response = console.post(AUTOTUNES, json={**BODY, **overrides})
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def error(response: Any, status: int = 400) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    return body["message"]  # type: ignore[no-any-return]
