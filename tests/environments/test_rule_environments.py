"""Environment names and target apps written in rules and overrides, on every path that writes
them: an unknown or blank environment is a 400 naming where it is written and changes nothing,
a name in another case is stored as the project spells it, and a ``target_app`` condition
names apps by id or name and is stored with their ids."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.client import ContractClient

EVERYONE = {"type": "public", "operator": None, "targetValue": None}
EMAIL = {"type": "email", "operator": "any", "targetValue": ["a@example.com"]}
RULE = {"name": "r", "passPercentage": 100, "conditions": [EVERYONE], "environments": ["qa"]}
SEGMENT_RULE = {**RULE, "conditions": [EMAIL]}
GROUPS = [
    {"name": "control", "size": 50, "parameterValues": {}},
    {"name": "test", "size": 50, "parameterValues": {}},
]


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def _given_entities(console: ContractClient) -> None:
    kept = {"name": "a", "environments": ["staging"]}
    _ok(console.post("/console/v1/gates", json={"name": "g one", "rules": [{**RULE, **kept}]}))
    body = {"name": "c one", "rules": [{**RULE, **kept}]}
    _ok(console.post("/console/v1/dynamic_configs", json=body))
    body = {"name": "s one", "type": "rule_based", "rules": [{**SEGMENT_RULE, **kept}]}
    _ok(console.post("/console/v1/segments", json=body))
    body = {"name": "e one", "hypothesis": "h", "groups": GROUPS}
    _ok(console.post("/console/v1/experiments", json=body))


READS = {
    "gates": "/console/v1/gates/g_one",
    "dynamic_configs": "/console/v1/dynamic_configs/c_one",
    "segments": "/console/v1/segments/s_one",
    "experiments": "/console/v1/experiments/e_one",
}
ID_OVERRIDE = {"groupID": "control", "ids": ["u"], "unitType": "userID", "environment": "qa"}


@pytest.mark.parametrize(
    ("method", "path", "body", "where"),
    [
        ("post", "/console/v1/gates", {"name": "g two", "rules": [RULE]}, None),
        ("post", "/console/v1/gates/g_one/rule", RULE, "rules[1].environments[0]"),
        ("post", "/console/v1/gates/g_one/rules", {"rules": [RULE]}, "rules[1].environments[0]"),
        ("patch", "/console/v1/gates/g_one", {"rules": [RULE]}, None),
        (
            "post",
            "/console/v1/gates/g_one",
            {"description": "d", "isEnabled": True, "rules": [RULE]},
            None,
        ),
        (
            "patch",
            "/console/v1/gates/g_one/rules/{rule}",
            {"environments": ["staging", "qa"]},
            "rules[0].environments[1]",
        ),
        ("post", "/console/v1/dynamic_configs", {"name": "c two", "rules": [RULE]}, None),
        ("post", "/console/v1/dynamic_configs/c_one/rule", RULE, "rules[1].environments[0]"),
        ("post", "/console/v1/dynamic_configs/c_one/rules", {"rules": [RULE]}, "rules[1]."),
        ("patch", "/console/v1/dynamic_configs/c_one", {"rules": [RULE]}, None),
        ("patch", "/console/v1/dynamic_configs/c_one/rule/name/a", {"environments": ["qa"]}, None),
        (
            "post",
            "/console/v1/segments",
            {"name": "s two", "type": "rule_based", "rules": [SEGMENT_RULE]},
            None,
        ),
        ("post", "/console/v1/segments/s_one/conditional", {"rules": [SEGMENT_RULE]}, None),
        (
            "post",
            "/console/v1/experiments",
            {"name": "e two", "hypothesis": "h", "inlineTargetingRules": [RULE]},
            "inlineTargetingRules[0].environments[0]",
        ),
        (
            "patch",
            "/console/v1/experiments/e_one",
            {"inlineTargetingRules": [RULE]},
            "inlineTargetingRules[0].environments[0]",
        ),
        (
            "post",
            "/console/v1/experiments/e_one/overrides",
            {"overrides": [], "userIDOverrides": [ID_OVERRIDE]},
            "overrides.userIDOverrides[0].environment",
        ),
    ],
)
def test_write__unknown_environment__400_naming_where_and_nothing_changes(
    console: ContractClient, method: str, path: str, body: dict[str, Any], where: str | None
) -> None:
    # Given: one entity of each kind, each with a rule limited to staging
    _given_entities(console)
    rule_id = _ok(console.get(READS["gates"]))["rules"][0]["id"]
    before = {kind: _ok(console.get(read)) for kind, read in READS.items()}
    # When: a rule or override names an environment the project does not have
    response = getattr(console, method)(path.format(rule=rule_id), json=body)
    # Then: a 400 in the error envelope says where, and nothing was written
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["status"] == 400
    assert (
        "unknown environment 'qa' (the project has: development, staging, production)"
        in (error["message"])
    )
    [detail] = error["errors"]
    assert detail["property"].startswith(where or "rules[0].environments[0]")
    assert {kind: _ok(console.get(read)) for kind, read in READS.items()} == before
    assert console.get("/console/v1/gates/g_two").status_code == 404


@pytest.mark.parametrize("blank", ["", "  "])
def test_create_gate__blank_environment__400(console: ContractClient, blank: str) -> None:
    rule = {**RULE, "environments": ["staging", blank]}
    response = console.post("/console/v1/gates", json={"name": "blank env", "rules": [rule]})
    assert response.status_code == 400, response.text
    [detail] = response.json()["errors"]
    assert detail == {
        "property": "rules[0].environments[1]",
        "in": "body",
        "message": "an environment name must not be blank",
    }
    assert console.get("/console/v1/gates/blank_env").status_code == 404


def test_add_rule__environment_in_other_case__stored_as_project_spells_it_and_scoped_key_sees_it(
    console: ContractClient, anonymous: ContractClient
) -> None:
    # Given: a gate, and a server key limited to staging
    _ok(console.post("/console/v1/gates", json={"name": "cased"}))
    key = _ok(
        console.post(
            "/console/v1/keys",
            json={"type": "SERVER", "description": "staging", "environments": ["staging"]},
        )
    )["key"]
    # When: a rule names the environment in capitals (twice)
    rule = {**RULE, "environments": ["STAGING", "Staging"]}
    gate = _ok(console.post("/console/v1/gates/cased/rule", json=rule))
    # Then: it is stored once, as the project spells it, and the scoped key receives the rule
    assert gate["rules"][0]["environments"] == ["staging"]
    payload = anonymous.get(f"/v2/download_config_specs/{key}.json").json()
    assert len(payload["feature_gates"]["cased"]["rules"]) == 1


def test_gate_rules__target_app_condition__named_by_name_stored_as_id_unknown_400(
    console: ContractClient,
) -> None:
    # Given: a target app
    app = _ok(console.post("/console/v1/target_app", json={"name": "web", "description": ""}))
    _ok(console.post("/console/v1/gates", json={"name": "apps"}))

    def condition(*apps: str) -> dict[str, Any]:
        target = {"type": "target_app", "operator": "any", "targetValue": list(apps)}
        return {"name": "app", "passPercentage": 100, "conditions": [EVERYONE, target]}

    # When/Then: an unknown app is a 400 naming the condition, and the gate keeps no rule
    response = console.post("/console/v1/gates/apps/rule", json=condition("web", "nope"))
    assert response.status_code == 400, response.text
    [detail] = response.json()["errors"]
    assert detail["property"] == "rules[0].conditions[1].targetValue"
    assert detail["message"] == "target app 'nope' does not exist"
    assert _ok(console.get("/console/v1/gates/apps"))["rules"] == []
    # When/Then: the app named by its name (and by its id) is stored once, by id
    gate = _ok(console.post("/console/v1/gates/apps/rule", json=condition("web", app["id"])))
    assert gate["rules"][0]["conditions"][1]["targetValue"] == [app["id"]]


def test_keys__environments_in_other_case__stored_as_project_spells_them_and_scoped(
    console: ContractClient, anonymous: ContractClient
) -> None:
    # Given: a gate with a rule limited to staging
    rule = {**RULE, "environments": ["staging"]}
    _ok(console.post("/console/v1/gates", json={"name": "staged", "rules": [rule]}))
    # When: a key names staging in capitals (twice)
    body = {"type": "SERVER", "description": "d", "environments": ["STAGING", "Staging"]}
    secret = _ok(console.post("/console/v1/keys", json=body))["key"]
    key_id = secret[: len("secret-") + 12]
    # Then: it is stored as the project spells it, and its payload has the staging rule
    assert _ok(console.get(f"/console/v1/keys/{key_id}"))["environments"] == ["staging"]
    payload = anonymous.get(f"/v2/download_config_specs/{secret}.json").json()
    assert payload["default_environment"] == "staging"
    assert len(payload["feature_gates"]["staged"]["rules"]) == 1
    # And: an update is stored the same way; an unknown name is a 400 naming its place
    changed = console.patch(f"/console/v1/keys/{key_id}", json={"environments": ["Production"]})
    assert changed.status_code == 200, changed.text
    assert _ok(console.get(f"/console/v1/keys/{key_id}"))["environments"] == ["production"]
    refused = console.patch(
        f"/console/v1/keys/{key_id}", json={"environments": ["production", "qa"]}
    )
    assert refused.status_code == 400
    [detail] = refused.json()["errors"]
    assert detail["property"] == "environments[1]"
    assert _ok(console.get(f"/console/v1/keys/{key_id}"))["environments"] == ["production"]
