"""The rules editors of dynamic configs and rule-based segments without a browser: a rule added
on the page is what the Console API reads and what the SDK API evaluates; a value off the
config's schema is refused next to its field and changes nothing; a read-only member's forged
posts are 403s; the review rules hold changes back. In process, on both databases."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from lockgate.faces.web.changes import REVIEW_NOTICE
from tests.contract.client import ContractClient
from tests.web.signed import Signed

CONFIG = "banner"
SEGMENT = "staff"
SCHEMA = (
    '{"type": "object", "properties": {"title": {"type": "string"}, "cta": {"type": "string"}},'
    ' "required": ["title", "cta"]}'
)
DEFAULT = {"title": "Hello", "cta": "Look"}
STAFF_VALUE = {"title": "Hi team", "cta": "Dogfood"}


@pytest.fixture()
def sdk(app: FastAPI, project: Bootstrap) -> Iterator[ContractClient]:
    with ContractClient(app, key=project.server_key) as client:
        yield client


@pytest.fixture()
def config(api: ContractClient) -> dict[str, Any]:
    """A config with a schema, its default value on it, and one rule for staff."""
    body = {
        "name": CONFIG,
        "defaultValue": DEFAULT,
        "schema": SCHEMA,
        "rules": [
            {
                "name": "Beta",
                "passPercentage": 100,
                "conditions": [{"type": "user_id", "operator": "any", "targetValue": ["beta"]}],
                "returnValue": {"title": "Beta", "cta": "Try"},
            }
        ],
    }
    created = api.post("/console/v1/dynamic_configs", json=body)
    assert created.status_code == 201, created.text
    stored: dict[str, Any] = created.json()["data"]
    return stored


@pytest.fixture()
def segment(api: ContractClient) -> dict[str, Any]:
    body = {
        "name": SEGMENT,
        "type": "rule_based",
        "rules": [
            {
                "name": "Beta",
                "passPercentage": 100,
                "conditions": [{"type": "user_id", "operator": "any", "targetValue": ["beta"]}],
            }
        ],
    }
    created = api.post("/console/v1/segments", json=body)
    assert created.status_code == 201, created.text
    stored: dict[str, Any] = created.json()["data"]
    return stored


def _stored(api: ContractClient, path: str) -> dict[str, Any]:
    document: dict[str, Any] = api.get(f"/console/v1/{path}").json()["data"]
    return document


def _get_config(sdk: ContractClient, user: dict[str, Any]) -> dict[str, Any]:
    response = sdk.post("/v1/get_config", json={"configName": CONFIG, "user": user})
    assert response.status_code == 200, response.text
    served: dict[str, Any] = response.json()
    return served


def _check_gate(sdk: ContractClient, gate: str, user: dict[str, Any]) -> bool:
    response = sdk.post("/v1/check_gate", json={"gateName": gate, "user": user})
    assert response.status_code == 200, response.text
    return bool(response.json()["value"])


STAFF_RULE = {
    "rule_name": "Staff",
    "criteria": "email",
    "operator": "str_ends_with_any",
    "values": "@acme.com",
    "pass_percentage": "100",
}


def test_config_rule__added_with_a_json_value__console_api_and_sdk_agree(
    admin: Signed, api: ContractClient, sdk: ContractClient, config: dict[str, Any]
) -> None:
    # Given a config with a schema, when a rule with a JSON value is added on its page,
    form = {**STAFF_RULE, "return_value": '{"title": "Hi team",\n "cta": "Dogfood"}'}
    response = admin.post(f"/ui/dynamic_configs/{CONFIG}/rules", form)
    assert response.status_code == 303
    # then the Console API holds it after the existing rule, with the value as typed,
    rules = _stored(api, f"dynamic_configs/{CONFIG}")["rules"]
    assert [r["name"] for r in rules] == ["Beta", "Staff"]
    staff = rules[1]
    assert staff["returnValue"] == STAFF_VALUE and staff["passPercentage"] == 100
    assert [(c["type"], c["operator"], c["targetValue"]) for c in staff["conditions"]] == [
        ("email", "str_ends_with_any", ["@acme.com"])
    ]
    # the SDK API serves it to staff, and the default to everyone else,
    served = _get_config(sdk, {"userID": "u1", "email": "ann@acme.com"})
    assert served["value"] == STAFF_VALUE and served["rule_id"] == staff["id"]
    assert _get_config(sdk, {"userID": "u2", "email": "bob@else.com"})["value"] == DEFAULT
    # the page shows it as a band with its sentence and value, and the change is audited.
    page = html.unescape(admin.get(f"/ui/dynamic_configs/{CONFIG}").text)
    assert "email ends with any of @acme.com → 100% pass" in page
    assert "Return value of Staff (JSON)" in page and '"title": "Hi team"' in page
    audit = api.get("/console/v1/audit_logs").json()["data"]
    [entry] = [e for e in audit if e["name"] == CONFIG and e["modifierEmail"] == "admin@acme.com"]
    assert entry["actionType"] == "config_conditions_update"
    # When its value and split change and the first rule goes, the SDK follows.
    staff_path = f"/ui/dynamic_configs/{CONFIG}/rules/{staff['id']}"
    value = '{"title": "Hi all", "cta": "Go"}'
    assert admin.post(f"{staff_path}/value", {"return_value": value}).status_code == 303
    assert admin.post(f"{staff_path}/split", {"pass_percentage": "0"}).status_code == 303
    beta = f"/ui/dynamic_configs/{CONFIG}/rules/{rules[0]['id']}/delete"
    assert admin.post(beta, {}).status_code == 303
    [kept] = _stored(api, f"dynamic_configs/{CONFIG}")["rules"]
    assert kept["returnValue"] == {"title": "Hi all", "cta": "Go"} and kept["passPercentage"] == 0
    assert _get_config(sdk, {"userID": "u1", "email": "ann@acme.com"})["value"] == DEFAULT


@pytest.mark.parametrize(
    ("where", "value", "fragment"),
    [
        ("add", '{"title": "Hi team"}', "returnValue: does not match the schema: &#39;cta&#39;"),
        ("add", '{"title": 7, "cta": "x"}', "7 is not of type &#39;string&#39; at &#39;title&#39;"),
        ("add", '{"title": "Hi",', "The return value is not valid JSON"),
        ("add", "[1, 2]", "must be a JSON object, got array"),
        ("change", '{"cta": "Go"}', "returnValue: does not match the schema: &#39;title&#39;"),
        ("change", '{"title": "x"\n "cta": "y"}', "at line 2, column 2"),
    ],
    ids=["add-missing", "add-type", "add-json", "add-array", "change-missing", "change-json"],
)
def test_config_rule__value_refused__422_next_to_the_field_and_nothing_changed(
    admin: Signed,
    api: ContractClient,
    config: dict[str, Any],
    where: str,
    value: str,
    fragment: str,
) -> None:
    before = _stored(api, f"dynamic_configs/{CONFIG}")
    if where == "add":
        path, field_id = f"/ui/dynamic_configs/{CONFIG}/rules", "rule-value"
        form = {**STAFF_RULE, "return_value": value}
    else:
        rule_id = config["rules"][0]["id"]
        path, field_id = f"/ui/dynamic_configs/{CONFIG}/rules/{rule_id}/value", "value-1"
        form = {"return_value": value}
    response = admin.post(path, form)
    assert response.status_code == 422
    page = response.text
    # The problem stands next to the field, which is marked invalid and keeps what was typed.
    error = re.search(rf'<p class="error" role="alert" id="{field_id}-error">([^<]+)</p>', page)
    assert error is not None and fragment in error.group(1)
    field = re.search(rf'<textarea id="{field_id}"[^>]*>([^<]*)</textarea>', page, re.S)
    assert field is not None and html.unescape(field.group(1)) == value
    assert f'aria-describedby="{field_id}-error"' in page
    if where == "add":
        assert 'value="Staff"' in page  # the rest of the form is kept too
    assert _stored(api, f"dynamic_configs/{CONFIG}") == before


def test_config_schema__inferred_from_the_default__saved_and_then_enforced(
    admin: Signed, api: ContractClient, config: dict[str, Any]
) -> None:
    assert (
        api.patch(f"/console/v1/dynamic_configs/{CONFIG}", json={"schema": None}).status_code == 200
    )
    page = admin.get(f"/ui/dynamic_configs/{CONFIG}", schema="infer").text
    assert "Inferred from the default value" in page
    field = re.search(r'<textarea id="schema"[^>]*>([^<]*)</textarea>', page)
    assert field is not None
    inferred = html.unescape(field.group(1))
    assert api.get(f"/console/v1/dynamic_configs/{CONFIG}").json()["data"]["schema"] is None
    saved = admin.post(f"/ui/dynamic_configs/{CONFIG}/schema", {"schema": inferred})
    assert saved.status_code == 303
    rule_id = config["rules"][0]["id"]
    refused = admin.post(
        f"/ui/dynamic_configs/{CONFIG}/rules/{rule_id}/value", {"return_value": '{"title": 1}'}
    )
    assert refused.status_code == 422 and "does not match the schema" in refused.text


def test_segment_rule__added_on_the_page__gate_on_the_segment_follows(
    admin: Signed, api: ContractClient, sdk: ContractClient, segment: dict[str, Any]
) -> None:
    # Given a gate that passes the users of a rule-based segment,
    gate = {
        "name": "staff_gate",
        "rules": [
            {
                "name": "In staff",
                "passPercentage": 100,
                "conditions": [{"type": "passes_segment", "targetValue": [SEGMENT]}],
            }
        ],
    }
    assert api.post("/console/v1/gates", json=gate).status_code == 201
    ann = {"userID": "ann", "email": "ann@acme.com"}
    assert _check_gate(sdk, "staff_gate", ann) is False
    page = admin.get(f"/ui/segments/{SEGMENT}").text
    assert '<a href="/ui/gates/staff_gate">staff_gate</a>' in page
    # when a rule is added to the segment on its page,
    assert admin.post(f"/ui/segments/{SEGMENT}/rules", STAFF_RULE).status_code == 303
    # then the Console API holds both rules, the first one unchanged, and the gate lets staff in.
    rules = _stored(api, f"segments/{SEGMENT}")["rules"]
    assert [r["name"] for r in rules] == ["Beta", "Staff"]
    assert rules[0] == segment["rules"][0]
    assert _check_gate(sdk, "staff_gate", ann) is True
    assert _check_gate(sdk, "staff_gate", {"userID": "bob", "email": "bob@else.com"}) is False
    assert _check_gate(sdk, "staff_gate", {"userID": "beta"}) is True
    # A split of 0% keeps staff out; deleting the rule keeps only Beta.
    staff_path = f"/ui/segments/{SEGMENT}/rules/{rules[1]['id']}"
    assert admin.post(f"{staff_path}/split", {"pass_percentage": "0"}).status_code == 303
    assert _check_gate(sdk, "staff_gate", ann) is False
    assert admin.post(f"{staff_path}/delete", {}).status_code == 303
    assert [r["name"] for r in _stored(api, f"segments/{SEGMENT}")["rules"]] == ["Beta"]
    audit = api.get("/console/v1/audit_logs").json()["data"]
    mine = [e for e in audit if e["name"] == SEGMENT and e["modifierEmail"] == "admin@acme.com"]
    assert len(mine) == 3 and {e["actionType"] for e in mine} == {"config_conditions_update"}


@pytest.mark.parametrize(
    ("form", "fragment"),
    [
        ({**STAFF_RULE, "rule_name": "beta"}, "rule name &#39;beta&#39; is used by another rule"),
        ({**STAFF_RULE, "pass_percentage": "lots"}, "The pass percentage must be a number"),
        ({**STAFF_RULE, "operator": "gt"}, "operator &#39;gt&#39; is not valid for email"),
        ({**STAFF_RULE, "criteria": "moon"}, "Unknown criteria &#39;moon&#39;"),
    ],
    ids=["name-taken", "percentage", "operator", "criteria"],
)
def test_segment_rule__refused__422_with_the_problem_and_nothing_changed(
    admin: Signed,
    api: ContractClient,
    segment: dict[str, Any],
    form: dict[str, str],
    fragment: str,
) -> None:
    before = _stored(api, f"segments/{SEGMENT}")
    response = admin.post(f"/ui/segments/{SEGMENT}/rules", form)
    assert response.status_code == 422 and fragment in response.text
    assert '<details class="add-rule" open>' in response.text
    assert _stored(api, f"segments/{SEGMENT}") == before


def test_segment_page__id_list__no_rules_editor(admin: Signed, api: ContractClient) -> None:
    created = admin.post("/ui/segments", {"name": "listed", "type": "id_list"})
    assert created.status_code == 303
    page = admin.get("/ui/segments/listed").text
    assert "ID List (0)" in page and "Add rule" not in page
    refused = admin.post("/ui/segments/listed/rules", STAFF_RULE)
    assert refused.status_code == 422 and "rule_based" in refused.text
    assert _stored(api, "segments/listed")["type"] == "id_list"


def test_rules_editors__read_only_member__controls_disabled_and_forged_posts_403(
    reader: Signed, api: ContractClient, config: dict[str, Any], segment: dict[str, Any]
) -> None:
    page = reader.get(f"/ui/dynamic_configs/{CONFIG}").text
    assert 'disabled title="Your role cannot edit configs"' in page and "Save rule" in page
    page = reader.get(f"/ui/segments/{SEGMENT}").text
    assert 'disabled title="Your role cannot edit segments"' in page and "Save rule" in page
    before = (_stored(api, f"dynamic_configs/{CONFIG}"), _stored(api, f"segments/{SEGMENT}"))
    config_rule = f"/ui/dynamic_configs/{CONFIG}/rules/{config['rules'][0]['id']}"
    segment_rule = f"/ui/segments/{SEGMENT}/rules/{segment['rules'][0]['id']}"
    forged = [
        (f"/ui/dynamic_configs/{CONFIG}/rules", {**STAFF_RULE, "return_value": "{}"}),
        (f"{config_rule}/value", {"return_value": '{"title": "x", "cta": "y"}'}),
        (f"{config_rule}/split", {"pass_percentage": "5"}),
        (f"{config_rule}/delete", {}),
        (f"/ui/dynamic_configs/{CONFIG}/default", {"value": '{"title": "x", "cta": "y"}'}),
        (f"/ui/dynamic_configs/{CONFIG}/schema", {"schema": ""}),
        (f"/ui/segments/{SEGMENT}/rules", STAFF_RULE),
        (f"{segment_rule}/split", {"pass_percentage": "5"}),
        (f"{segment_rule}/delete", {}),
        ("/ui/segments", {"name": "sneaky", "type": "rule_based"}),
    ]
    for path, data in forged:
        assert reader.post(path, data).status_code == 403, path
    after = (_stored(api, f"dynamic_configs/{CONFIG}"), _stored(api, f"segments/{SEGMENT}"))
    assert after == before
    assert [s["id"] for s in api.get("/console/v1/segments").json()["data"]] == [SEGMENT]


def _require_reviews(api: ContractClient) -> None:
    settings = {
        "is_config_review_required": True,
        "is_metric_review_required": False,
        "is_metric_review_required_on_verified_only": False,
    }
    assert api.post("/console/v1/settings/reviews", json=settings).status_code == 200


@pytest.mark.parametrize("kind", ["config", "segment"])
def test_rule_change__reviews_required__submitted_for_review_not_applied(
    admin: Signed,
    api: ContractClient,
    config: dict[str, Any],
    segment: dict[str, Any],
    kind: str,
) -> None:
    _require_reviews(api)
    path = f"dynamic_configs/{CONFIG}" if kind == "config" else f"segments/{SEGMENT}"
    before = _stored(api, path)
    form = {**STAFF_RULE, "return_value": '{"title": "a", "cta": "b"}'}
    response = admin.post(f"/ui/{path}/rules", form if kind == "config" else STAFF_RULE)
    assert response.status_code == 303
    assert response.headers["location"].endswith("?submitted=review")
    assert REVIEW_NOTICE in admin.get(response.headers["location"]).text
    after = _stored(api, path)
    assert after["rules"] == before["rules"] and after.get("activeReview") is not None
    assert len(api.get(f"/console/v1/{path}/reviews").json()["data"]) == 1


@pytest.mark.parametrize(
    ("action", "form"),
    [
        ("rules", STAFF_RULE),
        ("overrides", {"passing": "u1", "failing": ""}),
        ("disable", {}),
    ],
)
def test_gate_change__reviews_required__submitted_for_review_not_applied(
    admin: Signed, api: ContractClient, action: str, form: dict[str, str]
) -> None:
    body = {"name": "checkout", "description": "", "isEnabled": True, "rules": []}
    assert api.post("/console/v1/gates", json=body).status_code == 201
    _require_reviews(api)
    before = _stored(api, "gates/checkout")

    response = admin.post(f"/ui/gates/checkout/{action}", form)

    assert response.status_code == 303
    assert response.headers["location"].endswith("?submitted=review")
    assert REVIEW_NOTICE in admin.get(response.headers["location"]).text
    after = _stored(api, "gates/checkout")
    assert {k: v for k, v in after.items() if k != "activeReview"} == {
        k: v for k, v in before.items() if k != "activeReview"
    }
    assert after.get("activeReview") is not None
    assert len(api.get("/console/v1/gates/checkout/reviews").json()["data"]) == 1


def _scoped_sdk(app: FastAPI, api: ContractClient, environment: str) -> ContractClient:
    """An SDK client on a server key scoped to one environment."""
    body = {"type": "SERVER", "description": environment, "environments": [environment]}
    created = api.post("/console/v1/keys", json=body)
    assert created.status_code == 200, created.text
    return ContractClient(app, key=created.json()["data"]["key"])


def test_gate_rule__limited_to_environments__scoped_keys_see_it_or_not(
    admin: Signed, api: ContractClient, app: FastAPI
) -> None:
    # Given a gate, and server keys scoped to staging and to production
    assert api.post("/console/v1/gates", json={"name": "env_gate"}).status_code == 201
    staff = {"userID": "ann", "email": "ann@acme.com"}
    with _scoped_sdk(app, api, "staging") as staging, _scoped_sdk(app, api, "production") as prod:
        # When a rule limited to staging is added on the gate's page
        added = admin.post("/ui/gates/env_gate/rules", {**STAFF_RULE, "environments": "staging"})
        assert added.status_code == 303
        # Then the Console API holds it so, only the staging key's SDK sees it, and the page
        # says where it applies
        [rule] = _stored(api, "gates/env_gate")["rules"]
        assert rule["environments"] == ["staging"]
        assert _check_gate(staging, "env_gate", staff) is True
        assert _check_gate(prod, "env_gate", staff) is False
        page = admin.get("/ui/gates/env_gate").text
        assert '<p class="rule-envs" data-environments="staging">Environments: staging</p>' in page
        assert "Return value of" not in page  # a gate's rules have no return value to edit
        # When its environments change to development and production (in the project's order)
        path = f"/ui/gates/env_gate/rules/{rule['id']}/environments"
        changed = admin.client.request(
            "POST",
            path,
            data={"csrf": admin.csrf, "environments": ["production", "development"]},
        )
        assert changed.status_code == 303
        assert _stored(api, "gates/env_gate")["rules"][0]["environments"] == [
            "development",
            "production",
        ]
        assert _check_gate(staging, "env_gate", staff) is False
        assert _check_gate(prod, "env_gate", staff) is True
        # When none is checked, the rule applies in every environment again
        assert admin.post(path, {}).status_code == 303
        assert _stored(api, "gates/env_gate")["rules"][0].get("environments") is None
        assert _check_gate(staging, "env_gate", staff) is True
        assert _check_gate(prod, "env_gate", staff) is True
        assert "Environments: every environment" in admin.get("/ui/gates/env_gate").text


def test_config_rule__limited_to_production__only_the_production_key_gets_its_value(
    admin: Signed, api: ContractClient, app: FastAPI, config: dict[str, Any]
) -> None:
    form = {
        **STAFF_RULE,
        "return_value": '{"title": "Hi team", "cta": "Dogfood"}',
        "environments": "production",
    }
    assert admin.post(f"/ui/dynamic_configs/{CONFIG}/rules", form).status_code == 303
    assert _stored(api, f"dynamic_configs/{CONFIG}")["rules"][1]["environments"] == ["production"]
    staff = {"userID": "ann", "email": "ann@acme.com"}
    with _scoped_sdk(app, api, "staging") as staging, _scoped_sdk(app, api, "production") as prod:
        assert _get_config(prod, staff)["value"] == STAFF_VALUE
        assert _get_config(staging, staff)["value"] == DEFAULT
    page = admin.get(f"/ui/dynamic_configs/{CONFIG}").text
    assert "Environments of Staff (none checked: every environment)" in page
    assert 'data-environments="production">Environments: production</p>' in page


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        (
            f"/ui/dynamic_configs/{CONFIG}/rules",
            {**STAFF_RULE, "return_value": "{}", "environments": "moon"},
            "Unknown environment &#39;moon&#39;: this project&#39;s environments are "
            "development, staging, production.",
        ),
        (
            f"/ui/dynamic_configs/{CONFIG}/rules/RULE/environments",
            {"environments": "moon"},
            "Unknown environment &#39;moon&#39;",
        ),
        (
            f"/ui/segments/{SEGMENT}/rules",
            {**STAFF_RULE, "environments": "staging"},
            "Environments limit only gate and dynamic config rules.",
        ),
    ],
    ids=["add-unknown", "change-unknown", "segment"],
)
def test_rule_environments__refused__422_with_the_problem_and_nothing_changed(
    admin: Signed,
    api: ContractClient,
    config: dict[str, Any],
    segment: dict[str, Any],
    path: str,
    data: dict[str, str],
    message: str,
) -> None:
    before = (_stored(api, f"dynamic_configs/{CONFIG}"), _stored(api, f"segments/{SEGMENT}"))

    refused = admin.post(path.replace("RULE", config["rules"][0]["id"]), data)

    assert refused.status_code == 422
    assert message in refused.text and 'role="alert"' in refused.text
    after = (_stored(api, f"dynamic_configs/{CONFIG}"), _stored(api, f"segments/{SEGMENT}"))
    assert after == before


def test_rule_environments__read_only_member__forged_posts_403_and_nothing_changed(
    reader: Signed, api: ContractClient, config: dict[str, Any]
) -> None:
    assert (
        api.post(
            "/console/v1/gates",
            json={
                "name": "env_gate",
                "rules": [
                    {"name": "All", "passPercentage": 100, "conditions": [{"type": "public"}]}
                ],
            },
        ).status_code
        == 201
    )
    gate_rule = _stored(api, "gates/env_gate")["rules"][0]["id"]
    page = reader.get(f"/ui/dynamic_configs/{CONFIG}").text
    assert (
        'disabled title="Your role cannot edit configs" aria-label="Save environments of Beta"'
        in page
    )
    before = (_stored(api, f"dynamic_configs/{CONFIG}"), _stored(api, "gates/env_gate"))
    forged = [
        (f"/ui/dynamic_configs/{CONFIG}/rules/{config['rules'][0]['id']}/environments", {}),
        (f"/ui/gates/env_gate/rules/{gate_rule}/environments", {"environments": "staging"}),
        ("/ui/gates/env_gate/rules", {**STAFF_RULE, "environments": "staging"}),
    ]
    for path, data in forged:
        assert reader.post(path, data).status_code == 403, path
    after = (_stored(api, f"dynamic_configs/{CONFIG}"), _stored(api, "gates/env_gate"))
    assert after == before
