"""Dynamic configs: create, read, list with filters, full and partial update, delete, values."""

from __future__ import annotations

from typing import Any

import pytest

from tests.configs.support import BASE, EVERYONE, create, rule
from tests.contract.client import ContractClient


def test_create_config__name_only__201_with_defaults(console: ContractClient) -> None:
    response = console.post(BASE, json={"name": "A Config"})
    assert response.status_code == 201
    body = response.json()
    assert body["message"] == "Dynamic Config created successfully."
    data = body["data"]
    assert data["id"] == "a_config" and data["name"] == "A Config"
    assert data["defaultValue"] == {} and data["rules"] == []
    assert data["isEnabled"] is True and data["status"] == "Enabled"
    assert data["idType"] == "userID" and data["version"] == 1
    assert data["creatorName"] == "CONSOLE API" and data["lastModifierName"] == "CONSOLE API"
    assert "salt" not in data
    read = console.get(f"{BASE}/a_config")
    assert read.json() == {"message": "Dynamic config read successfully.", "data": data}


def test_create_config__full_body__stored_and_rules_get_ids(console: ContractClient) -> None:
    console.post("/console/v1/tags", json={"name": "payments", "description": ""})
    data = create(
        console,
        name="checkout.limits",
        id="checkout_limits",
        description="Limits",
        idType="stableID",
        tags=["Payments"],
        isEnabled=False,
        defaultValue={"max": 1},
        rules=[
            rule("Beta", {"max": 5}, passPercentage=50),
            {
                "name": "Staff",
                "conditions": [
                    {"type": "email", "operator": "str_contains_any", "targetValue": ["@corp.com"]}
                ],
                "returnValue": {"max": 10},
            },
        ],
    )
    assert data["id"] == "checkout_limits" and data["name"] == "checkout.limits"
    assert data["tags"] == ["payments"] and data["idType"] == "stableID"
    assert data["isEnabled"] is False and data["status"] == "Disabled"
    beta, staff = data["rules"]
    assert beta["passPercentage"] == 50 and beta["returnValue"] == {"max": 5}
    assert staff["passPercentage"] == 100  # optional on config rules
    assert beta["id"] == beta["baseID"] and len(beta["id"]) == 22
    assert "salt" not in beta and "rolloutCount" not in beta


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Invalid request. name: is required"),
        ({"name": "ab"}, "name: must be 3 to 100 characters"),
        ({"name": "bad/name"}, "may contain only"),
        ({"name": "Good", "id": "bad id"}, "id: 'bad id' may contain only"),
        ({"name": "Good", "tags": ["nope"]}, "tag 'nope' does not exist"),
        ({"name": "Good", "defaultValue": [1]}, "defaultValue: must be a JSON object, got array"),
        ({"name": "Good", "defaultValueJson5": "{a: }"}, "defaultValueJson5: is not valid JSON5"),
        ({"name": "Good", "defaultValueJson5": "'text'"}, "must be a JSON object, got string"),
        (
            {"name": "Good", "defaultValueJson5": "{a: '\\ud800'}"},
            "defaultValueJson5: is not valid JSON5 (unpaired surrogate in a string at line 1",
        ),
        (
            {"name": "Good", "defaultValue": {"a": 1}, "defaultValueJson5": "{a: 2}"},
            "defaultValueJson5: does not parse to the same JSON as defaultValue",
        ),
        ({"name": "Good", "rules": [{"conditions": EVERYONE}]}, "rules[0]: name is required"),
        (
            {"name": "Good", "rules": [rule("R"), rule("r")]},
            "rule name 'r' is used by another rule",
        ),
        (
            {"name": "Good", "rules": [{"name": "R", "conditions": EVERYONE, "returnValue": 3}]},
            'rules[0] "R" returnValue: must be a JSON object, got number',
        ),
        (
            {"name": "Good", "rules": [rule("R", passPercentage=101)]},
            "passPercentage must be between 0 and 100",
        ),
        (
            {
                "name": "Good",
                "rules": [
                    {"name": "R", "conditions": [{"type": "passes_gate", "targetValue": "ghost"}]}
                ],
            },
            "gate 'ghost', which does not exist",
        ),
        ({"name": "Good", "description": "x" * 1001}, "description"),
    ],
)
def test_create_config__bad_input__400_and_nothing_created(
    console: ContractClient, body: dict[str, Any], message: str
) -> None:
    response = console.post(BASE, json=body)
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]
    assert response.json()["message"].startswith("Invalid request. ")
    assert console.get(BASE).json()["pagination"]["totalItems"] == 0


def test_create_config__duplicate_id__400_name_in_use(console: ContractClient) -> None:
    create(console, name="A Config")
    response = console.post(BASE, json={"name": "a config"})
    assert response.json() == {"status": 400, "message": "Name is already in use"}


