"""The Environments resource: defaults, whole-list replacement, production kept, names unique,
references block removal, renames follow into references, and what scoped SDK keys receive."""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.domains.projects.service import Bootstrap
from tests.contract.client import ContractClient

BASE = "/console/v1/environments"
EVERYONE = {"type": "public", "operator": None, "targetValue": None}


def _envs(console: ContractClient) -> list[dict[str, Any]]:
    response = console.get(BASE)
    assert response.status_code == 200, response.text
    return response.json()["data"]["environments"]  # type: ignore[no-any-return]


def _post(console: ContractClient, environments: list[dict[str, Any]]) -> Any:
    return console.post(BASE, json={"environments": environments})


def _error(response: Any) -> str:
    assert response.status_code == 400, response.text
    return response.json()["message"]  # type: ignore[no-any-return]


def _new(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "isProduction": False,
        "requiresReview": False,
        "requiresReleasePipeline": True,
    }


def _renamed(envs: list[dict[str, Any]], old: str, new: str) -> list[dict[str, Any]]:
    return [{**e, "name": new} if e["name"] == old else e for e in envs]


def _dcs(sdk: ContractClient, key: str) -> Any:
    response = sdk.get(f"/v2/download_config_specs/{key}.json")
    assert response.status_code == 200, response.text
    return response.json()


def _key(
    console: ContractClient, key_type: str, environments: list[str], scopes: tuple[str, ...] = ()
) -> str:
    response = console.post(
        "/console/v1/keys",
        json={
            "type": key_type,
            "description": "scoped",
            "environments": environments,
            "scopes": list(scopes),
        },
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]["key"]  # type: ignore[no-any-return]


def _env_gate(console: ContractClient, name: str, environments: list[str]) -> None:
    rule = {"name": "on", "passPercentage": 100, "conditions": [EVERYONE]}
    response = console.post(
        "/console/v1/gates", json={"name": name, "rules": [{**rule, "environments": environments}]}
    )
    assert response.status_code == 201, response.text


def test_read_environments__new_project__three_defaults_with_stable_ids(
    console: ContractClient,
) -> None:
    response = console.get(BASE)
    assert response.json()["message"] == "Environments read successfully."
    envs = response.json()["data"]["environments"]
    assert [(e["name"], e["isProduction"], e["requiresReview"]) for e in envs] == [
        ("development", False, False),
        ("staging", False, False),
        ("production", True, True),
    ]
    assert all(e["requiresReleasePipeline"] for e in envs)
    assert len({e["id"] for e in envs}) == 3
    assert _envs(console) == envs


def test_update_environments__add_and_reorder__order_kept_ids_stable_audited(
    console: ContractClient,
) -> None:
    before = _envs(console)
    dev, staging, prod = before
    response = _post(console, [staging, _new("latest"), dev, prod])
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "Environments updated successfully."
    after = response.json()["data"]["environments"]
    assert [e["name"] for e in after] == ["staging", "latest", "development", "production"]
    assert [after[0]["id"], after[2]["id"], after[3]["id"]] == [
        staging["id"],
        dev["id"],
        prod["id"],
    ]
    assert after == _envs(console)
    audit = console.get(
        "/console/v1/audit_logs", params={"actionType": "company_environments_edit"}
    )
    assert len(audit.json()["data"]) == 1


def test_update_environments__entries_without_ids__matched_by_name(
    console: ContractClient,
) -> None:
    before = _envs(console)
    without_ids = [{k: v for k, v in e.items() if k != "id"} for e in before]
    after = _post(console, without_ids).json()["data"]["environments"]
    assert [e["id"] for e in after] == [e["id"] for e in before]


