"""Who a user is and what they may do: the read side of the people domain that other domains
(reviews, team policies) and the Console face use. See the package docstring."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.users import repository
from lockgate.domains.users.permissions import BUILT_IN_ROLES, built_in_role
from lockgate.kit.actor import Actor
from lockgate.storage.models import ApiKey, Team, User

READ_ONLY_SCOPE = "personal_read_only"


@dataclass(frozen=True)
class Member:
    """A project member as permission checks see them."""

    id: str
    project_id: str
    email: str
    first_name: str
    last_name: str
    role: str
    permissions: frozenset[str]

    @property
    def name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.email

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def actor(self) -> Actor:
        """The actor of this member's changes: audit entries and entity metadata name them."""
        return Actor(
            id=self.id,
            name=self.name,
            email=self.email,
            role=self.role,
            permissions=self.permissions,
        )


@dataclass(frozen=True)
class TeamInfo:
    """A team as policies read it: who is on it and the settings that act on its entities."""

    id: str
    name: str
    member_ids: frozenset[str]  # admins included
    admin_ids: frozenset[str]
    change_team_configs: str  # anyone | team_only
    review_approval: str  # anyone | team_only | admin_only
    require_reviews: bool
    default_target_apps: tuple[str, ...]
    default_holdout_id: str | None
    default_gate_metrics: tuple[dict[str, Any], ...]
    default_experiment_primary_metrics: tuple[dict[str, Any], ...]
    default_experiment_secondary_metrics: tuple[dict[str, Any], ...]
    default_holdout_metrics: tuple[dict[str, Any], ...]

    def has_member(self, user_id: str) -> bool:
        return user_id in self.member_ids

    def has_admin(self, user_id: str) -> bool:
        return user_id in self.admin_ids


def role_permissions(session: Session, project_id: str, role: str) -> frozenset[str]:
    """The permission keys of a built-in or custom role; an unknown role has none."""
    built_in = built_in_role(role)
    if built_in is not None:
        return BUILT_IN_ROLES[built_in]
    custom = repository.role(session, project_id, role)
    if custom is None:
        return frozenset()
    return frozenset(k for k, v in (custom.permissions or {}).items() if v is True)


def _member(session: Session, row: User, *, read_only: bool = False) -> Member:
    permissions = frozenset() if read_only else role_permissions(session, row.project_id, row.role)
    return Member(
        id=row.id,
        project_id=row.project_id,
        email=row.email,
        first_name=row.first_name,
        last_name=row.last_name,
        role=row.role,
        permissions=permissions,
    )


def member(session: Session, project_id: str, user_id: str) -> Member | None:
    row = repository.user(session, project_id, user_id)
    return _member(session, row) if row is not None else None


def member_by_email(session: Session, project_id: str, email: str) -> Member | None:
    row = repository.user_by_email(session, project_id, email)
    return _member(session, row) if row is not None else None


def member_of_key(session: Session, key: ApiKey) -> Member | None:
    """The user a personal console key acts as, with its permissions (none for a
    ``personal_read_only`` key: it may read only); None for a key that is not personal."""
    if key.user_id is None:
        return None
    row = repository.user(session, key.project_id, key.user_id)
    if row is None:
        return None
    return _member(session, row, read_only=READ_ONLY_SCOPE in (key.scopes or []))


def member_of_actor(session: Session, project_id: str, actor: Actor) -> Member | None:
    """The user behind an actor (a request principal's), or None for a synthetic actor."""
    return member(session, project_id, actor.id) if actor.is_user else None


def permissions_of(session: Session, project_id: str, user_id: str) -> frozenset[str]:
    found = member(session, project_id, user_id)
    return found.permissions if found is not None else frozenset()


def _team_info(team: Team, members: dict[str, bool]) -> TeamInfo:
    return TeamInfo(
        id=team.id,
        name=team.name,
        member_ids=frozenset(members),
        admin_ids=frozenset(u for u, admin in members.items() if admin),
        change_team_configs=team.change_team_configs,
        review_approval=team.review_approval,
        require_reviews=bool(team.require_reviews),
        default_target_apps=tuple(team.default_target_apps or []),
        default_holdout_id=team.default_holdout_id,
        default_gate_metrics=tuple(team.default_gate_metrics or []),
        default_experiment_primary_metrics=tuple(team.default_experiment_primary_metrics or []),
        default_experiment_secondary_metrics=tuple(team.default_experiment_secondary_metrics or []),
        default_holdout_metrics=tuple(team.default_holdout_metrics or []),
    )


def _infos(session: Session, teams: list[Team]) -> list[TeamInfo]:
    rows = repository.team_members(session, [t.id for t in teams])
    by_team: dict[str, dict[str, bool]] = {t.id: {} for t in teams}
    for row in rows:
        by_team[row.team_id][row.user_id] = row.is_admin
    return [_team_info(t, by_team[t.id]) for t in teams]


def team(session: Session, project_id: str, team_id: str) -> TeamInfo | None:
    """A team by id, or None."""
    row = repository.team(session, project_id, team_id)
    return _infos(session, [row])[0] if row is not None else None


def find_team(session: Session, project_id: str, id_or_name: str) -> TeamInfo | None:
    """A team by id, or else by name (any case)."""
    row = repository.team(session, project_id, id_or_name) or repository.team_by_name(
        session, project_id, id_or_name
    )
    return _infos(session, [row])[0] if row is not None else None


def teams_of(session: Session, project_id: str, user_id: str) -> list[TeamInfo]:
    """The teams a user is a member or an admin of."""
    ids = [m.team_id for m in repository.memberships(session, user_id)]
    rows = [t for t in (repository.team(session, project_id, i) for i in ids) if t is not None]
    return _infos(session, sorted(rows, key=lambda t: (t.created_time, t.id)))


def is_team_member(session: Session, project_id: str, team_id: str, user_id: str) -> bool:
    found = team(session, project_id, team_id)
    return found is not None and found.has_member(user_id)


def is_team_admin(session: Session, project_id: str, team_id: str, user_id: str) -> bool:
    found = team(session, project_id, team_id)
    return found is not None and found.has_admin(user_id)


def emails_of(session: Session, project_id: str, ids_or_emails: list[str]) -> list[str]:
    """The emails of the members named by id or by email, in order, unknown ones left out."""
    rows = repository.users_by_ids(session, ids_or_emails)
    by_id = {u.id: u.email for u in rows if u.project_id == project_id}
    by_email = {
        u.email_key: u.email for u in repository.users_by_emails(session, project_id, ids_or_emails)
    }
    found = (by_id.get(i) or by_email.get(repository.email_key(i)) for i in ids_or_emails)
    return list(dict.fromkeys(e for e in found if e))


def emails_with_permission(session: Session, project_id: str, permission: str) -> list[str]:
    """The emails of the members whose role holds ``permission``."""
    rows, _ = repository.list_users(session, project_id)
    return [u.email for u in rows if permission in role_permissions(session, project_id, u.role)]