def test_create_config__json5_default__parsed_and_source_kept(console: ContractClient) -> None:
    text = "{\n  // the limit\n  max: 3,\n  modes: ['a', 'b',],\n}"
    data = create(console, defaultValueJson5=text)
    assert data["defaultValue"] == {"max": 3, "modes": ["a", "b"]}
    assert data["defaultValueJson5"] == text


def test_create_config__json5_rule_value__parsed(console: ContractClient) -> None:
    data = create(
        console,
        rules=[{"name": "R", "conditions": EVERYONE, "returnValueJson5": "{on: true, /*x*/}"}],
    )
    assert data["rules"][0]["returnValue"] == {"on": True}
    assert data["rules"][0]["returnValueJson5"] == "{on: true, /*x*/}"


SCHEMA = '{"type": "object", "properties": {"max": {"type": "integer"}}, "required": ["max"]}'


def test_create_config__values_match_schema__stored(console: ContractClient) -> None:
    data = create(console, schema=SCHEMA, defaultValue={"max": 1}, rules=[rule("Beta", {"max": 2})])
    assert data["schema"] == SCHEMA and data["schemaJson5"] is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"defaultValue": {"max": "lots"}},
            "Invalid request. defaultValue: does not match the schema: 'lots' is not of type "
            "'integer' at 'max'",
        ),
        (
            {"defaultValue": {}},
            "Invalid request. defaultValue: does not match the schema: 'max' is a required "
            "property",
        ),
        (
            {"defaultValue": {"max": 1}, "rules": [rule("Ok", {"max": 2}), rule("Beta", {})]},
            "Invalid request. rules[1] \"Beta\" returnValue: does not match the schema: 'max' "
            "is a required property",
        ),
        (
            {
                "defaultValue": {"max": 1},
                "rules": [{"name": "J", "conditions": EVERYONE, "returnValueJson5": "{max: 1.5}"}],
            },
            'rules[0] "J" returnValue: does not match the schema: 1.5 is not of type',
        ),
    ],
)
def test_create_config__value_breaks_schema__400_names_value_and_violation(
    console: ContractClient, body: dict[str, Any], message: str
) -> None:
    response = console.post(BASE, json={"name": "Limits", "schema": SCHEMA, **body})
    assert response.status_code == 400
    assert message in response.json()["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"schema": "{type: 'object', properties: {max: {type: 'integer'}},}"}, None),
        ({"schemaJson5": "{type: 'object', // comment\n}"}, None),
        ({"schema": '{"type": "bogus"}'}, "schema: is not a valid JSON Schema"),
        ({"schema": "[1]"}, "schema: must be a JSON object, got array"),
        ({"schema": "{not json"}, "schema: is not valid JSON5"),
        (
            {"schema": '{"type": "object"}', "schemaJson5": "{type: 'array'}"},
            "schemaJson5: does not parse to the same JSON as schema",
        ),
    ],
)
def test_create_config__schema_forms__accepted_or_400(
    console: ContractClient, body: dict[str, Any], message: str | None
) -> None:
    response = console.post(BASE, json={"name": "Schema Config", **body})
    if message is None:
        assert response.status_code == 201
        assert response.json()["data"]["schema"]
    else:
        assert response.status_code == 400
        assert message in response.json()["message"]


def test_list_configs__filters__match_spec_params(console: ContractClient) -> None:
    for name in ("core", "growth"):
        console.post("/console/v1/tags", json={"name": name, "description": ""})
    create(console, name="First Config", tags=["core"], releasePipelineID="pipe1")
    create(console, name="Second Config", tags=["growth"])
    create(console, name="Third Config", tags=["core", "growth"])

    def ids(query: str) -> list[str]:
        response = console.get(f"{BASE}{query}")
        assert response.status_code == 200
        assert response.json()["message"] == "Dynamic Configs listed successfully."
        return [c["id"] for c in response.json()["data"]]

    everything = ["first_config", "second_config", "third_config"]
    assert ids("") == everything
    assert ids("?tags=core") == ["first_config", "third_config"]
    assert ids("?tags=core&tags=growth") == everything
    assert ids("?releasePipelineID=pipe1") == ["first_config"]
    assert ids("?creatorName=console%20api") == everything
    assert ids("?creatorName=someone") == []
    assert ids("?creatorID=nobody") == []
    page = console.get(f"{BASE}?limit=2&page=2").json()
    assert [c["id"] for c in page["data"]] == ["third_config"]
    assert page["pagination"]["totalItems"] == 3 and page["pagination"]["nextPage"] is None


def test_list_configs__creator_id__matches_key_id(console: ContractClient) -> None:
    created = create(console)
    listed = console.get(f"{BASE}?creatorID={created['creatorID']}").json()["data"]
    assert [c["id"] for c in listed] == ["a_config"]


