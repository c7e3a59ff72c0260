"""The review endpoints of gates, dynamic configs, segments and experiments (Statsig's 2026
Console API, absent from the spec of record) against their published shapes, plus
/settings/reviews against the official schema and its audit entries."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from tests.contract.client import ContractClient
from tests.reviews.support import V1, gate, rule, second_console_key

REVIEW = {
    "type": "object",
    "required": ["review_id", "status", "type", "author", "reviewers", "description", "created_at"],
    "properties": {
        "review_id": {"type": "string"},
        "status": {
            "enum": [
                "pending",
                "accepted",
                "rejected",
                "committed",
                "changes_requested",
                "pending_webhook_validation",
                "failed_webhook_validation",
                "approved_webhook_validation",
            ]
        },
        "type": {"type": "string"},
        "author": {
            "type": "object",
            "required": ["id", "email"],
            "properties": {"id": {"type": "string"}, "email": {"type": ["string", "null"]}},
        },
        "reviewers": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "kind"],
                "properties": {"id": {"type": "string"}, "kind": {"enum": ["user", "group"]}},
            },
        },
        "description": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
    },
}
SINGLE = {
    "type": "object",
    "required": ["message", "data"],
    "properties": {"message": {"type": "string"}, "data": REVIEW},
}
LISTED = {
    "type": "object",
    "required": ["message", "data", "pagination"],
    "properties": {"message": {"type": "string"}, "data": {"type": "array", "items": REVIEW}},
}
MESSAGE_ONLY = {
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string"}},
    "additionalProperties": False,
}


def _shaped(response: Any, schema: dict[str, Any], status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    jsonschema.validate(body, schema, format_checker=jsonschema.FormatChecker())
    return body


def _entity(console: ContractClient, kind: str) -> tuple[str, dict[str, Any]]:
    """An entity of ``kind`` and a 2026 review body proposing a change to it."""
    if kind == "gates":
        gate(console)
        return "checkout", {"change": {"rules": [rule("all", 100)]}}
    if kind == "dynamic_configs":
        created = console.post(f"{V1}/dynamic_configs", json={"name": "pricing"})
        assert created.status_code == 201, created.text
        config_rule = {"name": "all", "conditions": [{"type": "public"}], "returnValue": {"a": 1}}
        return "pricing", {"change": {"rules": [config_rule]}}
    if kind == "segments":
        created = console.post(f"{V1}/segments", json={"name": "vip", "type": "rule_based"})
        assert created.status_code == 201, created.text
        country = {"type": "country", "operator": "any", "targetValue": ["SE"]}
        segment_rule = {"name": "sweden", "conditions": [country], "passPercentage": 100}
        return "vip", {"change": {"rules": [segment_rule]}}
    created = console.post(f"{V1}/experiments", json={"name": "banner"})
    assert created.status_code == 201, created.text
    return "banner", {"type": "start"}


@pytest.mark.parametrize("kind", ["gates", "dynamic_configs", "segments", "experiments"])
def test_review_endpoints__create_list_read_update_approve_commit__published_shapes(
    app: FastAPI, console: ContractClient, kind: str
) -> None:
    entity_id, proposal = _entity(console, kind)
    base = f"{V1}/{kind}/{entity_id}/reviews"
    before = console.get(f"{V1}/{kind}/{entity_id}").json()["data"]

    created = _shaped(
        console.post(base, json={"description": "please", "reviewer_ids": ["u1"], **proposal}),
        SINGLE,
        201,
    )["data"]
    path = f"{base}/{created['review_id']}"
    listed = _shaped(console.get(base), LISTED)["data"]
    read = _shaped(console.get(path), SINGLE)["data"]
    updated = _shaped(
        console.put(path, json={"description": "again", "reviewer_group_ids": ["g1"]}), SINGLE
    )["data"]
    unchanged = console.get(f"{V1}/{kind}/{entity_id}").json()["data"]
    with ContractClient(app, second_console_key(console)) as other:
        approved = _shaped(other.put(f"{path}/approve", json={"reason": "fine"}), SINGLE)["data"]
    committed = _shaped(console.put(f"{path}/commit"), MESSAGE_ONLY)
    after = console.get(f"{V1}/{kind}/{entity_id}").json()["data"]

    assert created["status"] == "pending" and created["reviewers"] == [{"id": "u1", "kind": "user"}]
    assert [r["review_id"] for r in listed] == [created["review_id"]] == [read["review_id"]]
    assert updated["description"] == "again"
    assert updated["reviewers"] == [{"id": "g1", "kind": "group"}]
    assert unchanged["activeReview"]["reviewID"] == created["review_id"]
    assert {k: v for k, v in unchanged.items() if k != "activeReview"} == before
    assert approved["status"] == "accepted"
    assert committed["message"].endswith("review committed successfully")
    assert after != before and "activeReview" not in after


def test_review_endpoints__gate_is_enabled_change__type_update_enabled(
    console: ContractClient,
) -> None:
    gate(console)

    created = _shaped(
        console.post(f"{V1}/gates/checkout/reviews", json={"change": {"is_enabled": False}}),
        SINGLE,
        201,
    )["data"]

    assert created["type"] == "update_enabled"


@pytest.mark.parametrize(
    "body",
    [{}, {"change": {}}, {"change": {"rules": [], "is_enabled": True}}],
)
def test_review_endpoints__change_not_exactly_one_field__400(
    console: ContractClient, body: dict[str, Any]
) -> None:
    gate(console)

    response = console.post(f"{V1}/gates/checkout/reviews", json=body)

    assert response.status_code == 400


def test_review_endpoints__reject_without_reason__400(
    app: FastAPI, console: ContractClient
) -> None:
    gate(console)
    created = console.post(
        f"{V1}/gates/checkout/reviews", json={"change": {"rules": [rule("all", 100)]}}
    ).json()["data"]

    response = console.put(f"{V1}/gates/checkout/reviews/{created['review_id']}/reject", json={})

    assert response.status_code == 400


@pytest.mark.parametrize("suffix", ["", "/approve", "/commit"])
def test_review_endpoints__review_of_another_entity__404(
    console: ContractClient, suffix: str
) -> None:
    gate(console)
    gate(console, name="other")
    created = console.post(
        f"{V1}/gates/checkout/reviews", json={"change": {"rules": [rule("all", 100)]}}
    ).json()["data"]
    method = "GET" if suffix == "" else "PUT"

    response = console.request(
        method, f"{V1}/gates/other/reviews/{created['review_id']}{suffix}", json={}
    )

    assert response.status_code == 404
    assert response.json() == {"status": 404, "message": "Review not found."}


def test_settings_reviews__replace_then_read__echoed_and_audited(console: ContractClient) -> None:
    body = {
        "is_config_review_required": True,
        "is_metric_review_required": True,
        "is_metric_review_required_on_verified_only": False,
        "is_whn_source_review_required": True,
    }

    updated = console.post(f"{V1}/settings/reviews", json=body)
    read = console.get(f"{V1}/settings/reviews")

    assert updated.json() == {"message": "Settings updated successfully.", "data": body}
    assert read.json() == {"message": "Settings read successfully.", "data": body}
    actions = {e["actionType"] for e in console.get(f"{V1}/audit_logs").json()["data"]}
    assert {"config_require_reviews", "update_metric_review_required"} <= actions


def test_settings_reviews__fresh_project__every_switch_off(console: ContractClient) -> None:
    response = console.get(f"{V1}/settings/reviews")

    assert response.json()["data"] == {
        "is_config_review_required": False,
        "is_metric_review_required": False,
        "is_metric_review_required_on_verified_only": False,
    }


def test_settings_reviews__required_field_missing__400(console: ContractClient) -> None:
    response = console.post(f"{V1}/settings/reviews", json={"is_config_review_required": True})

    assert response.status_code == 400


@pytest.mark.parametrize("kind", ["gates", "dynamic_configs", "segments", "experiments"])
def test_list__entity_with_open_review__active_review_from_one_query(
    console: ContractClient, db: Database, clock: ManualClock, kind: str
) -> None:
    entity_id, body = _entity(console, kind)
    reviewed = console.post(f"{V1}/{kind}/{entity_id}/reviews", json=body)
    assert reviewed.status_code == 201, reviewed.text
    clock.advance(1_000)
    newer = console.post(f"{V1}/{kind}/{entity_id}/reviews", json=body).json()["data"]
    newest = console.get(f"{V1}/{kind}/{entity_id}").json()["data"]["activeReview"]
    assert newest["reviewID"] == newer["review_id"] != reviewed.json()["data"]["review_id"]
    _second_entity(console, kind)
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        listed = console.get(f"{V1}/{kind}").json()["data"]
    finally:
        event.remove(db.engine, "before_cursor_execute", record)

    by_id = {e["id"]: e for e in listed}
    assert by_id[entity_id]["activeReview"] == newest
    assert [e for e in listed if e["id"] != entity_id and "activeReview" in e] == []
    assert len([s for s in statements if "FROM reviews" in s]) == 1


def _second_entity(console: ContractClient, kind: str) -> None:
    bodies = {
        "gates": {"name": "other gate"},
        "dynamic_configs": {"name": "other config"},
        "segments": {"name": "other seg", "type": "rule_based"},
        "experiments": {"name": "other exp"},
    }
    assert console.post(f"{V1}/{kind}", json=bodies[kind]).status_code == 201