def test_update_environments__production_settings__may_change(console: ContractClient) -> None:
    envs = _envs(console)
    envs[2] = {**envs[2], "requiresReview": False, "requiresReleasePipeline": False}
    after = _post(console, envs).json()["data"]["environments"]
    assert after[2]["requiresReview"] is False and after[2]["requiresReleasePipeline"] is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda envs: envs[:2], "the production environment 'production' cannot be removed"),
        (
            lambda envs: _renamed(envs, "production", "prod"),
            "the production environment 'production' cannot be renamed",
        ),
        (
            lambda envs: [*envs[:2], {**envs[2], "isProduction": False}],
            "the production environment 'production' must stay production",
        ),
        (
            lambda envs: [{**envs[0], "isProduction": True}, *envs[1:]],
            "a project has one production environment",
        ),
        (lambda envs: [*envs, _new("Staging")], "'Staging' appears more than once"),
        (lambda envs: [*envs, _new("  ")], "must not be blank"),
        (lambda envs: [*envs, {**_new("qa"), "id": "0.123"}], "no environment has id '0.123'"),
        (
            lambda envs: [*envs[:2], {**envs[2], "requiredReviewGroupID": "team1"}],
            "no team has id 'team1'",
        ),
    ],
)
def test_update_environments__broken_rule__400_and_unchanged(
    console: ContractClient, change: Any, message: str
) -> None:
    before = _envs(console)
    assert message in _error(_post(console, change([dict(e) for e in before])))
    assert _envs(console) == before


def test_update_environments__empty_list__400(console: ContractClient) -> None:
    assert _post(console, []).status_code == 400


def test_update_environments__removing_referenced__400_names_referents(
    console: ContractClient,
) -> None:
    _env_gate(console, "staged gate", ["staging"])
    _key(console, "SERVER", ["staging"])
    dev, _, prod = _envs(console)
    message = _error(_post(console, [dev, prod]))
    assert "environment 'staging' cannot be removed: used by gate staged_gate, key secret-" in (
        message
    )
    assert [e["name"] for e in _envs(console)] == ["development", "staging", "production"]


def test_update_environments__removing_override_environment__400(
    console: ContractClient,
) -> None:
    console.post("/console/v1/gates", json={"name": "a gate"})
    override = {"environment": "development", "unitID": None, "passingIDs": ["u"]}
    override["failingIDs"] = []
    response = console.post(
        "/console/v1/gates/a_gate/overrides", json={"environmentOverrides": [override]}
    )
    assert response.status_code == 201, response.text
    _, staging, prod = _envs(console)
    assert "used by gate a_gate" in _error(_post(console, [staging, prod]))


def test_update_environments__removing_unreferenced__removed(console: ContractClient) -> None:
    dev, _, prod = _envs(console)
    after = _post(console, [dev, prod]).json()["data"]["environments"]
    assert [e["name"] for e in after] == ["development", "production"]
    assert "unknown environment 'staging'" in _error(
        console.post(
            "/console/v1/keys",
            json={"type": "SERVER", "description": "x", "environments": ["staging"]},
        )
    )


def test_update_environments__rename__follows_into_rules_overrides_keys_and_payload(
    console: ContractClient, anonymous: ContractClient, project: Bootstrap
) -> None:
    _env_gate(console, "staged gate", ["staging"])
    override = {"environment": "staging", "unitID": None, "passingIDs": ["u"], "failingIDs": []}
    console.post(
        "/console/v1/gates/staged_gate/overrides", json={"environmentOverrides": [override]}
    )
    key = _key(console, "SERVER", ["staging"])
    key_id = key[: len("secret-") + 12]
    time_before = _dcs(anonymous, project.server_key)["time"]
    response = _post(console, _renamed(_envs(console), "staging", "qa"))
    assert response.status_code == 200, response.text
    gate = console.get("/console/v1/gates/staged_gate").json()["data"]
    assert gate["rules"][0]["environments"] == ["qa"]
    overrides = console.get("/console/v1/gates/staged_gate/overrides").json()["data"]
    assert [o["environment"] for o in overrides["environmentOverrides"]] == ["qa"]
    assert console.get(f"/console/v1/keys/{key_id}").json()["data"]["environments"] == ["qa"]
    payload = _dcs(anonymous, key)
    assert payload["time"] > time_before and payload["default_environment"] == "qa"
    rule = payload["feature_gates"]["staged_gate"]["rules"][-1]
    assert rule["conditions"]
    tiers = [
        c["targetValue"]
        for c in payload["condition_map"].values()
        if c["type"] == "environment_field"
    ]
    assert ["qa"] in tiers and ["staging"] not in tiers


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/console/v1/gates",
            {
                "name": "bad env gate",
                "rules": [
                    {
                        "name": "r",
                        "passPercentage": 100,
                        "conditions": [EVERYONE],
                        "environments": ["prod"],
                    }
                ],
            },
        ),
        ("/console/v1/keys", {"type": "SERVER", "description": "x", "environments": ["prod"]}),
    ],
)
def test_write__unknown_environment__400(
    console: ContractClient, path: str, body: dict[str, Any]
) -> None:
    assert "unknown environment 'prod'" in _error(console.post(path, json=body))