def test_full_update__replaces_document__version_bumps(console: ContractClient) -> None:
    console.post("/console/v1/tags", json={"name": "core", "description": ""})
    created = create(
        console,
        tags=["core"],
        defaultValue={"a": 1},
        rules=[rule("Old", {"a": 2})],
        schema='{"type": "object"}',
    )
    response = console.post(
        f"{BASE}/a_config",
        json={"isEnabled": False, "description": "New", "rules": [rule("New", {"b": 1})]},
    )
    assert response.status_code == 200
    assert response.json()["message"] == "Dynamic config updated successfully."
    data = response.json()["data"]
    assert data["description"] == "New" and data["isEnabled"] is False
    assert data["status"] == "Disabled"
    assert [r["name"] for r in data["rules"]] == ["New"]
    assert data["tags"] == [] and data["defaultValue"] == {} and data["schema"] is None
    assert data["name"] == created["name"] and data["version"] == 2
    assert data["createdTime"] == created["createdTime"]


@pytest.mark.parametrize("missing", ["isEnabled", "description", "rules"])
def test_full_update__required_field_missing__400_names_it(
    console: ContractClient, missing: str
) -> None:
    create(console)
    body = {"isEnabled": True, "description": "d", "rules": []}
    del body[missing]
    response = console.post(f"{BASE}/a_config", json=body)
    assert response.status_code == 400
    assert f"{missing}: is required" in response.json()["message"]
    assert console.get(f"{BASE}/a_config").json()["data"]["version"] == 1


def test_full_update__rule_with_known_id__keeps_id_and_percentage(
    console: ContractClient,
) -> None:
    created = create(console, rules=[rule("Beta", {"v": 1}, passPercentage=30)])
    old = created["rules"][0]
    response = console.post(
        f"{BASE}/a_config",
        json={
            "isEnabled": True,
            "description": "",
            "rules": [
                {"id": old["id"], "name": "Beta", "conditions": EVERYONE, "returnValue": {"v": 2}}
            ],
        },
    )
    new = response.json()["data"]["rules"][0]
    assert new["id"] == old["id"] and new["passPercentage"] == 30
    assert new["returnValue"] == {"v": 2}


def test_partial_update__only_sent_fields_change(console: ContractClient) -> None:
    create(console, description="keep", defaultValue={"a": 1}, rules=[rule("R", {"a": 2})])
    response = console.patch(f"{BASE}/a_config", json={"defaultValueJson5": "{a: 5}"})
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["defaultValue"] == {"a": 5} and data["defaultValueJson5"] == "{a: 5}"
    assert data["description"] == "keep" and data["rules"][0]["returnValue"] == {"a": 2}
    renamed = console.patch(f"{BASE}/a_config", json={"name": "Renamed Config"}).json()["data"]
    assert renamed["name"] == "Renamed Config" and renamed["id"] == "a_config"
    assert "defaultValueJson5" in renamed and renamed["version"] == 3


def test_partial_update__new_schema_breaks_existing_rule__400_and_unchanged(
    console: ContractClient,
) -> None:
    create(console, defaultValue={"max": 1}, rules=[rule("Beta", {"max": "x"})])
    response = console.patch(f"{BASE}/a_config", json={"schema": SCHEMA})
    assert response.status_code == 400
    assert response.json()["message"] == (
        'Invalid request. rules[0] "Beta" returnValue: does not match the schema: '
        "'x' is not of type 'integer' at 'max'"
    )
    assert console.get(f"{BASE}/a_config").json()["data"]["schema"] is None


def test_partial_update__schema_json5_only__schema_derived(console: ContractClient) -> None:
    create(console)
    data = console.patch(
        f"{BASE}/a_config", json={"schemaJson5": "{type: 'object' /* any object */}"}
    ).json()["data"]
    assert data["schemaJson5"] == "{type: 'object' /* any object */}"
    assert data["schema"] == '{"type": "object"}'


def test_delete_config__removes_it_and_its_versions(console: ContractClient) -> None:
    create(console)
    response = console.delete(f"{BASE}/a_config")
    assert response.json() == {"message": "Dynamic Config deleted successfully."}
    assert console.get(f"{BASE}/a_config").status_code == 404
    assert console.get(f"{BASE}/a_config/versions").status_code == 404
    assert create(console)["version"] == 1


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("post", "", {"isEnabled": True, "description": "", "rules": []}),
        ("patch", "", {}),
        ("delete", "", None),
        ("put", "/enable", None),
        ("put", "/disable", None),
        ("put", "/archive", {}),
        ("put", "/unarchive", {}),
        ("get", "/versions", None),
        ("get", "/rules", None),
        ("post", "/rules", {"rules": []}),
        ("patch", "/rules", {"rules": []}),
        ("post", "/rule", rule("R")),
        ("get", "/rule/abc", None),
        ("patch", "/rule/abc", {}),
        ("delete", "/rule/abc", None),
        ("patch", "/rule/name/R", {}),
        ("delete", "/rule/name/R", None),
    ],
)
def test_config_operation__unknown_config__404(
    console: ContractClient, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    kwargs = {} if body is None else {"json": body}
    response = getattr(console, method)(f"{BASE}/missing{suffix}", **kwargs)
    assert response.status_code == 404
    assert response.json() == {"status": 404, "message": "Dynamic Config not found."}
