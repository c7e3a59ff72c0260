"""Gate rules: add one or several, read, update in place, delete, and rule validation."""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import EntityKind
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.actor import Actor, Change
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.storage.models import Segment
from tests.contract.client import ContractClient
from tests.gates.support import GATES, create_gate, error, rule

COUNTRY_CA = {"type": "country", "operator": "any", "targetValue": ["CA"]}


def test_add_rule__appended_and_read_back(console: ContractClient) -> None:
    create_gate(console, "A Gate", rules=[rule("first")])
    response = console.post(f"{GATES}/a_gate/rule", json=rule("Canada", 25, COUNTRY_CA))
    assert response.status_code == 200
    assert response.json()["message"] == "Gate rules added successfully."
    assert [r["name"] for r in response.json()["data"]["rules"]] == ["first", "Canada"]
    read = console.get(f"{GATES}/a_gate/rules").json()
    assert read["message"] == "Gate rules read successfully."
    (listed,) = read["data"]
    canada = listed["rules"][1]
    assert canada["passPercentage"] == 25 and canada["conditions"] == [COUNTRY_CA]


def test_add_rules__several_appended_in_order(console: ContractClient) -> None:
    create_gate(console, "A Gate")
    body = {"rules": [rule("one", 10), rule("two", 20)]}
    gate = console.post(f"{GATES}/a_gate/rules", json=body).json()["data"]
    assert [(r["name"], r["passPercentage"]) for r in gate["rules"]] == [("one", 10), ("two", 20)]
    assert gate["version"] == 2


def test_add_rule__name_of_existing_rule__400(console: ContractClient) -> None:
    create_gate(console, "A Gate", rules=[rule("dup")])
    message = error(console.post(f"{GATES}/a_gate/rule", json=rule("DUP")))
    assert message == "Invalid request. rules: rule name 'DUP' is used by another rule"


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            {"type": "planet", "targetValue": ["mars"]},
            "condition 0 (planet): unknown condition type 'planet'",
        ),
        (
            {"type": "country", "operator": "gt", "targetValue": 3},
            "operator 'gt' is not valid for country",
        ),
        (
            {"type": "custom_field", "operator": "any", "targetValue": ["x"]},
            "custom_field needs 'field'",
        ),
        (
            {"type": "unit_id", "operator": "any", "targetValue": ["x"]},
            "unit_id needs 'customID'",
        ),
        (
            {"type": "passes_gate", "targetValue": "ghost"},
            "passes_gate names gate 'ghost', which does not exist",
        ),
        (
            {"type": "passes_segment", "targetValue": "ghost"},
            "passes_segment names segment 'ghost', which does not exist",
        ),
        (
            {"type": "app_version", "operator": "version_gt", "targetValue": "one"},
            "needs a version like 1.2.3",
        ),
    ],
)
def test_add_rule__bad_condition__400_naming_rule_and_condition(
    console: ContractClient, condition: dict[str, Any], message: str
) -> None:
    create_gate(console, "A Gate")
    got = error(console.post(f"{GATES}/a_gate/rule", json=rule("bad", 100, condition)))
    assert got.startswith('Invalid request. rules[0] "bad"') and message in got
    assert console.get(f"{GATES}/a_gate").json()["data"]["version"] == 1


@pytest.mark.parametrize(
    ("pct", "message"),
    [
        (101, "passPercentage must be between 0 and 100, got 101"),
        (-1, "passPercentage must be between 0 and 100, got -1"),
        (12.345, "passPercentage allows at most 2 decimals, got 12.345"),
        (None, "passPercentage is required and must be a number"),
    ],
)
def test_add_rule__bad_pass_percentage__400(
    console: ContractClient, pct: float | None, message: str
) -> None:
    create_gate(console, "A Gate")
    body: dict[str, Any] = {"name": "r", "conditions": [], "passPercentage": pct}
    assert message in error(console.post(f"{GATES}/a_gate/rule", json=body))


def test_add_rule__missing_conditions__400(console: ContractClient) -> None:
    create_gate(console, "A Gate")
    got = error(console.post(f"{GATES}/a_gate/rule", json={"name": "r", "passPercentage": 5}))
    assert "conditions is required" in got


def test_rule__passes_gate_on_itself__400(console: ContractClient) -> None:
    create_gate(console, "A Gate")
    condition = {"type": "passes_gate", "targetValue": "a_gate"}
    got = error(console.post(f"{GATES}/a_gate/rule", json=rule("self", 100, condition)))
    assert got.startswith("Invalid request. rules: gate 'a_gate' cannot depend on itself")


def test_create_gate__passes_gate_on_itself__400(console: ContractClient) -> None:
    condition = {"type": "fails_gate", "targetValue": "a_gate"}
    got = error(console.post(GATES, json={"name": "A Gate", "rules": [rule("s", 100, condition)]}))
    assert "cannot depend on itself" in got


