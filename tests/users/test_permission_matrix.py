"""Every requirement of the Console permission table, for each built-in role and a custom
role, through personal keys: allowed (any answer but 403) or refused with a 403 naming it."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI

from lockgate.app import create_app
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.users.permissions import BUILT_IN_ROLES, PROJECT_ADMIN_ROLES
from lockgate.faces.console.permissions import PROJECT_ADMIN, REQUIRED, requirement
from lockgate.faces.console.router import PREFIX, served_operations
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from tests.contract.client import ContractClient
from tests.users.support import ROLES, acting_as

CUSTOM = {"create_configs": True, "metric_management": True, "create_teams": True}


def _probe(method: str, template: str) -> tuple[str, str]:
    """A request to the operation that, past the permission check, fails harmlessly (a
    missing id or an empty body)."""
    return method, PREFIX + re.sub(r"\{[^}]+\}", "nope", template)


# One operation per requirement: the first the table lists for it.
PROBES = {need: _probe(*op) for op, need in sorted(REQUIRED.items(), key=lambda i: i[0][1])}
ROLES_UNDER_TEST = ("Admin", "Member", "Read Only", "Custom")


def _holds(role: str, need: str) -> bool:
    if need == PROJECT_ADMIN:
        return role in PROJECT_ADMIN_ROLES
    if role == "Custom":
        return CUSTOM.get(need, False)
    return need in BUILT_IN_ROLES[role]


@pytest.mark.parametrize("role", ROLES_UNDER_TEST)
def test_permission_matrix__each_requirement__allowed_or_403(
    role: str, app: FastAPI, db: Database, project: Bootstrap, console: ContractClient
) -> None:
    if role == "Custom":
        assert (
            console.post(ROLES, json={"name": "Custom", "permissions": CUSTOM}).status_code == 201
        )
    with acting_as(app, db, project, "someone@example.com", role) as user:
        assert user.get("/console/v1/gates").status_code == 200  # reads are open to all
        outcomes = {}
        for need, (method, path) in sorted(PROBES.items()):
            response = user.request(method, path, json={})
            refused = response.status_code == 403
            if refused:
                assert f"Missing permission: {need}" in response.json()["message"]
            outcomes[need] = not refused
    assert outcomes == {need: _holds(role, need) for need in PROBES}


def test_personal_read_only_key__admin__mutations_403(
    app: FastAPI, db: Database, project: Bootstrap
) -> None:
    with acting_as(app, db, project, "ro@example.com", "Admin", "personal_read_only") as user:
        assert user.get("/console/v1/users").status_code == 200
        assert user.post("/console/v1/gates", json={"name": "no"}).status_code == 403


def test_project_key__not_role_checked(console: ContractClient) -> None:
    assert (
        console.post(
            "/console/v1/settings/teams", json={"require_teams_on_configs": False}
        ).status_code
        == 200
    )


def test_permission_table__every_served_mutation__listed() -> None:
    served = served_operations(create_app(Settings(database_url="sqlite://")))
    mutations = {(m, p.removeprefix(PREFIX)) for m, p in served if m != "GET"}
    assert mutations - set(REQUIRED) == set()
    assert requirement("PUT", "/unknown") == PROJECT_ADMIN  # fail closed
    assert requirement("GET", "/gates") is None
