"""Hostile input is normal input: whatever a client sends in a path, query or body, the answer
is a 400 naming the field, never a 500, and nothing is stored. The routes are read from the
app itself, so a new route is covered the day it is added."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest

from lockgate.app import create_app
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.jsonvalues import NOT_UNICODE, NUL
from lockgate.kit.limits import MAX_JSON_DEPTH, MAX_PAGE
from lockgate.kit.settings import Settings
from tests.contract.client import ContractClient

_OPERATIONS = [
    (method.upper(), path, operation)
    for path, item in create_app(Settings(database_url="sqlite://")).openapi()["paths"].items()
    for method, operation in item.items()
]


def _parameters(operation: dict[str, Any], where: str) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p["in"] == where]


def _url(path: str, values: dict[str, str] | None = None) -> str:
    """``path`` with each ``{param}`` replaced (``x`` unless given), percent-encoded."""
    values = values or {}
    return re.sub(r"{(\w+)}", lambda m: quote(values.get(m.group(1), "x"), safe=""), path)


def _error(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status and body["message"].startswith("Invalid request.")
    return body["errors"][0]  # type: ignore[no-any-return]


PAGED = [(m, p) for m, p, op in _OPERATIONS if "page" in _parameters(op, "query")]
PATH_PARAMETERS = [(m, p, name) for m, p, op in _OPERATIONS for name in _parameters(op, "path")]
QUERY_FILTERS = [
    (m, p, name)
    for m, p, op in _OPERATIONS
    for name in _parameters(op, "query")
    if name not in {"page", "limit"}
]


def test_routes__read_from_the_app__cover_every_family() -> None:
    assert len(PAGED) >= 20 and len(PATH_PARAMETERS) >= 100 and len(QUERY_FILTERS) >= 30
    assert any(p.startswith("/v1/") for _, p, _ in PATH_PARAMETERS)


@pytest.mark.parametrize(("method", "path"), PAGED)
@pytest.mark.parametrize("page", ["99999999999999999999999", "1.5e400", str(MAX_PAGE + 1)])
def test_list__page_past_any_offset__400_names_page(
    console: ContractClient, method: str, path: str, page: str
) -> None:
    response = console.request(method, _url(path), params={"page": page})

    problem = _error(response)
    assert (problem["property"], problem["in"]) == ("page", "query")


@pytest.mark.parametrize(("method", "path", "name"), PATH_PARAMETERS)
def test_any_route__nul_in_path_parameter__400_names_it(
    console: ContractClient, method: str, path: str, name: str
) -> None:
    response = console.request(method, _url(path, {name: "a\x00b"}))

    assert _error(response) == {"property": name, "in": "path", "message": NUL}


@pytest.mark.parametrize(("method", "path", "name"), QUERY_FILTERS)
def test_any_route__nul_in_query_parameter__400_names_it(
    console: ContractClient, method: str, path: str, name: str
) -> None:
    response = console.request(method, _url(path), params={name: "a\x00b"})

    assert _error(response) == {"property": name, "in": "query", "message": NUL}


@pytest.mark.parametrize("name", ["tags", "idType", "typeReason"])
def test_list__nul_in_repeated_filter__400_names_it(console: ContractClient, name: str) -> None:
    response = console.get("/console/v1/gates", params=[(name, "ok"), (name, "a\x00")])

    assert _error(response) == {"property": name, "in": "query", "message": NUL}


def test_any_route__unknown_key_and_nul__401_first(anonymous: ContractClient) -> None:
    response = anonymous.get("/console/v1/gates/a%00b", headers={"STATSIG-API-KEY": "nope"})

    assert response.status_code == 401


def _deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


GROUPS = [
    {"name": "control", "size": 50, "parameterValues": {"p": 1}},
    {"name": "test", "size": 50, "parameterValues": {"p": 2}},
]
RULE = {"name": "r", "passPercentage": 10, "conditions": [{"type": "public"}]}


def _with_parameter(value: Any) -> list[dict[str, Any]]:
    return [GROUPS[0], {**GROUPS[1], "parameterValues": {"p": value}}]


# (what, path, body, the field the 400 names)
BODIES: list[tuple[str, str, dict[str, Any], str]] = [
    ("tag name", "/tags", {"name": "a\x00b", "description": ""}, "name"),
    ("tag description", "/tags", {"name": "tag", "description": "a\x00"}, "description"),
    ("key description", "/keys", {"type": "SERVER", "description": "\x00"}, "description"),
    ("gate description", "/gates", {"name": "gate", "description": "\x00"}, "description"),
    ("gate tag", "/gates", {"name": "gate", "tags": ["ok", "a\x00"]}, "tags.1"),
    (
        "condition value",
        "/gates",
        {
            "name": "gate",
            "rules": [
                {
                    **RULE,
                    "conditions": [{"type": "user_id", "operator": "any", "targetValue": ["\x00"]}],
                }
            ],
        },
        "rules.0.conditions.0.targetValue.0",
    ),
    (
        "config value text",
        "/dynamic_configs",
        {"name": "cfg", "defaultValue": {"a": "\x00"}},
        "defaultValue.a",
    ),
    (
        "config value key",
        "/dynamic_configs",
        {"name": "cfg", "defaultValue": {"\x00": 1}},
        "defaultValue",
    ),
    (
        "config value integer",
        "/dynamic_configs",
        {"name": "cfg", "defaultValue": {"a": 2**64}},
        "defaultValue.a",
    ),
    (
        "config value depth",
        "/dynamic_configs",
        {"name": "cfg", "defaultValue": _deep(MAX_JSON_DEPTH)},
        "defaultValue.a.a.a.a.a.a.a.…",
    ),
    (
        "return value",
        "/dynamic_configs",
        {"name": "cfg", "rules": [{**RULE, "returnValue": {"a": [-(2**63) - 1]}}]},
        "rules.0.returnValue.a.0",
    ),
    (
        "return value depth",
        "/dynamic_configs",
        {"name": "cfg", "rules": [{**RULE, "returnValue": _deep(255)}]},
        "rules.0.returnValue.a.a.a.a.a.…",
    ),
    (
        "parameter value",
        "/experiments",
        {"name": "exp", "hypothesis": "h", "groups": _with_parameter("\x00")},
        "groups.1.parameterValues.p",
    ),
    (
        "parameter value integer",
        "/experiments",
        {"name": "exp", "hypothesis": "h", "groups": _with_parameter(2**70)},
        "groups.1.parameterValues.p",
    ),
    (
        "layer parameter",
        "/layers",
        {
            "name": "layer",
            "idType": "userID",
            "parameters": [{"name": "p", "type": "object", "defaultValue": _deep(300)}],
        },
        "parameters.0.defaultValue.a.a.a.a.a.…",
    ),
]


@pytest.mark.parametrize(
    ("path", "body", "field"), [case[1:] for case in BODIES], ids=[case[0] for case in BODIES]
)
def test_create__value_no_database_or_sdk_takes__400_names_it_and_stores_nothing(
    console: ContractClient, path: str, body: dict[str, Any], field: str
) -> None:
    before = console.get(f"/console/v1{path}").json()["pagination"]["totalItems"]

    response = console.post(f"/console/v1{path}", json=body)

    problem = _error(response)
    assert (problem["property"], problem["in"]) == (field, "body")
    assert console.get(f"/console/v1{path}").json()["pagination"]["totalItems"] == before


@pytest.mark.parametrize(
    ("raw", "field", "problem"),
    [
        (b'{"name": "cfg", "defaultValue": {"a": NaN}}', "defaultValue.a", "nan"),
        (b'{"name": "cfg", "defaultValue": {"a": -Infinity}}', "defaultValue.a", "-inf"),
        (b'{"name": "cfg", "defaultValue": {"a": "\\ud800"}}', "defaultValue.a", NOT_UNICODE),
    ],
)
def test_create_config__json_without_a_json_meaning__400_names_it(
    console: ContractClient, raw: bytes, field: str, problem: str
) -> None:
    response = console.post(
        "/console/v1/dynamic_configs", content=raw, headers={"content-type": "application/json"}
    )

    error = _error(response)
    assert error["property"] == field and problem in error["message"]


@pytest.mark.parametrize(
    ("json5", "problem"),
    [
        ("{a: '\\0'}", NUL),
        ("{a: 0x1FFFFFFFFFFFFFFFF}", "outside the signed 64-bit integers"),
        ("{a:" * 101 + "1" + "}" * 101, "nests deeper than"),
    ],
)
def test_create_config__json5_value_no_database_takes__400_names_it(
    console: ContractClient, json5: str, problem: str
) -> None:
    response = console.post(
        "/console/v1/dynamic_configs", json={"name": "cfg", "defaultValueJson5": json5}
    )

    error = _error(response)
    assert error["property"].startswith("defaultValueJson5") and problem in error["message"]


def test_id_list__nul_in_an_id__400_names_it(console: ContractClient) -> None:
    created = console.post(
        "/console/v1/segments", json={"name": "ids", "type": "id_list", "description": ""}
    )
    assert created.status_code == 201, created.text

    response = console.patch("/console/v1/segments/ids/id_list", json={"ids": ["u1", "u\x002"]})

    assert _error(response) == {"property": "ids.1", "in": "body", "message": NUL}
    assert console.get("/console/v1/segments/ids/id_list").json()["data"]["count"] == 0


def test_update_key__nul_in_description__400_and_unchanged(
    console: ContractClient, project: Bootstrap
) -> None:
    key_id = project.server_key

    response = console.patch(f"/console/v1/keys/{key_id}", json={"description": "a\x00"})

    assert _error(response)["property"] == "description"
    assert "\x00" not in console.get(f"/console/v1/keys/{key_id}").json()["data"]["description"]