def test_rule__reference_cycle__400_showing_the_cycle(console: ContractClient) -> None:
    create_gate(console, "gate a")
    create_gate(
        console, "gate b", rules=[rule("b", 100, {"type": "passes_gate", "targetValue": "gate_a"})]
    )
    create_gate(
        console, "gate c", rules=[rule("c", 100, {"type": "fails_gate", "targetValue": "gate_b"})]
    )
    back = rule("a", 100, {"type": "passes_gate", "targetValue": "gate_c"})
    got = error(console.post(f"{GATES}/gate_a/rule", json=back))
    assert got == (
        "Invalid request. rules: gate references would form a cycle: "
        "gate_a → gate_c → gate_b → gate_a"
    )


def test_rule__passes_existing_segment__accepted(
    console: ContractClient, db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    # The segments resource is built separately; a row in its table is all the check reads.
    kind = EntityKind(
        model=Segment,
        entity_type="segment",
        label="Segment",
        not_found="",
        columns=lambda _doc: {"segment_type": "rule_based"},
    )
    with db.transaction() as session:
        change = Change(project.project.id, Actor(id="t", name="test"), clock.now_ms())
        entities.insert(
            session,
            kind,
            change,
            {"id": "beta_users", "name": "beta users"},
            action="segment_create",
            change_log="test",
        )
    create_gate(console, "A Gate")
    condition = {"type": "passes_segment", "targetValue": "beta_users"}
    response = console.post(f"{GATES}/a_gate/rule", json=rule("beta", 100, condition))
    assert response.status_code == 200, response.text


def test_update_rules__in_place_by_id_never_adds_or_deletes(console: ContractClient) -> None:
    gate = create_gate(console, "A Gate", rules=[rule("one", 10), rule("two", 20)])
    one, two = gate["rules"]
    body = {
        "rules": [{"id": two["id"], "passPercentage": 30}, {"baseID": one["baseID"], "name": "uno"}]
    }
    response = console.patch(f"{GATES}/a_gate/rules", json=body)
    assert response.status_code == 200, response.text
    rules = response.json()["data"]["rules"]
    assert [(r["name"], r["passPercentage"]) for r in rules] == [("uno", 10), ("two", 30)]
    # A rollout change gives the rule a composite id; its base id stays.
    assert rules[1]["baseID"] == two["baseID"] and rules[1]["id"] == f"{two['baseID']}:30.00:1"
    assert rules[0]["id"] == one["id"]


def test_update_rules__unknown_id__400_and_nothing_changes(console: ContractClient) -> None:
    create_gate(console, "A Gate", rules=[rule("one")])
    got = error(
        console.patch(
            f"{GATES}/a_gate/rules", json={"rules": [{"id": "ghost", "passPercentage": 1}]}
        )
    )
    assert got == (
        "Invalid request. rules[0]: gate 'a_gate' has no rule with id 'ghost'; "
        "this endpoint only updates existing rules"
    )
    assert console.get(f"{GATES}/a_gate").json()["data"]["version"] == 1


def test_update_rule__by_id_and_by_base_id(console: ContractClient) -> None:
    gate = create_gate(console, "A Gate", rules=[rule("one", 10)])
    first = gate["rules"][0]
    moved = console.patch(f"{GATES}/a_gate/rules/{first['id']}", json={"passPercentage": 40})
    assert moved.status_code == 200
    rule_now = moved.json()["data"]["rules"][0]
    assert rule_now["id"] == f"{first['baseID']}:40.00:1"
    renamed = console.patch(
        f"{GATES}/a_gate/rules/{first['baseID']}",
        json={"name": "renamed", "conditions": [COUNTRY_CA]},
    ).json()["data"]["rules"][0]
    assert renamed["name"] == "renamed" and renamed["passPercentage"] == 40
    assert renamed["conditions"] == [COUNTRY_CA]


def test_update_rule__bad_operator__400(console: ContractClient) -> None:
    gate = create_gate(console, "A Gate", rules=[rule("one")])
    bad = {"conditions": [{"type": "email", "operator": "version_gt", "targetValue": "1.0"}]}
    got = error(console.patch(f"{GATES}/a_gate/rules/{gate['rules'][0]['id']}", json=bad))
    assert "operator 'version_gt' is not valid for email" in got


def test_delete_rule__removed_and_unknown_rule_404(console: ContractClient) -> None:
    gate = create_gate(console, "A Gate", rules=[rule("one"), rule("two")])
    response = console.delete(f"{GATES}/a_gate/rules/{gate['rules'][0]['baseID']}")
    assert [r["name"] for r in response.json()["data"]["rules"]] == ["two"]
    missing = console.delete(f"{GATES}/a_gate/rules/ghost")
    assert missing.json() == {"status": 404, "message": "Rule 'ghost' not found in gate 'a_gate'."}
    assert console.patch(f"{GATES}/a_gate/rules/ghost", json={"name": "x"}).status_code == 404
