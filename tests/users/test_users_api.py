"""Users, invites, teams, roles and project settings: every operation, its messages, errors
and audit entries."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from lockgate.app import create_app
from lockgate.domains.projects.service import SYSTEM_ACTOR, Bootstrap
from lockgate.domains.users import service as users_service
from lockgate.kit.actor import Change
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from tests.contract.client import ContractClient
from tests.users.support import ROLES, TEAMS, USERS, acting_as, add_member, team_body


def _actions(console: ContractClient, entity_id: str) -> list[str]:
    entries = console.get("/console/v1/audit_logs", params={"id": entity_id}).json()["data"]
    return [e["actionType"] for e in entries]


def test_users__list_read_update__messages_and_audit(
    console: ContractClient, db: Database, project: Bootstrap
) -> None:
    add_member(db, project, "Ann@Example.com", "Member", first_name="Ann")
    listed = console.get(USERS).json()
    assert listed["message"] == "User listed successfully."
    assert listed["data"] == [
        {"email": "Ann@Example.com", "firstName": "Ann", "lastName": "", "role": "Member"}
    ]
    read = console.get(f"{USERS}/ann@example.com").json()
    assert read["message"] == "User read successfully." and read["data"]["role"] == "Member"
    updated = console.post(f"{USERS}/ann@example.com", json={"role": "admin", "lastName": "Lee"})
    assert updated.json()["message"] == "User updated successfully."
    assert updated.json()["data"] == {
        "email": "Ann@Example.com",
        "firstName": "Ann",
        "lastName": "Lee",
        "role": "Admin",
    }
    assert _actions(console, "Ann@Example.com") == ["user_role_update", "user_role_update"]


def test_users__unknown_email__404_and_unknown_role__400_and_owner__403(
    console: ContractClient, db: Database, project: Bootstrap
) -> None:
    add_member(db, project, "a@example.com", "Member")
    assert console.get(f"{USERS}/nobody@example.com").json() == {
        "status": 404,
        "message": "User not found.",
    }
    assert console.post(f"{USERS}/nobody@example.com", json={"role": "Member"}).status_code == 404
    assert console.post(f"{USERS}/a@example.com", json={"role": "Wizard"}).status_code == 400
    assert console.post(f"{USERS}/a@example.com", json={"role": "Owner"}).status_code == 403


def test_invite__pending_until_accepted__not_listed(console: ContractClient) -> None:
    response = console.post(f"{USERS}/invite", json={"role": "Member", "emails": ["x@example.com"]})
    assert response.json() == {"message": "User(s) Invited successfully"}
    assert console.get(USERS).json()["data"] == []
    assert (
        console.post(f"{USERS}/invite", json={"role": "Nope", "emails": ["y@e.com"]}).status_code
        == 400
    )
    bad_email = console.post(f"{USERS}/invite", json={"role": "Member", "emails": ["not-an-email"]})
    assert bad_email.status_code == 400
    assert "user_role_update" in _actions(console, "x@example.com")


@pytest.fixture()
def auto_accept_console(
    settings: Settings, db: Database, clock: ManualClock, project: Bootstrap
) -> ContractClient:
    app = create_app(
        replace_settings(settings, auto_accept_invites=True, invite_domain_check=True),
        clock=clock,
        database=db,
    )
    return ContractClient(app, project.console_key)


def replace_settings(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update=changes)


def test_invite__auto_accept__member_joins_teams_and_domain_checked(
    auto_accept_console: ContractClient, db: Database, project: Bootstrap
) -> None:
    add_member(db, project, "lead@example.com", "Admin")
    with db.transaction() as session:
        # The domain check compares with the Owner's domain.
        change = Change(project.project.id, SYSTEM_ACTOR, 1)
        users_service.create(
            session, change, email="boss@example.com", role="Owner", owner=True, password="p"
        )
    with auto_accept_console as console:
        outside = console.post(
            f"{USERS}/invite", json={"role": "Member", "emails": ["a@other.org"]}
        )
        assert outside.status_code == 400
        team = console.post(TEAMS, json=team_body("Growth")).json()["data"]
        response = console.post(
            f"{USERS}/invite",
            json={"role": "read only", "emails": ["New@example.com"], "teams": ["growth"]},
        )
        assert response.status_code == 200, response.text
        assert console.get(f"{USERS}/new@example.com").json()["data"]["role"] == "Read Only"
        members = console.get(f"{TEAMS}/{team['id']}").json()["data"]["members"]
        assert [m["email"] for m in members] == ["New@example.com"]


def test_teams__create_read_list_patch_delete(
    console: ContractClient, db: Database, project: Bootstrap
) -> None:
    add_member(db, project, "a@example.com", "Member")
    add_member(db, project, "b@example.com", "Admin")
    app = console.post("/console/v1/target_app", json={"name": "web", "description": ""})
    app_id = app.json()["data"]["id"]
    body = team_body(
        "Growth",
        description="growth team",
        members=["a@example.com"],
        admins=["B@example.com"],
        defaultGateMetrics=[{"name": "clicks", "type": "event_count"}],
        defaultTargetApplications=["web"],
        reviewApproval="team_only",
        requireReviews=True,
    )
    created = console.post(TEAMS, json=body)
    assert created.status_code == 200 and created.json()["message"] == "Team created successfully."
    team = created.json()["data"]
    assert [m["email"] for m in team["members"]] == ["a@example.com", "b@example.com"]
    assert [a["email"] for a in team["admins"]] == ["b@example.com"]
    assert team["defaultTargetApplications"] == [app_id] and team["requireReviews"] is True
    read = console.get(f"{TEAMS}/{team['id']}").json()
    assert read["message"] == "Team read successfully." and read["data"] == team
    listed = console.get(TEAMS).json()
    assert listed["message"] == "Teams listed successfully." and len(listed["data"]) == 1
    patched = console.patch(f"{TEAMS}/{team['id']}", json={"members": [], "name": "Growth 2"})
    assert patched.json()["message"] == "Team updated successfully."
    # Lists are replaced; admins stay members.
    assert [m["email"] for m in patched.json()["data"]["members"]] == ["b@example.com"]
    assert console.patch(f"{TEAMS}/{team['id']}", json={"description": "d"}).status_code == 200
    deleted = console.delete(f"{TEAMS}/{team['id']}")
    assert deleted.json() == {"message": "Team deleted successfully"}
    assert console.get(f"{TEAMS}/{team['id']}").status_code == 404
    assert _actions(console, team["id"]) == [
        "update_team",
        "update_team_description",
        "update_team_settings",
        "update_team",
    ]


def test_teams__non_member_or_unknown_holdout__400(console: ContractClient) -> None:
    assert console.post(TEAMS, json=team_body("T", members=["ghost@x.com"])).status_code == 400
    assert console.post(TEAMS, json=team_body("T", defaultHoldoutID="nope")).status_code == 400
    assert console.post(TEAMS, json={"name": "missing fields"}).status_code == 400
    assert console.delete(f"{TEAMS}/nope").status_code == 404


def test_roles__create_201_read_list_patch_merge_delete(console: ContractClient) -> None:
    created = console.post(
        ROLES, json={"name": "Custom Role", "permissions": {"create_configs": True}}
    )
    assert created.status_code == 201
    assert created.json()["message"] == "Role created successfully."
    permissions = created.json()["data"]["permissions"]
    assert len(permissions) == 29 and permissions["create_configs"] is True
    assert console.get(f"{ROLES}/custom%20role").json()["message"] == "Role read successfully."
    listed = console.get(ROLES).json()
    assert listed["message"] == "Roles listed successfully."
    assert [r["name"] for r in listed["data"]] == ["Custom Role"]
    patched = console.patch(f"{ROLES}/Custom Role", json={"permissions": {"approve_reviews": True}})
    assert patched.json()["message"] == "Role updated successfully."
    merged = patched.json()["data"]["permissions"]
    assert merged["create_configs"] is True and merged["approve_reviews"] is True
    assert console.delete(f"{ROLES}/Custom Role").json() == {
        "message": "Role deleted successfully."
    }
    assert console.get(f"{ROLES}/Custom Role").status_code == 404
    assert _actions(console, "Custom Role") == [
        "delete_user_role",
        "upsert_user_role",
        "upsert_user_role",
    ]


def test_roles__reserved_unknown_key_in_use__400(
    console: ContractClient, db: Database, project: Bootstrap
) -> None:
    assert console.post(ROLES, json={"name": "admin", "permissions": {}}).status_code == 400
    assert console.post(ROLES, json={"name": "R", "permissions": {"fly": True}}).status_code == 400
    assert console.post(ROLES, json={"name": "Ops", "permissions": {}}).status_code == 201
    add_member(db, project, "o@example.com", "ops")
    assert console.get(f"{USERS}/o@example.com").json()["data"]["role"] == "Ops"
    assert console.delete(f"{ROLES}/Ops").status_code == 400
    assert (
        console.post("/console/v1/settings/roles", json={"default_project_role": "ops"}).status_code
        == 200
    )


def test_settings__project_roles_teams__read_and_replace(console: ContractClient) -> None:
    project = console.get("/console/v1/settings/project").json()
    assert project == {
        "message": "Settings read successfully.",
        "data": {"name": "Default Project", "visibility": "CLOSED"},
    }
    updated = console.post(
        "/console/v1/settings/project",
        json={"name": "Shop", "visibility": "open", "default_unit_type": "stable_id"},
    )
    assert updated.json() == {
        "message": "Settings read successfully.",
        "data": {"name": "Shop", "visibility": "OPEN", "default_unit_type": "stableID"},
    }
    assert console.get("/console/v1/company").json()["data"]["companyName"] is not None
    bad = console.post("/console/v1/settings/project", json={"name": "x", "visibility": "SECRET"})
    assert bad.status_code == 400
    unit = {"name": "x", "visibility": "OPEN", "default_unit_type": "nope"}
    assert console.post("/console/v1/settings/project", json=unit).status_code == 400
    roles = console.get("/console/v1/settings/roles").json()
    assert roles["data"] == {"default_project_role": "Member"}
    changed = console.post("/console/v1/settings/roles", json={"default_project_role": "read only"})
    assert changed.json() == {
        "message": "Settings updated successfully.",
        "data": {"default_project_role": "Read Only"},
    }
    assert (
        console.post(
            "/console/v1/settings/roles", json={"default_project_role": "Owner"}
        ).status_code
        == 400
    )
    teams = console.get("/console/v1/settings/teams").json()
    assert teams["data"] == {"require_teams_on_configs": False}
    on = console.post("/console/v1/settings/teams", json={"require_teams_on_configs": True})
    assert on.json()["data"] == {"require_teams_on_configs": True}
    entries = console.get("/console/v1/audit_logs").json()["data"]
    assert {"company_basic_info_edit", "set_company_default_user_role",
            "update_entities_require_teams"} <= {e["actionType"] for e in entries}  # fmt: skip


def test_personal_key__changes_name_the_user(
    app: FastAPI, db: Database, project: Bootstrap, console: ContractClient
) -> None:
    with acting_as(app, db, project, "ann@example.com", "Member") as ann:
        gate = ann.post("/console/v1/gates", json={"name": "ann gate"}).json()["data"]
    assert gate["creatorName"] == "ann" and gate["creatorEmail"] == "ann@example.com"
    entry = console.get("/console/v1/audit_logs", params={"id": "ann_gate"}).json()["data"][0]
    assert entry["updatedBy"] == "ann" and entry["modifierEmail"] == "ann@example.com"


def test_personal_key__of_removed_user_or_without_user__refused(
    console: ContractClient,
) -> None:
    response = console.post(
        "/console/v1/keys",
        json={"type": "CONSOLE", "description": "", "scopes": ["personal_read_write"]},
    )
    assert response.status_code == 400
