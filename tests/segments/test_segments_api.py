"""The Segments resource: create, read, list, rules, archive and delete."""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.db import Database
from tests.contract.client import ContractClient
from tests.segments.conftest import SEGMENTS, audit_entries, create_segment, spec_revision

EMAIL_RULE: dict[str, Any] = {
    "name": "Staff",
    "passPercentage": 100,
    "conditions": [
        {"type": "email", "operator": "str_contains_any", "targetValue": ["@example.com"]}
    ],
}
COUNTRY_RULE = {
    "name": "Nordics",
    "passPercentage": 50,
    "conditions": [{"type": "country", "operator": "any", "targetValue": ["SE", "NO"]}],
}


def test_create_rule_based__with_rules__201_and_reads_back(console: ContractClient) -> None:
    response = console.post(
        SEGMENTS,
        json={
            "name": "Internal Staff",
            "type": "rule_based",
            "description": "people at the company",
            "rules": [EMAIL_RULE],
        },
    )
    assert response.status_code == 201
    assert response.json()["message"] == "Segment created successfully."
    created = response.json()["data"]
    assert created["id"] == "internal_staff" and created["name"] == "Internal Staff"
    assert created["type"] == "rule_based" and created["idType"] == "userID"
    assert created["isEnabled"] is True and created["version"] == 1
    assert created["description"] == "people at the company"
    [rule] = created["rules"]
    assert rule["name"] == "Staff" and rule["id"] == rule["baseID"]
    assert rule["conditions"] == [EMAIL_RULE["conditions"][0]]
    assert "salt" not in rule and "salt" not in created
    read = console.get(f"{SEGMENTS}/internal_staff")
    assert read.json() == {"message": "Segment read successfully.", "data": created}


@pytest.mark.parametrize("type_", ["id_list", "user_store_id_list"])
def test_create_list_segment__given_id_and_id_type__count_zero_no_rules(
    console: ContractClient, type_: str
) -> None:
    created = create_segment(console, "Beta Users", type_, id="beta-users", idType="stableID")
    assert created["id"] == "beta-users" and created["type"] == type_
    assert created["idType"] == "stableID" and created["count"] == 0
    assert "rules" not in created


def test_create_segment__with_tags__canonical_tag_names(console: ContractClient) -> None:
    console.post("/console/v1/tags", json={"name": "Growth", "description": ""})
    created = create_segment(console, "tagged", "id_list", tags=["growth"])
    assert created["tags"] == ["Growth"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "id_list"}, "Invalid request. name: is required"),
        ({"name": "a.b.c", "type": "id_list"}, "Invalid request. name: 'a.b.c' may contain only"),
        (
            {"name": "ok name", "id": "a.b", "type": "id_list"},
            "Invalid request. id: 'a.b' may contain only",
        ),
        ({"name": "no type"}, "Invalid request. type: is required"),
        ({"name": "bad type", "type": "cohort"}, "Invalid request. type: must be one of"),
        ({"name": "analysis", "type": "analysis_list"}, "Invalid request. type: 'analysis_list'"),
        ({"name": "blank id type", "type": "id_list", "idType": " "}, "Invalid request. idType:"),
        ({"name": "tagged", "type": "id_list", "tags": ["nope"]}, "Invalid request. tags:"),
        (
            {"name": "list with rules", "type": "id_list", "rules": [EMAIL_RULE]},
            "Invalid request. rules: only 'rule_based' segments have rules",
        ),
        (
            {
                "name": "everyone",
                "type": "rule_based",
                "rules": [
                    {"name": "all", "passPercentage": 100, "conditions": [{"type": "public"}]}
                ],
            },
            "condition type 'public' cannot be used in a segment rule",
        ),
        (
            {
                "name": "gated",
                "type": "rule_based",
                "rules": [
                    {
                        "name": "g",
                        "passPercentage": 100,
                        "conditions": [{"type": "passes_gate", "targetValue": "a_gate"}],
                    }
                ],
            },
            "condition type 'passes_gate' cannot be used in a segment rule",
        ),
        (
            {
                "name": "nested",
                "type": "rule_based",
                "rules": [
                    {
                        "name": "n",
                        "passPercentage": 100,
                        "conditions": [{"type": "passes_segment", "targetValue": "ghost"}],
                    }
                ],
            },
            "names segment 'ghost', which does not exist",
        ),
        (
            {"name": "no pct", "type": "rule_based", "rules": [{"name": "r", "conditions": []}]},
            "passPercentage is required",
        ),
    ],
)
def test_create_segment__invalid_body__400_precise_message_and_nothing_created(
    console: ContractClient, body: dict[str, Any], message: str
) -> None:
    response = console.post(SEGMENTS, json=body)
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert console.get(SEGMENTS).json()["pagination"]["totalItems"] == 0


