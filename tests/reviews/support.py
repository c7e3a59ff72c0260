"""Shared steps of the review tests: settings, a gate with a production rule, second keys."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from lockgate.domains.keys import service as keys_service
from lockgate.domains.projects.service import SYSTEM_ACTOR, Bootstrap
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.ids import random_id
from lockgate.storage.models import Gate, Role, Team, TeamMember, User
from tests.contract.client import ContractClient

V1 = "/console/v1"
RESPECT = {"x-respect-review-settings": "true"}
EVERYONE = {"type": "public", "operator": None, "targetValue": None}


def require_reviews(console: ContractClient, required: bool = True) -> None:
    response = console.post(
        f"{V1}/settings/reviews",
        json={
            "is_config_review_required": required,
            "is_metric_review_required": False,
            "is_metric_review_required_on_verified_only": False,
        },
    )
    assert response.status_code == 200, response.text


def rule(name: str, percent: int, environments: list[str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "conditions": [EVERYONE],
        "passPercentage": percent,
        "environments": environments,
    }


def gate(console: ContractClient, name: str = "checkout", percent: int = 0) -> dict[str, Any]:
    response = console.post(
        f"{V1}/gates", json={"name": name, "description": "", "rules": [rule("all", percent)]}
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def set_rules(
    console: ContractClient, gate_id: str, rules: list[dict[str, Any]], *, respect: bool = True
) -> Any:
    return console.patch(
        f"{V1}/gates/{gate_id}", json={"rules": rules}, headers=RESPECT if respect else {}
    )


def second_console_key(console: ContractClient) -> str:
    response = console.post(
        f"{V1}/keys",
        json={"type": "CONSOLE", "description": "approver", "scopes": ["omni_read_write"]},
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]["key"]  # type: ignore[no-any-return]


def other_client(app: FastAPI, key: str) -> ContractClient:
    return ContractClient(app, key)


def dcs_gate(sdk: ContractClient, project: Bootstrap, gate_id: str) -> Any:
    response = sdk.get(f"/v2/download_config_specs/{project.server_key}.json")
    assert response.status_code == 200, response.text
    return response.json()["feature_gates"].get(gate_id)


# --- people, set up in the database directly (their Console API is another resource's) ---------


def add_user(db: Database, project_id: str, email: str, role: str, clock: ManualClock) -> str:
    user_id = random_id()
    with db.transaction() as session:
        session.add(
            User(
                id=user_id,
                project_id=project_id,
                email=email,
                email_key=email.lower(),
                first_name=email.split("@")[0],
                last_name="",
                role=role,
                created_time=clock.now_ms(),
            )
        )
    return user_id


def add_role(
    db: Database, project_id: str, name: str, permissions: set[str], clock: ManualClock
) -> None:
    with db.transaction() as session:
        session.add(
            Role(
                project_id=project_id,
                name_key=name.lower(),
                name=name,
                permissions={p: True for p in permissions},
                created_time=clock.now_ms(),
            )
        )


def add_team(
    db: Database,
    project_id: str,
    name: str,
    members: list[str],
    clock: ManualClock,
    *,
    admins: tuple[str, ...] = (),
    review_approval: str = "anyone",
    require_reviews: bool = False,
) -> str:
    team_id = random_id()
    with db.transaction() as session:
        session.add(
            Team(
                id=team_id,
                project_id=project_id,
                name=name,
                review_approval=review_approval,
                require_reviews=require_reviews,
                created_time=clock.now_ms(),
            )
        )
        session.flush()
        for user_id in {*members, *admins}:
            session.add(TeamMember(team_id=team_id, user_id=user_id, is_admin=user_id in admins))
    return team_id


def personal_key(db: Database, project_id: str, user_id: str, clock: ManualClock) -> str:
    with db.transaction() as session:
        _, secret = keys_service.issue(
            session,
            project_id=project_id,
            actor=SYSTEM_ACTOR,
            now_ms=clock.now_ms(),
            key_type="CONSOLE",
            description="personal",
            scopes=["personal_read_write"],
            user_id=user_id,
        )
    return secret


def set_document_field(db: Database, project_id: str, gate_id: str, **fields: Any) -> None:
    """Fields the Console API cannot set (``reviewSettings.allowedReviewers``)."""
    with db.transaction() as session:
        row = session.scalars(
            select(Gate).where(Gate.project_id == project_id, Gate.id == gate_id)
        ).one()
        row.document = {**row.document, **fields}


def review_group_on_production(console: ContractClient, team_id: str) -> None:
    environments = console.get(f"{V1}/environments").json()["data"]["environments"]
    for environment in environments:
        if environment["name"] == "production":
            environment["requiredReviewGroupID"] = team_id
    response = console.post(f"{V1}/environments", json={"environments": environments})
    assert response.status_code == 200, response.text
