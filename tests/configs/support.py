"""Helpers shared by the Dynamic Configs tests."""

from __future__ import annotations

from typing import Any

from tests.contract.client import ContractClient
from tests.contract.validator import validate_response

BASE = "/console/v1/dynamic_configs"
EVERYONE = [{"type": "public"}]


def rule(name: str, value: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": name, "conditions": EVERYONE, "returnValue": value or {}, **extra}


def create(console: ContractClient, name: str = "A Config", **body: Any) -> dict[str, Any]:
    response = console.post(BASE, json={"name": name, **body})
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def assert_config_envelope(body: dict[str, Any], message: str) -> dict[str, Any]:
    """For operations the official spec lacks: the body must be a single DynamicConfigDto
    envelope, checked with the schema of ``GET /dynamic_configs/{id}``."""
    assert body["message"] == message
    validate_response("GET", f"{BASE}/{body['data']['id']}", 200, body)
    return body["data"]  # type: ignore[no-any-return]
