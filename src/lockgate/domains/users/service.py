"""Users and invites: who is a member of a project, with which role.

See docs/console.md §Users and teams.

A user is created by the CLI, by the first start (the Owner) or by accepting an invite; an
invite stays pending until accepted, unless the server auto-accepts them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.audit.service import audit_change
from lockgate.domains.users import repository
from lockgate.domains.users.permissions import ASSIGNABLE_BUILT_IN, OWNER, built_in_role
from lockgate.domains.users.schemas import UserInvites, UserUpdate
from lockgate.errors import Forbidden, InvalidInput, NotFound
from lockgate.kit.actor import Change
from lockgate.kit.ids import random_id
from lockgate.kit.passwords import hash_password, new_password
from lockgate.storage.models import User, UserInvite

USER_NOT_FOUND = "User not found."
OWNER_FIXED = "The Owner role cannot be given or taken through the API."
OWNER_STAYS = "The Owner cannot be removed from the project."
# Loose on purpose: one @, something on each side, a dot in the domain, no spaces.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class InvitePolicy:
    """How invites are handled (server settings): accepted at once on headless installs, and
    restricted to the Owner's email domain when asked."""

    auto_accept: bool = False
    check_domain: bool = False


def user_dto(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "role": user.role,
    }


def checked_email(email: str, field: str = "email") -> str:
    email = email.strip()
    if len(email) > 320 or not _EMAIL.match(email):
        raise InvalidInput.field(field, f"{email!r} is not an email address")
    return email


def resolve_role(session: Session, project_id: str, name: str, field: str = "role") -> str:
    """The canonical name of an assignable role (built-in but Owner, or custom); 400 if none.

    Owner is refused with a 403: it belongs to the project's creator."""
    built_in = built_in_role(name)
    if built_in == OWNER:
        raise Forbidden(OWNER_FIXED)
    if built_in is not None:
        return built_in
    custom = repository.role(session, project_id, name)
    if custom is None:
        known = ", ".join(ASSIGNABLE_BUILT_IN)
        raise InvalidInput.field(
            field, f"unknown role {name!r} (built in: {known}, or a custom role)"
        )
    return custom.name


