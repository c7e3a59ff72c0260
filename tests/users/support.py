"""Members with personal console keys, made in process for the people tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI

from lockgate.domains.keys import service as keys_service
from lockgate.domains.projects.service import SYSTEM_ACTOR, Bootstrap
from lockgate.domains.users import service as users_service
from lockgate.kit.actor import Change
from lockgate.kit.db import Database
from tests.contract.client import ContractClient

USERS = "/console/v1/users"
TEAMS = "/console/v1/users/teams"
ROLES = "/console/v1/roles"


def add_member(
    db: Database, project: Bootstrap, email: str, role: str, *, first_name: str = ""
) -> str:
    with db.transaction() as session:
        change = Change(project.project.id, SYSTEM_ACTOR, 1_780_000_000_000)
        user, _ = users_service.create(
            session, change, email=email, role=role, first_name=first_name, password="pw"
        )
        return user.id


def personal_key(
    db: Database, project: Bootstrap, email: str, scope: str = "personal_read_write"
) -> str:
    with db.transaction() as session:
        member = users_service.load(session, project.project.id, email)
        _, secret = keys_service.issue(
            session,
            project_id=project.project.id,
            actor=SYSTEM_ACTOR,
            now_ms=1_780_000_000_000,
            key_type="CONSOLE",
            description="personal",
            scopes=[scope],
            user_id=member.id,
        )
    return secret


@contextmanager
def acting_as(
    app: FastAPI,
    db: Database,
    project: Bootstrap,
    email: str,
    role: str,
    scope: str = "personal_read_write",
) -> Iterator[ContractClient]:
    """A client whose personal key acts as a new member with ``role``."""
    add_member(db, project, email, role, first_name=email.split("@")[0])
    with ContractClient(app, personal_key(db, project, email, scope)) as client:
        yield client


def team_body(name: str, **fields: object) -> dict[str, object]:
    return {
        "name": name,
        "members": [],
        "admins": [],
        "defaultGateMetrics": [],
        "defaultExperimentPrimaryMetrics": [],
        "defaultExperimentSecondaryMetrics": [],
        "defaultHoldoutMetrics": [],
        "changeTeamConfigs": "anyone",
        "reviewApproval": "anyone",
        "defaultTargetApplications": [],
        **fields,
    }
