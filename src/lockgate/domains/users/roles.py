"""Custom roles: a name and a map over the permission keys (docs/console.md §Roles).

The built-in roles are code (``permissions.BUILT_IN_ROLES``); ``/roles`` lists and changes
custom roles only, and their names may not be a built-in one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.audit.service import audit_change
from lockgate.domains.users import repository
from lockgate.domains.users.permissions import PERMISSION_KEYS, PERMISSIONS, built_in_role
from lockgate.domains.users.schemas import RoleCreate, RoleUpdate
from lockgate.errors import InvalidInput, NotFound
from lockgate.kit.actor import Change
from lockgate.storage.models import Role

ROLE_NOT_FOUND = "Role not found."


def role_dto(role: Role) -> dict[str, Any]:
    held = role.permissions or {}
    return {
        "name": role.name,
        "permissions": {k: bool(held.get(k, False)) for k in PERMISSION_KEYS},
    }


def _checked(permissions: Mapping[str, bool]) -> dict[str, bool]:
    unknown = sorted(set(permissions) - PERMISSIONS)
    if unknown:
        raise InvalidInput.field("permissions", f"unknown permission {unknown[0]!r}")
    return dict(permissions)


def _audit(
    session: Session,
    change: Change,
    name: str,
    action: str,
    log: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    audit_change(
        session,
        change,
        entity_type="role",
        entity_id=name,
        name=name,
        action_type=action,
        change_log=log,
        before=before,
        after=after,
    )


def load(session: Session, project_id: str, name: str, *, lock: bool = False) -> Role:
    role = repository.role(session, project_id, name, lock=lock)
    if role is None:
        raise NotFound(ROLE_NOT_FOUND)
    return role


def create(session: Session, change: Change, body: RoleCreate) -> Role:
    name = body.name.strip()
    if not name:
        raise InvalidInput.field("name", "is required")
    if built_in_role(name) is not None:
        raise InvalidInput.field("name", f"{name!r} is a built-in role")
    if repository.role(session, change.project_id, name) is not None:
        raise InvalidInput.field("name", f"a role named {name!r} exists")
    permissions = {k: False for k in PERMISSION_KEYS} | _checked(body.permissions)
    role = Role(
        project_id=change.project_id,
        name_key=name.lower(),
        name=name,
        permissions=permissions,
        created_time=change.now_ms,
    )
    repository.add(session, role)
    _audit(session, change, name, "upsert_user_role", "Created role", None, role_dto(role))
    return role


def read(session: Session, project_id: str, name: str) -> dict[str, Any]:
    return role_dto(load(session, project_id, name))


def list_(
    session: Session, project_id: str, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    rows, total = repository.list_roles(session, project_id, offset=offset, limit=limit)
    return [role_dto(r) for r in rows], total


def patch(session: Session, change: Change, name: str, body: RoleUpdate) -> Role:
    """Merge the permissions sent into the role's: keys not sent keep their value."""
    role = load(session, change.project_id, name, lock=True)
    before = role_dto(role)
    role.permissions = {**(role.permissions or {}), **_checked(body.permissions)}
    session.flush()
    _audit(session, change, role.name, "upsert_user_role", "Updated role", before, role_dto(role))
    return role


def delete(session: Session, change: Change, name: str) -> None:
    """Delete a role no user holds and that is not the project's default role (400 else)."""
    role = load(session, change.project_id, name, lock=True)
    if repository.count_with_role(session, change.project_id, role.name):
        raise InvalidInput.field("name", f"role {role.name!r} is held by users")
    project = repository.project(session, change.project_id)
    if project is not None and project.default_project_role.lower() == role.name_key:
        raise InvalidInput.field("name", f"role {role.name!r} is the default project role")
    before = role_dto(role)
    repository.remove(session, role)
    _audit(session, change, before["name"], "delete_user_role", "Deleted role", before, None)