def _audit(
    session: Session,
    change: Change,
    email: str,
    action: str,
    change_log: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    audit_change(
        session,
        change,
        entity_type="user",
        entity_id=email,
        name=email,
        action_type=action,
        change_log=change_log,
        before=before,
        after=after,
    )


def create(
    session: Session,
    change: Change,
    *,
    email: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    password: str | None = None,
    owner: bool = False,
) -> tuple[User, str]:
    """Add a member and return them with their sign-in password (generated unless given),
    which is kept only as a salted argon2id hash."""
    email = checked_email(email)
    canonical = OWNER if owner else resolve_role(session, change.project_id, role)
    if repository.user_by_email(session, change.project_id, email) is not None:
        raise InvalidInput.field("email", f"{email} is already a member of the project")
    if owner and repository.owner(session, change.project_id) is not None:
        raise InvalidInput.field("role", "the project already has its Owner")
    clear = password if password is not None else new_password()
    user = User(
        id=random_id(),
        project_id=change.project_id,
        email=email,
        email_key=repository.email_key(email),
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        role=canonical,
        password_hash=hash_password(clear),
        created_time=change.now_ms,
    )
    repository.add(session, user)
    _audit(session, change, email, "user_role_update", "Added user", None, user_dto(user))
    return user, clear


def set_password(session: Session, project_id: str, email: str, password: str | None = None) -> str:
    """Give a member a new sign-in password (generated unless given) and return it; the old one
    stops working. Passwords are Lockgate's own (Statsig signs in through its cloud), so the
    audit log, which speaks Statsig's action types, does not record this."""
    if password is not None and not password:
        raise InvalidInput.field("password", "must not be empty")
    user = load(session, project_id, email, lock=True)
    clear = password if password is not None else new_password()
    user.password_hash = hash_password(clear)
    session.flush()
    return clear


def load(session: Session, project_id: str, email: str, *, lock: bool = False) -> User:
    user = repository.user_by_email(session, project_id, email, lock=lock)
    if user is None:
        raise NotFound(USER_NOT_FOUND)
    return user


def read(session: Session, project_id: str, email: str) -> dict[str, Any]:
    return user_dto(load(session, project_id, email))


def list_(
    session: Session, project_id: str, *, offset: int = 0, limit: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    rows, total = repository.list_users(session, project_id, offset=offset, limit=limit)
    return [user_dto(u) for u in rows], total


def update(session: Session, change: Change, email: str, body: UserUpdate) -> User:
    user = load(session, change.project_id, email, lock=True)
    before = user_dto(user)
    if body.role is not None:
        role = resolve_role(session, change.project_id, body.role)
        if user.role == OWNER and role != OWNER:
            raise Forbidden(OWNER_FIXED)
        user.role = role
    if body.first_name is not None:
        user.first_name = body.first_name.strip()
    if body.last_name is not None:
        user.last_name = body.last_name.strip()
    session.flush()
    after = user_dto(user)
    if after != before:
        log = "Updated user role" if before["role"] != after["role"] else "Updated user"
        _audit(session, change, user.email, "user_role_update", log, before, after)
    return user


def remove(session: Session, change: Change, email: str) -> None:
    """Take a member out of the project: their teams and personal console keys go with them.
    The Owner stays, and nobody removes themselves (a project always keeps someone who can
    sign in and administer it)."""
    user = load(session, change.project_id, email, lock=True)
    if user.role == OWNER:
        raise Forbidden(OWNER_STAYS)
    if user.id == change.actor.id:
        raise InvalidInput.field("email", "you cannot remove yourself")
    before = user_dto(user)
    repository.delete_user_keys(session, user.id)
    repository.leave_teams(session, user.id)
    repository.remove(session, user)
    session.flush()
    _audit(session, change, user.email, "company_member_remove", "Removed user", before, None)


def _team_ids(session: Session, project_id: str, teams: Sequence[str]) -> list[str]:
    ids: list[str] = []
    for given in teams:
        team = repository.team(session, project_id, given) or repository.team_by_name(
            session, project_id, given
        )
        if team is None:
            raise InvalidInput.field("teams", f"no team {given!r}")
        ids.append(team.id)
    return list(dict.fromkeys(ids))


def _check_domain(session: Session, project_id: str, emails: Sequence[str]) -> None:
    owner = repository.owner(session, project_id)
    if owner is None:
        return
    domain = owner.email.rsplit("@", 1)[1].lower()
    for email in emails:
        if email.rsplit("@", 1)[1].lower() != domain:
            raise InvalidInput.field("emails", f"{email} is not an address at {domain}")


def invite(session: Session, change: Change, body: UserInvites, policy: InvitePolicy) -> None:
    """Store an invite per email (replacing a pending one), or add the users at once when the
    policy auto-accepts."""
    project_id = change.project_id
    role = resolve_role(session, project_id, body.role)
    emails = list(dict.fromkeys(checked_email(e, "emails") for e in body.emails))
    if policy.check_domain:
        _check_domain(session, project_id, emails)
    team_ids = _team_ids(session, project_id, body.teams or [])
    for email in emails:
        if repository.user_by_email(session, project_id, email) is not None:
            raise InvalidInput.field("emails", f"{email} is already a member of the project")
    for email in emails:
        pending = repository.invite_by_email(session, project_id, email)
        if pending is not None:
            repository.remove(session, pending)
        invite = UserInvite(
            id=random_id(),
            project_id=project_id,
            email=email,
            email_key=repository.email_key(email),
            role=role,
            team_ids=team_ids,
            invited_by=change.actor.id,
            created_time=change.now_ms,
        )
        repository.add(session, invite)
        _audit(
            session,
            change,
            email,
            "user_role_update",
            "Invited user",
            None,
            {"email": email, "role": role, "teams": team_ids, "status": "pending"},
        )
        if policy.auto_accept:
            accept(session, change, email)


def pending_invites(session: Session, project_id: str) -> list[dict[str, Any]]:
    return [
        {"email": i.email, "role": i.role, "teams": list(i.team_ids or [])}
        for i in repository.list_invites(session, project_id)
    ]


def accept(
    session: Session, change: Change, email: str, password: str | None = None
) -> tuple[User, str]:
    """Turn a pending invite into a member who joins the invite's teams (teams deleted since
    are skipped). The role is kept as invited unless it no longer exists: then the project's
    default role, Member when none is set."""
    invite = repository.invite_by_email(session, change.project_id, email)
    if invite is None:
        raise NotFound(f"No pending invite for {email}")
    role = invite.role
    if built_in_role(role) is None and repository.role(session, change.project_id, role) is None:
        role = "Member"
    repository.remove(session, invite)
    user, clear = create(session, change, email=invite.email, role=role, password=password)
    for team_id in invite.team_ids or []:
        if repository.team(session, change.project_id, team_id) is not None:
            repository.join_team(session, team_id, user.id)
    return user, clear