def test_update_key__environments_only__audited_as_environment_change(
    console: ContractClient,
) -> None:
    key_id = _key(console, "SERVER", ["staging"])[: len("secret-") + 12]
    response = console.patch(f"/console/v1/keys/{key_id}", json={"environments": ["production"]})
    assert response.status_code == 200, response.text
    actions = console.get("/console/v1/audit_logs", params={"id": key_id}).json()["data"]
    assert "sdk_key_update_environments" in [a["actionType"] for a in actions]


# -- what scoped keys receive -------------------------------------------------------------------


def test_dcs__single_environment_key__other_rules_dropped_default_environment_set(
    console: ContractClient, anonymous: ContractClient, project: Bootstrap
) -> None:
    _env_gate(console, "staged gate", ["staging"])
    _env_gate(console, "prod gate", ["production"])
    scoped = _dcs(anonymous, _key(console, "SERVER", ["staging"]))
    assert scoped["default_environment"] == "staging"
    assert len(scoped["feature_gates"]["staged_gate"]["rules"]) == 1
    assert scoped["feature_gates"]["prod_gate"]["rules"] == []
    two = _dcs(anonymous, _key(console, "SERVER", ["staging", "production"]))
    assert "default_environment" not in two
    assert len(two["feature_gates"]["prod_gate"]["rules"]) == 1
    whole = _dcs(anonymous, project.server_key)
    assert "default_environment" not in whole
    assert len(whole["feature_gates"]["prod_gate"]["rules"]) == 1


def test_http_api__scoped_key__tier_from_key_unless_user_sets_one(
    console: ContractClient,
) -> None:
    _env_gate(console, "staged gate", ["staging"])
    staging = {"STATSIG-API-KEY": _key(console, "SERVER", ["staging"])}
    production = {"STATSIG-API-KEY": _key(console, "SERVER", ["production"])}

    def check(headers: dict[str, str], user: dict[str, Any]) -> bool:
        body = {"gateName": "staged_gate", "user": user}
        response = console.post("/v1/check_gate", json=body, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()["value"]  # type: ignore[no-any-return]

    assert check(staging, {"userID": "u"}) is True
    assert check(production, {"userID": "u"}) is False
    assert check(staging, {"userID": "u", "statsigEnvironment": {"tier": "development"}}) is False
    assert check(production, {"userID": "u", "statsigEnvironment": {"tier": "staging"}}) is False


def test_initialize__client_key_limited_to_staging__staging_rule_applies(
    console: ContractClient, anonymous: ContractClient
) -> None:
    _env_gate(console, "staged gate", ["staging"])
    _env_gate(console, "prod gate", ["production"])
    key = _key(console, "CLIENT", ["staging"], ("none_hash_enabled",))
    response = anonymous.post(
        f"/v1/initialize?k={key}", json={"user": {"userID": "u"}, "hash": "none"}
    )
    assert response.status_code == 200, response.text
    gates = response.json()["feature_gates"]
    values = {g["name"]: g["value"] for g in gates.values()}
    assert values.get("staged_gate") is True
    assert values.get("prod_gate") is not True