def test_create_segment__id_taken__400_name_in_use(console: ContractClient) -> None:
    create_segment(console, "vip", "id_list")
    response = console.post(SEGMENTS, json={"name": "VIP", "type": "rule_based"})
    assert response.json() == {"status": 400, "message": "Name is already in use"}


def test_list_segments__paginated__pages_in_creation_order(console: ContractClient) -> None:
    for name in ("first", "second", "third"):
        create_segment(console, name, "id_list")
    response = console.get(SEGMENTS, params={"limit": 2})
    body = response.json()
    assert body["message"] == "Segments listed successfully."
    assert [s["id"] for s in body["data"]] == ["first", "second"]
    assert body["pagination"]["totalItems"] == 3
    assert body["pagination"]["nextPage"] == f"{SEGMENTS}?page=2&limit=2"
    second = console.get(SEGMENTS, params={"limit": 2, "page": 2}).json()
    assert [s["id"] for s in second["data"]] == ["third"]


def test_update_rules__bare_array__replaces_rules_and_keeps_rule_ids(
    console: ContractClient,
) -> None:
    created = create_segment(console, "staff", "rule_based", rules=[EMAIL_RULE])
    kept = {**created["rules"][0], "passPercentage": 100}
    response = console.post(f"{SEGMENTS}/staff/conditional", json=[kept, COUNTRY_RULE])
    assert response.status_code == 200
    assert response.json()["message"] == "Rules successfully updated"
    updated = response.json()["data"]
    assert [r["name"] for r in updated["rules"]] == ["Staff", "Nordics"]
    assert updated["rules"][0]["id"] == created["rules"][0]["id"]
    assert updated["version"] == 2
    assert console.get(f"{SEGMENTS}/staff").json()["data"] == updated


def test_update_rules__rules_object__accepted_like_bare_array(console: ContractClient) -> None:
    create_segment(console, "staff", "rule_based")
    response = console.post(f"{SEGMENTS}/staff/conditional", json={"rules": [COUNTRY_RULE]})
    assert [r["name"] for r in response.json()["data"]["rules"]] == ["Nordics"]


@pytest.mark.parametrize("type_", ["id_list", "user_store_id_list"])
def test_update_rules__list_segment__400_wrong_type(console: ContractClient, type_: str) -> None:
    create_segment(console, "a list", type_)
    response = console.post(f"{SEGMENTS}/a_list/conditional", json=[EMAIL_RULE])
    assert response.json() == {
        "status": 400,
        "message": "Segment must be of type 'rule_based' to be modified on this endpoint",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "x"}, "Invalid request. The body must be an array of rules"),
        ([{"name": "r", "passPercentage": "lots", "conditions": []}], "rules[0].passPercentage"),
        (
            [{"name": "r", "passPercentage": 10, "conditions": [{"type": "time"}]}],
            "condition type 'time' cannot be used in a segment rule",
        ),
        ([EMAIL_RULE, EMAIL_RULE], "rule name 'Staff' is used by another rule"),
    ],
)
def test_update_rules__invalid__400_and_rules_unchanged(
    console: ContractClient, body: Any, message: str
) -> None:
    created = create_segment(console, "staff", "rule_based", rules=[COUNTRY_RULE])
    response = console.post(f"{SEGMENTS}/staff/conditional", json=body)
    assert response.status_code == 400 and message in response.json()["message"]
    assert console.get(f"{SEGMENTS}/staff").json()["data"] == created


