"""Every error path of the Console API answers Statsig's ``{status, message}`` envelope."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.errors import GENERIC_NOT_FOUND, INTERNAL
from lockgate.faces.console.context import Console
from tests.contract.client import ContractClient


def _assert_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["message"], str) and body["message"]
    assert "detail" not in body
    return body  # type: ignore[no-any-return]


def test_unknown_route__any_method__404_envelope(console: ContractClient) -> None:
    body = _assert_error(console.get("/console/v1/no_such_thing"), 404)
    assert body["message"] == GENERIC_NOT_FOUND


def test_unknown_route__outside_console__404_envelope(anonymous: ContractClient) -> None:
    _assert_error(anonymous.get("/definitely/not/here"), 404)


def test_wrong_method__known_path__405_envelope(console: ContractClient) -> None:
    body = _assert_error(console.put("/console/v1/tags"), 405)
    assert "PUT" in body["message"]


def test_malformed_json__create_tag__400_says_json(console: ContractClient) -> None:
    response = console.post(
        "/console/v1/tags", content=b'{"name": "x",', headers={"content-type": "application/json"}
    )
    body = _assert_error(response, 400)
    assert "JSON" in body["message"]


@pytest.mark.parametrize(
    ("payload", "field", "problem"),
    [
        ({"description": "d"}, "name", "is required"),
        ({"name": "", "description": "d"}, "name", "at least 1 character"),
        ({"name": "n", "description": "d", "isCore": "maybe"}, "isCore", "valid boolean"),
        ({"name": "n" * 101, "description": "d"}, "name", "at most 100 characters"),
    ],
)
def test_invalid_body__create_tag__400_names_field_and_problem(
    console: ContractClient, payload: dict[str, Any], field: str, problem: str
) -> None:
    body = _assert_error(console.post("/console/v1/tags", json=payload), 400)
    assert field in body["message"] and problem in body["message"]
    assert any(e["property"] == field for e in body["errors"])


def test_field_problem__service_rule__400_names_field_and_problem(
    console: ContractClient,
) -> None:
    body = _assert_error(
        console.post("/console/v1/tags", json={"name": "  ", "description": "d"}), 400
    )
    assert body == {
        "status": 400,
        "message": "Invalid request. name: must not be blank",
        "errors": [{"property": "name", "in": "body", "message": "must not be blank"}],
    }


def test_missing_body__create_tag__400_names_body(console: ContractClient) -> None:
    body = _assert_error(console.post("/console/v1/tags"), 400)
    assert "is required" in body["message"]


def test_invalid_query__page_not_a_number__400_names_param(console: ContractClient) -> None:
    body = _assert_error(console.get("/console/v1/tags", params={"page": "two"}), 400)
    assert "page" in body["message"]


def test_unhandled_error__route_raises__500_without_internals(app: FastAPI, project: Any) -> None:
    @app.get("/console/v1/__explode")
    def explode(ctx: Console) -> None:
        raise RuntimeError("secret internal detail /etc/passwd")

    with ContractClient(app, project.console_key) as client:
        response = client.get("/console/v1/__explode")
    body = _assert_error(response, 500)
    assert body["message"] == INTERNAL
    assert "secret internal detail" not in response.text
