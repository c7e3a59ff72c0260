"""Entities have bounded sizes, since every SDK downloads every entity: a list or document past
its bound is a 400 naming it, nothing is stored, and what SDKs download stays small."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.limits import (
    MAX_CONDITIONS_PER_RULE,
    MAX_ENTITY_BYTES,
    MAX_GROUPS,
    MAX_PARAMETERS,
    MAX_RULES,
    MAX_TARGET_VALUES,
)
from tests.contract.client import ContractClient

GATES = "/console/v1/gates"
PUBLIC = {"type": "public"}


def _rule(name: str, conditions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"name": name, "passPercentage": 100, "conditions": conditions or [PUBLIC]}


def _ids(count: int) -> dict[str, Any]:
    values = [f"user-{i:08d}" for i in range(count)]
    return {"type": "user_id", "operator": "any", "targetValue": values}


def _error(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    return response.json()["errors"][0]  # type: ignore[no-any-return]


def test_create_gate__900k_target_values__400_and_sdks_download_nothing_more(
    console: ContractClient, app: FastAPI, project: Bootstrap
) -> None:
    response = console.post(GATES, json={"name": "huge", "rules": [_rule("r", [_ids(900_000)])]})

    problem = _error(response)
    assert problem["property"] == 'rules[0] "r" condition 0 (user_id)'
    assert f"at most {MAX_TARGET_VALUES} values, got 900000" in problem["message"]
    assert "id-list segment" in problem["message"]
    with ContractClient(app) as sdk:
        spec = sdk.get(f"/v2/download_config_specs/{project.server_key}.json")
    assert spec.json()["feature_gates"] == {} and len(spec.content) < 10_000


def test_create_gate__target_values_at_the_bound__stored(console: ContractClient) -> None:
    response = console.post(
        GATES, json={"name": "full", "rules": [_rule("r", [_ids(MAX_TARGET_VALUES)])]}
    )

    assert response.status_code == 201, response.text


def test_create_gate__too_many_conditions__400_names_the_rule(console: ContractClient) -> None:
    conditions = [PUBLIC] * (MAX_CONDITIONS_PER_RULE + 1)

    response = console.post(GATES, json={"name": "busy", "rules": [_rule("r", conditions)]})

    assert _error(response) == {
        "property": "rules.0.conditions",
        "in": "body",
        "message": f"holds {MAX_CONDITIONS_PER_RULE + 1} conditions; at most "
        f"{MAX_CONDITIONS_PER_RULE} are allowed",
    }


def test_add_gate_rule__one_past_the_bound__400_and_rules_unchanged(
    console: ContractClient,
) -> None:
    rules = [_rule(f"r{i}") for i in range(MAX_RULES)]
    assert console.post(GATES, json={"name": "many", "rules": rules}).status_code == 201

    response = console.post(f"{GATES}/many/rule", json=_rule("one more"))

    problem = _error(response)
    assert problem["property"] == "rules" and f"at most {MAX_RULES}" in problem["message"]
    assert len(console.get(f"{GATES}/many").json()["data"]["rules"]) == MAX_RULES


def test_create_config__document_past_the_bound__400_names_body(console: ContractClient) -> None:
    value = {"blob": "x" * MAX_ENTITY_BYTES}

    response = console.post(
        "/console/v1/dynamic_configs", json={"name": "cfg", "defaultValue": value}
    )

    problem = _error(response)
    assert problem["property"] == "body"
    assert f"at most {MAX_ENTITY_BYTES}" in problem["message"]
    assert console.get("/console/v1/dynamic_configs").json()["data"] == []


def _groups_past_the_bound() -> list[dict[str, Any]]:
    """MAX_GROUPS + 1 groups whose sizes (two decimals) add up to 100."""
    sizes = [100 - 0.99 * MAX_GROUPS] + [0.99] * MAX_GROUPS
    return [{"name": f"g{i}", "size": size, "parameterValues": {}} for i, size in enumerate(sizes)]


@pytest.mark.parametrize(
    ("path", "body", "field", "what", "bound"),
    [
        (
            "/console/v1/experiments",
            {"name": "exp", "hypothesis": "h", "groups": _groups_past_the_bound()},
            "groups",
            "groups",
            MAX_GROUPS,
        ),
        (
            "/console/v1/experiments",
            {
                "name": "exp",
                "hypothesis": "h",
                "groups": [
                    {"name": "a", "size": 50, "parameterValues": {}},
                    {
                        "name": "b",
                        "size": 50,
                        "parameterValues": {f"p{i}": i for i in range(MAX_PARAMETERS + 1)},
                    },
                ],
            },
            "groups.1.parameterValues",
            "parameters",
            MAX_PARAMETERS,
        ),
        (
            "/console/v1/layers",
            {
                "name": "layer",
                "idType": "userID",
                "parameters": [
                    {"name": f"p{i}", "type": "number", "defaultValue": i}
                    for i in range(MAX_PARAMETERS + 1)
                ],
            },
            "parameters",
            "parameters",
            MAX_PARAMETERS,
        ),
    ],
    ids=["experiment groups", "group parameters", "layer parameters"],
)
def test_create__list_past_its_bound__400_names_it(
    console: ContractClient, path: str, body: dict[str, Any], field: str, what: str, bound: int
) -> None:
    response = console.post(path, json=body)

    assert _error(response) == {
        "property": field,
        "in": "body",
        "message": f"holds {bound + 1} {what}; at most {bound} are allowed",
    }
    assert console.get(path).json()["data"] == []