def _segment_rule(target: str) -> dict[str, Any]:
    return {
        "name": f"in {target}",
        "passPercentage": 100,
        "conditions": [{"type": "passes_segment", "targetValue": target}],
    }


def test_update_rules__names_itself__400_cycle(console: ContractClient) -> None:
    create_segment(console, "loop", "rule_based")
    response = console.post(f"{SEGMENTS}/loop/conditional", json=[_segment_rule("loop")])
    assert response.status_code == 400
    assert "would form a cycle ('loop' -> 'loop')" in response.json()["message"]


def test_update_rules__indirect_cycle__400_names_the_chain(console: ContractClient) -> None:
    create_segment(console, "seg_a", "rule_based")
    create_segment(console, "seg_b", "rule_based", rules=[_segment_rule("seg_a")])
    response = console.post(f"{SEGMENTS}/seg_a/conditional", json=[_segment_rule("seg_b")])
    assert response.status_code == 400
    assert "('seg_a' -> 'seg_b' -> 'seg_a')" in response.json()["message"]


def test_archive__segment__disabled_new_version_and_frozen(console: ContractClient) -> None:
    create_segment(console, "old rules", "rule_based", rules=[EMAIL_RULE])
    response = console.put(f"{SEGMENTS}/old_rules/archive")
    assert response.status_code == 200
    assert response.json()["message"] == "Segment archived successfully."
    archived = response.json()["data"]
    assert archived["isEnabled"] is False and archived["version"] == 2
    again = console.put(f"{SEGMENTS}/old_rules/archive").json()["data"]
    assert again == archived
    blocked = console.post(f"{SEGMENTS}/old_rules/conditional", json=[COUNTRY_RULE])
    assert blocked.status_code == 400 and "is archived" in blocked.json()["message"]
    assert console.get(f"{SEGMENTS}/old_rules").json()["data"] == archived


def test_delete__segment__gone_and_audited(console: ContractClient) -> None:
    create_segment(console, "short lived", "rule_based")
    console.post(f"{SEGMENTS}/short_lived/conditional", json=[EMAIL_RULE])
    response = console.delete(f"{SEGMENTS}/short_lived")
    assert response.json() == {"message": "Segment deleted successfully."}
    missing = console.get(f"{SEGMENTS}/short_lived")
    assert missing.json() == {"status": 404, "message": "Segment not found."}
    actions = [e["actionType"] for e in audit_entries(console, "short_lived")]
    assert actions == ["config_delete", "config_conditions_update", "segment_create"]


def test_delete__segment_named_by_another__400_and_kept(console: ContractClient) -> None:
    create_segment(console, "base", "id_list")
    create_segment(console, "derived", "rule_based", rules=[_segment_rule("base")])
    response = console.delete(f"{SEGMENTS}/base")
    assert response.status_code == 400
    assert "is used by segment 'derived'" in response.json()["message"]
    assert console.get(f"{SEGMENTS}/base").status_code == 200


def test_mutations__each__bump_spec_revision(
    console: ContractClient, db: Database, project: Bootstrap
) -> None:
    start = spec_revision(db, project)
    create_segment(console, "staff", "rule_based")
    console.post(f"{SEGMENTS}/staff/conditional", json=[EMAIL_RULE])
    console.put(f"{SEGMENTS}/staff/archive")
    console.delete(f"{SEGMENTS}/staff")
    assert spec_revision(db, project) == start + 4


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("DELETE", "", None),
        ("PUT", "/archive", None),
        ("POST", "/conditional", [EMAIL_RULE]),
        ("PATCH", "/id_list", {"ids": ["a"]}),
        ("DELETE", "/id_list", {"ids": ["a"]}),
        ("POST", "/id_list/reset", {"ids": ["a"]}),
        ("GET", "/idlist_metadata", None),
        ("PATCH", "/add_ids", {"ids": ["a"]}),
        ("PATCH", "/remove_ids", {"ids": ["a"]}),
    ],
)
def test_segment_routes__unknown_segment__404_segment_not_found(
    console: ContractClient, method: str, suffix: str, body: Any
) -> None:
    response = console.request(method, f"{SEGMENTS}/ghost{suffix}", json=body)
    assert response.json() == {"status": 404, "message": "Segment not found."}
