"""Dynamic config rules: read, update and delete by id, and the five by-name and bulk
operations of older spec copies (checked against the DynamicConfigDto envelope here, since
the contract validator only knows the official spec)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.configs.support import BASE, EVERYONE, assert_config_envelope, create, rule
from tests.contract.client import ContractClient

ADDED = "Dynamic Config rules added successfully."
UPDATED = "Dynamic Config rules updated successfully."
DELETED = "Dynamic Config rule deleted successfully."


def test_read_rules__list_envelope_of_one_rules_dto(console: ContractClient) -> None:
    create(console, rules=[rule("One", {"n": 1}), rule("Two", {"n": 2})])
    response = console.get(f"{BASE}/a_config/rules")
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Dynamic Config rules read successfully."
    assert [r["name"] for r in body["data"][0]["rules"]] == ["One", "Two"]
    assert body["pagination"]["totalItems"] == 1


def test_read_rule__by_id_and_base_id__same_rule(console: ContractClient) -> None:
    created = create(console, rules=[rule("One", {"n": 1}, passPercentage=10)])
    rule_id = created["rules"][0]["id"]
    console.patch(f"{BASE}/a_config/rule/{rule_id}", json={"passPercentage": 20})
    current = console.get(f"{BASE}/a_config/rules").json()["data"][0]["rules"][0]
    assert current["id"] == f"{rule_id}:20.00:1" and current["baseID"] == rule_id
    for key in (current["id"], rule_id):
        response = console.get(f"{BASE}/a_config/rule/{key}")
        assert response.status_code == 200
        assert response.json() == {
            "message": "Dynamic Config rules read successfully.",
            "data": current,
        }


def test_update_rule_by_id__partial__merged_and_validated(console: ContractClient) -> None:
    created = create(console, rules=[rule("One", {"n": 1}, passPercentage=40)])
    rule_id = created["rules"][0]["id"]
    response = console.patch(
        f"{BASE}/a_config/rule/{rule_id}", json={"returnValueJson5": "{n: 2, // two\n}"}
    )
    assert response.status_code == 200 and response.json()["message"] == UPDATED
    updated = response.json()["data"]["rules"][0]
    assert updated["returnValue"] == {"n": 2} and updated["returnValueJson5"].startswith("{n: 2")
    assert updated["passPercentage"] == 40 and updated["id"] == rule_id
    assert updated["conditions"] == [{"type": "public"}]
    assert response.json()["data"]["version"] == 2


def test_update_rule_by_id__unknown_rule__404_names_it(console: ContractClient) -> None:
    create(console, rules=[rule("One")])
    response = console.patch(f"{BASE}/a_config/rule/nope", json={"passPercentage": 5})
    assert response.status_code == 404
    assert response.json()["message"] == "Rule 'nope' not found in this Dynamic Config."


def test_delete_rule_by_id__returns_config_without_it(console: ContractClient) -> None:
    created = create(console, rules=[rule("One"), rule("Two")])
    response = console.delete(f"{BASE}/a_config/rule/{created['rules'][0]['id']}")
    assert response.status_code == 200 and response.json()["message"] == DELETED
    assert [r["name"] for r in response.json()["data"]["rules"]] == ["Two"]


def test_add_rule__appended__readable_by_id_and_by_name(console: ContractClient) -> None:
    create(console, rules=[rule("First", {"n": 1})])
    response = console.post(
        f"{BASE}/a_config/rule",
        json={
            "name": "Beta Users",
            "conditions": [{"type": "user_id", "operator": "any", "targetValue": ["u1"]}],
            "returnValue": {"n": 2},
            "passPercentage": 25,
            "id": "ignored",
        },
    )
    assert response.status_code == 200
    data = assert_config_envelope(response.json(), ADDED)
    added = data["rules"][-1]
    assert [r["name"] for r in data["rules"]] == ["First", "Beta Users"]
    assert added["id"] != "ignored" and added["passPercentage"] == 25
    assert console.get(f"{BASE}/a_config/rule/{added['id']}").json()["data"] == added
    by_name = console.patch(f"{BASE}/a_config/rule/name/beta users", json={})
    assert by_name.status_code == 200
    assert assert_config_envelope(by_name.json(), UPDATED)["rules"][-1] == added


def test_add_rules__several__appended_in_order(console: ContractClient) -> None:
    create(console, rules=[rule("First")])
    response = console.post(
        f"{BASE}/a_config/rules", json={"rules": [rule("Second"), rule("Third", {"x": 1})]}
    )
    assert response.status_code == 200
    data = assert_config_envelope(response.json(), ADDED)
    assert [r["name"] for r in data["rules"]] == ["First", "Second", "Third"]
    assert data["version"] == 2


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/rule", rule("first"), "rule name 'first' is used by another rule"),
        ("/rules", {"rules": [rule("New"), rule("NEW")]}, "rule name 'NEW' is used"),
        (
            "/rule",
            {"name": "X", "conditions": EVERYONE, "returnValue": []},
            'rules[0] "X" returnValue: must be a JSON object',
        ),
        ("/rules", {"rules": [{"name": "X"}]}, "conditions is required"),
        ("/rule", {"name": "X", "conditions": [{"type": "country"}]}, "needs an operator"),
    ],
)
def test_add_rules__bad_rule__400_and_unchanged(
    console: ContractClient, path: str, body: dict[str, Any], message: str
) -> None:
    create(console, rules=[rule("First")])
    response = console.post(f"{BASE}/a_config{path}", json=body)
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert console.get(f"{BASE}/a_config").json()["data"]["version"] == 1


def test_add_rule__value_breaks_schema__400_names_rule(console: ContractClient) -> None:
    create(console, schema='{"type": "object", "properties": {"n": {"type": "number"}}}')
    response = console.post(f"{BASE}/a_config/rule", json=rule("Bad", {"n": "one"}))
    assert response.status_code == 400
    assert response.json()["message"] == (
        'Invalid request. rules[0] "Bad" returnValue: does not match the schema: '
        "'one' is not of type 'number' at 'n'"
    )


def test_update_rule_by_name__case_insensitive__updated(console: ContractClient) -> None:
    created = create(console, rules=[rule("Beta Users", {"n": 1}), rule("Other")])
    response = console.patch(
        f"{BASE}/a_config/rule/name/BETA USERS",
        json={"name": "Beta", "returnValue": {"n": 9}, "environments": ["staging"]},
    )
    assert response.status_code == 200
    data = assert_config_envelope(response.json(), UPDATED)
    beta = data["rules"][0]
    assert beta["name"] == "Beta" and beta["returnValue"] == {"n": 9}
    assert beta["environments"] == ["staging"] and beta["id"] == created["rules"][0]["id"]
    collide = console.patch(f"{BASE}/a_config/rule/name/beta", json={"name": "other"})
    assert collide.status_code == 400
    assert collide.json()["message"] == (
        "Invalid request. rules[1] \"Other\": rule name 'Other' is used by another rule "
        '(rules[0] "other")'
    )


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_rule_by_name__unknown_name__404_names_rule(console: ContractClient, method: str) -> None:
    create(console, rules=[rule("One")])
    kwargs: dict[str, Any] = {"json": {}} if method == "patch" else {}
    response = getattr(console, method)(f"{BASE}/a_config/rule/name/Ghost", **kwargs)
    assert response.status_code == 404
    assert response.json() == {
        "status": 404,
        "message": "Rule named 'Ghost' not found in this Dynamic Config.",
    }


def test_delete_rule_by_name__removed(console: ContractClient) -> None:
    create(console, rules=[rule("One"), rule("Two")])
    response = console.delete(f"{BASE}/a_config/rule/name/one")
    assert response.status_code == 200
    data = assert_config_envelope(response.json(), DELETED)
    assert [r["name"] for r in data["rules"]] == ["Two"]


def test_update_rules__listed_rules_updated_in_place(console: ContractClient) -> None:
    created = create(console, rules=[rule("One", {"n": 1}), rule("Two", {"n": 2}), rule("Three")])
    one, two, _ = created["rules"]
    response = console.patch(
        f"{BASE}/a_config/rules",
        json={
            "rules": [
                {"id": two["id"], "returnValue": {"n": 22}, "passPercentage": 50},
                {"baseID": one["baseID"], "name": "Uno"},
                {"name": "three", "returnValue": {"n": 3}},
            ]
        },
    )
    assert response.status_code == 200
    data = assert_config_envelope(response.json(), UPDATED)
    assert [r["name"] for r in data["rules"]] == ["Uno", "Two", "Three"]
    assert data["rules"][1]["returnValue"] == {"n": 22}
    assert data["rules"][1]["id"] == f"{two['baseID']}:50.00:1"
    assert data["rules"][0]["returnValue"] == {"n": 1}
    assert data["rules"][2]["returnValue"] == {"n": 3}
    assert data["version"] == 2


def test_update_rules__unknown_id__400_and_unchanged(console: ContractClient) -> None:
    create(console, rules=[rule("One")])
    response = console.patch(
        f"{BASE}/a_config/rules",
        json={
            "rules": [
                {"name": "One", "returnValue": {"a": 1}},
                {"id": "ghost", "passPercentage": 1},
            ]
        },
    )
    assert response.status_code == 400
    assert response.json()["message"] == (
        "Invalid request. rules[1]: no rule 'ghost' in this Dynamic Config"
    )
    assert console.get(f"{BASE}/a_config").json()["data"]["rules"][0]["returnValue"] == {}


def test_rule_variants__stored_and_round_tripped(console: ContractClient) -> None:
    data = create(
        console,
        rules=[
            rule(
                "Split",
                variants=[
                    {"name": "A", "passPercentage": 50, "returnValue": {"v": "a"}},
                    {"name": "B", "passPercentage": 50, "returnValueJson5": "{v: 'b'}"},
                ],
            )
        ],
    )
    variants = data["rules"][0]["variants"]
    assert [v["returnValue"] for v in variants] == [{"v": "a"}, {"v": "b"}]
    assert all(len(v["id"]) == 22 for v in variants)
    rule_id = data["rules"][0]["id"]
    kept = console.patch(f"{BASE}/a_config/rule/{rule_id}", json={"passPercentage": 10})
    assert kept.json()["data"]["rules"][0]["variants"] == variants
