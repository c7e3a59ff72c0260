"""The review header: with reviews required and x-respect-review-settings, a change to a gate
becomes a pending review and reaches no SDK until approved and committed; without the header it
applies and leaves open reviews stale."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from tests.contract.client import ContractClient
from tests.reviews.support import (
    V1,
    dcs_gate,
    gate,
    require_reviews,
    rule,
    second_console_key,
    set_rules,
)


def _approve(app: FastAPI, key: str, path: str) -> Any:
    with ContractClient(app, key) as other:
        return other.put(f"{path}/approve", json={})


def test_gate_change__header_and_reviews_required__pending_review_and_sdk_unchanged(
    console: ContractClient, anonymous: ContractClient, project: Bootstrap
) -> None:
    require_reviews(console)
    gate(console)
    before = dcs_gate(anonymous, project, "checkout")

    response = set_rules(console, "checkout", [rule("all", 100)])

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "Gate change submitted for review."
    assert body["data"]["rules"][0]["passPercentage"] == 0
    active = body["data"]["activeReview"]
    assert active["reviewStatus"] == "pending"
    assert dcs_gate(anonymous, project, "checkout") == before
    read = console.get(f"{V1}/gates/checkout").json()["data"]
    assert read["activeReview"]["reviewID"] == active["reviewID"]
    assert read["rules"][0]["passPercentage"] == 0


def test_gate_change__no_header__applies_directly(console: ContractClient) -> None:
    require_reviews(console)
    gate(console)

    response = set_rules(console, "checkout", [rule("all", 100)], respect=False)

    assert response.status_code == 200
    assert response.json()["data"]["rules"][0]["passPercentage"] == 100
    assert "activeReview" not in response.json()["data"]


def test_gate_change__header_but_reviews_not_required__applies(console: ContractClient) -> None:
    gate(console)

    response = set_rules(console, "checkout", [rule("all", 100)])

    assert response.json()["data"]["rules"][0]["passPercentage"] == 100


def test_gate_change__only_staging_rule__no_review_needed(console: ContractClient) -> None:
    require_reviews(console)
    gate(console)

    rules = [rule("all", 0), rule("staging only", 100, ["staging"])]
    response = set_rules(console, "checkout", rules)

    assert response.json()["message"] == "Gate updated successfully."


def test_gate_description__header__applies_directly(console: ContractClient) -> None:
    require_reviews(console)
    gate(console)

    response = console.patch(
        f"{V1}/gates/checkout",
        json={"description": "words"},
        headers={"x-respect-review-settings": "true"},
    )

    assert response.json()["data"]["description"] == "words"


def test_review__approved_by_other_key_then_committed__sdk_sees_change(
    app: FastAPI, console: ContractClient, anonymous: ContractClient, project: Bootstrap
) -> None:
    require_reviews(console)
    gate(console)
    review_id = set_rules(console, "checkout", [rule("all", 100)]).json()["data"]["activeReview"][
        "reviewID"
    ]
    path = f"{V1}/gates/checkout/reviews/{review_id}"
    key = second_console_key(console)

    approved = _approve(app, key, path)
    committed = console.put(f"{path}/commit")

    assert approved.status_code == 200, approved.text
    assert approved.json()["data"]["status"] == "accepted"
    assert committed.status_code == 200, committed.text
    assert committed.json() == {"message": "Gate review committed successfully"}
    spec = dcs_gate(anonymous, project, "checkout")
    assert spec["rules"][-1]["passPercentage"] == 100
    read = console.get(f"{V1}/gates/checkout").json()["data"]
    assert "activeReview" not in read
    assert console.get(path).json()["data"]["status"] == "committed"


def test_review__commit_before_approval__400(console: ContractClient) -> None:
    require_reviews(console)
    gate(console)
    review_id = set_rules(console, "checkout", [rule("all", 100)]).json()["data"]["activeReview"][
        "reviewID"
    ]

    response = console.put(f"{V1}/gates/checkout/reviews/{review_id}/commit")

    assert response.status_code == 400
    assert "pending" in response.json()["message"]


def test_review__self_approval_by_console_api__403(console: ContractClient) -> None:
    require_reviews(console)
    gate(console)
    review_id = set_rules(console, "checkout", [rule("all", 100)]).json()["data"]["activeReview"][
        "reviewID"
    ]

    response = console.put(f"{V1}/gates/checkout/reviews/{review_id}/approve", json={})

    assert response.status_code == 403
    assert "self_approve_review" in response.json()["message"]


def test_review__entity_changed_since__commit_refused_stale(
    app: FastAPI, console: ContractClient
) -> None:
    require_reviews(console)
    gate(console)
    review_id = set_rules(console, "checkout", [rule("all", 100)]).json()["data"]["activeReview"][
        "reviewID"
    ]
    path = f"{V1}/gates/checkout/reviews/{review_id}"
    _approve(app, second_console_key(console), path)
    set_rules(console, "checkout", [rule("all", 50)], respect=False)

    response = console.put(f"{path}/commit")

    assert response.status_code == 400
    assert "out of date" in response.json()["message"]
    assert console.get(f"{V1}/gates/checkout").json()["data"]["rules"][0]["passPercentage"] == 50


def test_gate_delete__header_and_reviews_required__kept_until_committed(
    app: FastAPI, console: ContractClient, anonymous: ContractClient, project: Bootstrap
) -> None:
    require_reviews(console)
    gate(console)

    submitted = console.delete(
        f"{V1}/gates/checkout", headers={"x-respect-review-settings": "true"}
    )
    review_id = submitted.json()["data"]["activeReview"]["reviewID"]
    path = f"{V1}/gates/checkout/reviews/{review_id}"
    kept = dcs_gate(anonymous, project, "checkout")
    approved = _approve(app, second_console_key(console), path)
    committed = console.put(f"{path}/commit")

    assert submitted.json()["message"] == "Gate change submitted for review."
    assert kept is not None
    assert approved.json()["data"]["type"] == "delete"
    assert committed.status_code == 200, committed.text
    assert console.get(f"{V1}/gates/checkout").status_code == 404
    assert dcs_gate(anonymous, project, "checkout") is None


def test_config_and_experiment_changes__header__submitted_for_review(
    console: ContractClient,
) -> None:
    require_reviews(console)
    assert console.post(f"{V1}/dynamic_configs", json={"name": "pricing"}).status_code == 201
    assert console.post(f"{V1}/experiments", json={"name": "banner"}).status_code == 201
    config_rule = {"name": "all", "conditions": [{"type": "public"}], "returnValue": {"a": 1}}
    respect = {"x-respect-review-settings": "true"}

    config = console.patch(
        f"{V1}/dynamic_configs/pricing", json={"rules": [config_rule]}, headers=respect
    )
    started = console.put(f"{V1}/experiments/banner/start", headers=respect)
    edited = console.patch(f"{V1}/experiments/banner", json={"allocation": 50}, headers=respect)

    assert config.json()["message"] == "Dynamic Config change submitted for review."
    assert config.json()["data"]["rules"] == []
    assert started.json()["message"] == "Experiment change submitted for review."
    assert started.json()["data"]["status"] == "setup"
    assert started.json()["data"]["activeReview"]["reviewStatus"] == "pending"
    assert edited.json()["message"] == "Experiment change submitted for review.", edited.text
    listed = console.get(f"{V1}/experiments/banner/reviews").json()["data"]
    assert sorted(r["type"] for r in listed) == ["reallocate", "start"]
