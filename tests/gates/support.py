"""Helpers shared by the gate tests: short paths and one-call gate creation."""

from __future__ import annotations

from typing import Any

from tests.contract.client import ContractClient

GATES = "/console/v1/gates"
EVERYONE = {"type": "public"}


def rule(name: str, pct: float = 100, *conditions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "passPercentage": pct,
        "conditions": list(conditions) or [EVERYONE],
        **extra,
    }


def create_gate(console: ContractClient, name: str, **body: Any) -> dict[str, Any]:
    response = console.post(GATES, json={"name": name, **body})
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def error(response: Any, status: int = 400) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    return body["message"]  # type: ignore[no-any-return]
