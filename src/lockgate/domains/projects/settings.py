"""Project settings: name, visibility and default unit type; the default role of new members;
teams required on new entities (docs/console.md §Settings)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.audit.service import audit_change
from lockgate.domains.projects import repository
from lockgate.domains.users.access import role_permissions
from lockgate.domains.users.permissions import OWNER, built_in_role
from lockgate.domains.users.schemas import ProjectSettings, RolesSettings, TeamsSettings
from lockgate.errors import InvalidInput, NotFound
from lockgate.kit.actor import Change
from lockgate.storage.models import Project

VISIBILITIES = ("OPEN", "CLOSED", "EXTERNAL")
# The spec's examples name unit types in snake case; SDKs know them in camel case.
_UNIT_ALIASES = {"user_id": "userID", "stable_id": "stableID"}
_BUILT_IN_UNITS = ("userID", "stableID")


def _project(session: Session, project_id: str, *, lock: bool = False) -> Project:
    project = repository.get_project(session, project_id, lock=lock)
    if project is None:
        raise NotFound()
    return project


def project_dto(project: Project) -> dict[str, Any]:
    dto: dict[str, Any] = {"name": project.name, "visibility": project.visibility}
    if project.default_unit_type is not None:
        dto["default_unit_type"] = project.default_unit_type
    return dto


def roles_dto(project: Project) -> dict[str, Any]:
    return {"default_project_role": project.default_project_role}


def teams_dto(project: Project) -> dict[str, Any]:
    return {"require_teams_on_configs": project.require_teams_on_configs}


def read_project(session: Session, project_id: str) -> dict[str, Any]:
    return project_dto(_project(session, project_id))


def read_roles(session: Session, project_id: str) -> dict[str, Any]:
    return roles_dto(_project(session, project_id))


def read_teams(session: Session, project_id: str) -> dict[str, Any]:
    return teams_dto(_project(session, project_id))


def _audit(
    session: Session,
    change: Change,
    project: Project,
    action: str,
    log: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    audit_change(
        session,
        change,
        entity_type="project",
        entity_id=project.id,
        name=project.name,
        action_type=action,
        change_log=log,
        before=before,
        after=after,
    )


def _unit_type(session: Session, project_id: str, given: str | None) -> str | None:
    if given is None or not given.strip():
        return None
    name = _UNIT_ALIASES.get(given.strip().lower(), given.strip())
    for built_in in _BUILT_IN_UNITS:
        if name.lower() == built_in.lower():
            return built_in
    custom = repository.unit_id_type(session, project_id, name)
    if custom is None:
        raise InvalidInput.field("default_unit_type", f"unknown unit id type {given!r}")
    return custom


def update_project(session: Session, change: Change, body: ProjectSettings) -> Project:
    project = _project(session, change.project_id, lock=True)
    visibility = body.visibility.strip().upper()
    if visibility not in VISIBILITIES:
        raise InvalidInput.field("visibility", f"must be one of {', '.join(VISIBILITIES)}")
    before = project_dto(project)
    project.name = body.name.strip() or project.name
    project.visibility = visibility
    project.default_unit_type = _unit_type(session, change.project_id, body.default_unit_type)
    session.flush()
    after = project_dto(project)
    _audit(session, change, project, "company_basic_info_edit", "Updated project", before, after)
    return project


def update_roles(session: Session, change: Change, body: RolesSettings) -> Project:
    project = _project(session, change.project_id, lock=True)
    name = body.default_project_role.strip()
    built_in = built_in_role(name)
    if built_in == OWNER:
        raise InvalidInput.field("default_project_role", "Owner cannot be a default role")
    if built_in is None:
        custom = repository.role_name(session, change.project_id, name)
        if custom is None:
            raise InvalidInput.field("default_project_role", f"unknown role {name!r}")
        name = custom
    else:
        name = built_in
    role_permissions(session, change.project_id, name)  # exists: a built-in or custom role
    before = roles_dto(project)
    project.default_project_role = name
    session.flush()
    _audit(
        session,
        change,
        project,
        "set_company_default_user_role",
        "Set the default role",
        before,
        roles_dto(project),
    )
    return project


def update_teams(session: Session, change: Change, body: TeamsSettings) -> Project:
    project = _project(session, change.project_id, lock=True)
    before = teams_dto(project)
    project.require_teams_on_configs = body.require_teams_on_configs
    session.flush()
    _audit(
        session,
        change,
        project,
        "update_entities_require_teams",
        "Updated the teams requirement",
        before,
        teams_dto(project),
    )
    return project
