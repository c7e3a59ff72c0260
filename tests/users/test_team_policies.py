"""Team policies on entities: real teams, required teams, team_only editing, team defaults and
the project's default unit type."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.db import Database
from lockgate.storage.models import AuditLog, Gate
from tests.contract.client import ContractClient
from tests.reviews.support import (
    RESPECT,
    require_reviews,
    review_group_on_production,
    set_document_field,
)
from tests.users.support import TEAMS, acting_as, add_member, team_body

GATES = "/console/v1/gates"


def test_entity_team__unknown__400_and_name_or_id__both_stored(console: ContractClient) -> None:
    assert console.post(GATES, json={"name": "g one", "team": "ghosts"}).status_code == 400
    team = console.post(TEAMS, json=team_body("Growth")).json()["data"]
    by_id = console.post(GATES, json={"name": "g two", "teamID": team["id"]}).json()["data"]
    assert (by_id["team"], by_id["teamID"]) == ("Growth", team["id"])


def test_require_teams_on_configs__create_without_team__400(console: ContractClient) -> None:
    console.post("/console/v1/settings/teams", json={"require_teams_on_configs": True})
    response = console.post(GATES, json={"name": "lonely"})
    assert response.status_code == 400 and "teamID" in response.json()["message"]
    console.post(TEAMS, json=team_body("Growth"))
    assert console.post(GATES, json={"name": "owned", "team": "growth"}).status_code == 201


def test_team_defaults__stamped_on_new_gate(console: ContractClient) -> None:
    app = console.post("/console/v1/target_app", json={"name": "web", "description": ""})
    metrics = [{"name": "clicks", "type": "event_count"}]
    console.post(
        TEAMS,
        json=team_body("Growth", defaultTargetApplications=["web"], defaultGateMetrics=metrics),
    )
    gate = console.post(GATES, json={"name": "stamped", "team": "Growth"}).json()["data"]
    assert gate["targetApps"] == [app.json()["data"]["id"]]
    assert gate["monitoringMetrics"] == metrics


def test_change_team_configs_team_only__non_member__403(
    app: FastAPI, db: Database, project: Bootstrap, console: ContractClient
) -> None:
    add_member(db, project, "in@example.com", "Member")
    console.post(
        TEAMS, json=team_body("Core", members=["in@example.com"], changeTeamConfigs="team_only")
    )
    console.post(GATES, json={"name": "core gate", "team": "Core"})
    with acting_as(app, db, project, "out@example.com", "Member") as outsider:
        assert outsider.post(GATES, json={"name": "x gate", "team": "Core"}).status_code == 403
        edit = outsider.patch(f"{GATES}/core_gate", json={"description": "mine"})
        assert edit.status_code == 403 and "Core" in edit.json()["message"]
    # A project console key is not a user: team policies do not bind it.
    assert console.patch(f"{GATES}/core_gate", json={"description": "ok"}).status_code == 200


def test_default_unit_type__new_gate_and_experiment(console: ContractClient) -> None:
    console.post(
        "/console/v1/settings/project",
        json={"name": "P", "visibility": "OPEN", "default_unit_type": "stable_id"},
    )
    assert console.post(GATES, json={"name": "unit gate"}).json()["data"]["idType"] == "stableID"
    experiment = console.post("/console/v1/experiments", json={"name": "unit exp"})
    assert experiment.json()["data"]["idType"] == "stableID"
    given = console.post(GATES, json={"name": "given gate", "idType": "userID"})
    assert given.json()["data"]["idType"] == "userID"


@pytest.mark.parametrize("respect_reviews", [False, True])
def test_delete_team__owned_entities_review_groups_allowed_reviewers__cleared_and_audited(
    console: ContractClient, db: Database, project: Bootstrap, respect_reviews: bool
) -> None:
    team = console.post(TEAMS, json=team_body("Growth")).json()["data"]
    other = console.post(TEAMS, json=team_body("Core")).json()["data"]
    console.post(GATES, json={"name": "owned gate", "teamID": team["id"]})
    console.post(GATES, json={"name": "core gate", "teamID": other["id"]})
    console.post(
        "/console/v1/segments", json={"name": "owned seg", "type": "rule_based", "team": "Growth"}
    )
    reviewers = [{"id": t["id"], "name": t["name"], "email": ""} for t in (team, other)]
    set_document_field(
        db,
        project.project.id,
        "core_gate",
        reviewSettings={"requiredReview": False, "allowedReviewers": reviewers},
    )
    review_group_on_production(console, team["id"])
    if respect_reviews:
        require_reviews(console)

    response = console.delete(f"{TEAMS}/{team['id']}", headers=RESPECT if respect_reviews else {})

    assert response.status_code == 200, response.text
    owned = console.get(f"{GATES}/owned_gate").json()["data"]
    assert (owned["team"], owned["teamID"]) == (None, None)
    segment = console.get("/console/v1/segments/owned_seg").json()["data"]
    assert (segment["team"], segment["teamID"]) == (None, None)
    core = console.get(f"{GATES}/core_gate").json()["data"]
    assert core["teamID"] == other["id"]
    with db.transaction(write=False) as session:
        stored = session.scalars(select(Gate).where(Gate.id == "core_gate")).one().document
        actions = set(session.scalars(select(AuditLog.action_type)).all())
    assert stored["reviewSettings"]["allowedReviewers"] == [reviewers[1]]
    environments = console.get("/console/v1/environments").json()["data"]["environments"]
    assert all(e.get("requiredReviewGroupID") is None for e in environments)
    assert {"gate_update_owners", "segment_update_owners", "company_environments_edit"} <= actions
    assert "activeReview" not in owned


def test_delete_team__unknown__404_and_nothing_changed(console: ContractClient) -> None:
    team = console.post(TEAMS, json=team_body("Growth")).json()["data"]
    console.post(GATES, json={"name": "owned gate", "teamID": team["id"]})

    assert console.delete(f"{TEAMS}/nope").status_code == 404
    assert console.get(f"{GATES}/owned_gate").json()["data"]["teamID"] == team["id"]
