"""Who may approve: approve_reviews, self-approval, allowedReviewers, the owning team's
reviewApproval and the review groups of the environments a change touches."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from tests.contract.client import ContractClient
from tests.reviews.support import (
    V1,
    add_role,
    add_team,
    add_user,
    gate,
    personal_key,
    require_reviews,
    review_group_on_production,
    rule,
    set_document_field,
    set_rules,
)


@dataclass(frozen=True)
class People:
    author: str
    member: str
    editor_without_approval: str
    freeze_approver: str
    freeze_team: str
    member_id: str


@pytest.fixture()
def people(db: Database, project: Bootstrap, clock: ManualClock) -> People:
    pid = project.project.id
    add_role(db, pid, "Editor", {"create_configs", "edit_or_delete_configs"}, clock)
    author = add_user(db, pid, "author@example.com", "Member", clock)
    member = add_user(db, pid, "member@example.com", "Member", clock)
    editor = add_user(db, pid, "editor@example.com", "Editor", clock)
    approver = add_user(db, pid, "oncall@example.com", "Member", clock)
    freeze = add_team(db, pid, "Code Freeze", [approver], clock)
    return People(
        author=personal_key(db, pid, author, clock),
        member=personal_key(db, pid, member, clock),
        editor_without_approval=personal_key(db, pid, editor, clock),
        freeze_approver=personal_key(db, pid, approver, clock),
        freeze_team=freeze,
        member_id=member,
    )


def _submitted(app: FastAPI, key: str) -> str:
    with ContractClient(app, key) as author:
        response = set_rules(author, "checkout", [rule("all", 100)])
    assert response.status_code == 200, response.text
    return f"{V1}/gates/checkout/reviews/{response.json()['data']['activeReview']['reviewID']}"


def _as(app: FastAPI, key: str, method: str, path: str, **kwargs: object) -> object:
    with ContractClient(app, key) as client:
        return client.request(method, path, **kwargs)


def test_approve__role_without_approve_reviews__403_names_permission(
    app: FastAPI, console: ContractClient, people: People
) -> None:
    require_reviews(console)
    gate(console)
    path = _submitted(app, people.author)

    response = _as(app, people.editor_without_approval, "PUT", f"{path}/approve", json={})

    assert response.status_code == 403  # type: ignore[attr-defined]
    assert "approve_reviews" in response.json()["message"]  # type: ignore[attr-defined]


def test_approve__own_review_without_self_approve__403(
    app: FastAPI, console: ContractClient, people: People
) -> None:
    require_reviews(console)
    gate(console)
    path = _submitted(app, people.author)

    response = _as(app, people.author, "PUT", f"{path}/approve", json={})

    assert response.status_code == 403  # type: ignore[attr-defined]
    assert "self_approve_review" in response.json()["message"]  # type: ignore[attr-defined]


def test_approve__not_in_allowed_reviewers__403(
    app: FastAPI, console: ContractClient, people: People, db: Database, project: Bootstrap
) -> None:
    require_reviews(console)
    gate(console)
    allowed = [{"id": "someone-else", "name": "Someone", "email": "someone@example.com"}]
    set_document_field(
        db,
        project.project.id,
        "checkout",
        reviewSettings={"requiredReview": True, "allowedReviewers": allowed},
    )
    path = _submitted(app, people.author)

    response = _as(app, people.member, "PUT", f"{path}/approve", json={})

    assert response.status_code == 403  # type: ignore[attr-defined]
    assert "allowed reviewers" in response.json()["message"]  # type: ignore[attr-defined]


def test_approve__listed_in_allowed_reviewers__accepted(
    app: FastAPI, console: ContractClient, people: People, db: Database, project: Bootstrap
) -> None:
    require_reviews(console)
    gate(console)
    allowed = [{"id": people.member_id, "name": "member", "email": "member@example.com"}]
    set_document_field(
        db,
        project.project.id,
        "checkout",
        reviewSettings={"requiredReview": True, "allowedReviewers": allowed},
    )
    path = _submitted(app, people.author)

    response = _as(app, people.member, "PUT", f"{path}/approve", json={})

    assert response.json()["data"]["status"] == "accepted"  # type: ignore[attr-defined]


def test_approve__review_group_on_production__only_its_members_approve(
    app: FastAPI, console: ContractClient, people: People
) -> None:
    require_reviews(console)
    review_group_on_production(console, people.freeze_team)
    gate(console)
    path = _submitted(app, people.author)

    outsider = _as(app, people.member, "PUT", f"{path}/approve", json={})
    insider = _as(app, people.freeze_approver, "PUT", f"{path}/approve", json={"reason": "ok"})

    assert outsider.status_code == 403  # type: ignore[attr-defined]
    assert people.freeze_team in outsider.json()["message"]  # type: ignore[attr-defined]
    assert insider.json()["data"]["status"] == "accepted"  # type: ignore[attr-defined]


def test_approve__team_requires_reviews_and_team_only__member_of_team_approves(
    app: FastAPI,
    console: ContractClient,
    people: People,
    db: Database,
    project: Bootstrap,
    clock: ManualClock,
) -> None:
    team = add_team(
        db,
        project.project.id,
        "Payments",
        [people.member_id],
        clock,
        review_approval="team_only",
        require_reviews=True,
    )
    gate(console)
    set_document_field(db, project.project.id, "checkout", teamID=team, team="Payments")
    path = _submitted(app, people.author)

    outsider = _as(app, people.freeze_approver, "PUT", f"{path}/approve", json={})
    insider = _as(app, people.member, "PUT", f"{path}/approve", json={})

    assert outsider.status_code == 403  # type: ignore[attr-defined]
    assert insider.json()["data"]["status"] == "accepted"  # type: ignore[attr-defined]


def test_reject__reason__rejected_and_commit_refused(
    app: FastAPI, console: ContractClient, people: People
) -> None:
    require_reviews(console)
    gate(console)
    path = _submitted(app, people.author)

    rejected = _as(app, people.member, "PUT", f"{path}/reject", json={"reason": "not now"})
    commit = _as(app, people.author, "PUT", f"{path}/commit")

    assert rejected.json()["data"]["status"] == "rejected"  # type: ignore[attr-defined]
    assert commit.status_code == 400  # type: ignore[attr-defined]


def test_commit__approved_by_member__author_commits_and_is_last_modifier(
    app: FastAPI, console: ContractClient, people: People
) -> None:
    require_reviews(console)
    gate(console)
    path = _submitted(app, people.author)
    _as(app, people.member, "PUT", f"{path}/approve", json={})

    commit = _as(app, people.author, "PUT", f"{path}/commit")

    assert commit.status_code == 200  # type: ignore[attr-defined]
    data = console.get(f"{V1}/gates/checkout").json()["data"]
    assert data["lastModifierEmail"] == "author@example.com"
    assert data["rules"][0]["passPercentage"] == 100
