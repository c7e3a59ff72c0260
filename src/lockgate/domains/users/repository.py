"""Queries over the people of a project: users, invites, teams and their members, roles; and
the web console's failed sign-ins."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lockgate.storage.models import (
    ApiKey,
    Holdout,
    Project,
    Role,
    SignInFailure,
    Team,
    TeamMember,
    User,
    UserInvite,
)


def email_key(email: str) -> str:
    return email.strip().lower()


def add(session: Session, row: User | UserInvite | Team | TeamMember | Role) -> None:
    session.add(row)
    session.flush()


def add_pending(session: Session, row: Team) -> None:
    """Add a row whose required fields the caller fills before the next flush."""
    session.add(row)


def remove(session: Session, row: User | UserInvite | Team | Role) -> None:
    session.delete(row)
    session.flush()


def project(session: Session, project_id: str) -> Project | None:
    return session.get(Project, project_id)


# Users


def user(session: Session, project_id: str, user_id: str) -> User | None:
    found = session.get(User, user_id)
    return found if found is not None and found.project_id == project_id else None


def user_by_email(
    session: Session, project_id: str, email: str, *, lock: bool = False
) -> User | None:
    query = select(User).where(User.project_id == project_id, User.email_key == email_key(email))
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def users_by_emails(session: Session, project_id: str, emails: Sequence[str]) -> list[User]:
    keys = [email_key(e) for e in emails]
    rows = session.scalars(
        select(User).where(User.project_id == project_id, User.email_key.in_(keys))
    ).all()
    return list(rows)


def users_by_ids(session: Session, ids: Sequence[str]) -> list[User]:
    if not ids:
        return []
    return list(session.scalars(select(User).where(User.id.in_(list(ids)))).all())


def list_users(
    session: Session, project_id: str, *, offset: int = 0, limit: int | None = None
) -> tuple[Sequence[User], int]:
    condition = User.project_id == project_id
    total = session.scalar(select(func.count()).select_from(User).where(condition)) or 0
    query = select(User).where(condition).order_by(User.created_time, User.email_key)
    rows = session.scalars(query.offset(offset).limit(limit)).all()
    return rows, total


def count_with_role(session: Session, project_id: str, role: str) -> int:
    query = select(func.count()).select_from(User)
    condition = (User.project_id == project_id) & (func.lower(User.role) == role.lower())
    return session.scalar(query.where(condition)) or 0


def owner(session: Session, project_id: str) -> User | None:
    query = select(User).where(User.project_id == project_id, User.role == "Owner")
    return session.scalars(query).first()


def delete_user_keys(session: Session, user_id: str) -> None:
    session.execute(delete(ApiKey).where(ApiKey.user_id == user_id))


# Invites


def invite_by_email(session: Session, project_id: str, email: str) -> UserInvite | None:
    query = select(UserInvite).where(
        UserInvite.project_id == project_id, UserInvite.email_key == email_key(email)
    )
    return session.scalars(query).first()


def list_invites(session: Session, project_id: str) -> Sequence[UserInvite]:
    query = select(UserInvite).where(UserInvite.project_id == project_id)
    return session.scalars(query.order_by(UserInvite.created_time, UserInvite.email_key)).all()


# Teams


def team(session: Session, project_id: str, team_id: str, *, lock: bool = False) -> Team | None:
    query = select(Team).where(Team.project_id == project_id, Team.id == team_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def team_by_name(session: Session, project_id: str, name: str) -> Team | None:
    query = select(Team).where(
        Team.project_id == project_id, func.lower(Team.name) == name.strip().lower()
    )
    return session.scalars(query).first()


def list_teams(
    session: Session, project_id: str, *, offset: int = 0, limit: int | None = None
) -> tuple[Sequence[Team], int]:
    condition = Team.project_id == project_id
    total = session.scalar(select(func.count()).select_from(Team).where(condition)) or 0
    query = select(Team).where(condition).order_by(Team.created_time, Team.id)
    return session.scalars(query.offset(offset).limit(limit)).all(), total


def team_members(session: Session, team_ids: Sequence[str]) -> Sequence[TeamMember]:
    if not team_ids:
        return []
    query = select(TeamMember).where(TeamMember.team_id.in_(list(team_ids)))
    return session.scalars(query).all()


def memberships(session: Session, user_id: str) -> Sequence[TeamMember]:
    return session.scalars(select(TeamMember).where(TeamMember.user_id == user_id)).all()


def replace_team_members(
    session: Session, team_id: str, members: Sequence[str], admins: Sequence[str]
) -> None:
    """Set a team's members (user ids) and admins; admins are members too."""
    session.execute(delete(TeamMember).where(TeamMember.team_id == team_id))
    admin_ids = set(admins)
    for user_id in dict.fromkeys([*members, *admins]):
        session.add(TeamMember(team_id=team_id, user_id=user_id, is_admin=user_id in admin_ids))
    session.flush()


def leave_teams(session: Session, user_id: str) -> None:
    session.execute(delete(TeamMember).where(TeamMember.user_id == user_id))


def join_team(session: Session, team_id: str, user_id: str) -> None:
    if session.get(TeamMember, (team_id, user_id)) is None:
        add(session, TeamMember(team_id=team_id, user_id=user_id, is_admin=False))


# Roles


def role(session: Session, project_id: str, name: str, *, lock: bool = False) -> Role | None:
    query = select(Role).where(Role.project_id == project_id, Role.name_key == name.strip().lower())
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def list_roles(
    session: Session, project_id: str, *, offset: int = 0, limit: int | None = None
) -> tuple[Sequence[Role], int]:
    condition = Role.project_id == project_id
    total = session.scalar(select(func.count()).select_from(Role).where(condition)) or 0
    query = select(Role).where(condition).order_by(Role.created_time, Role.name_key)
    return session.scalars(query.offset(offset).limit(limit)).all(), total


def holdout_exists(session: Session, project_id: str, holdout_id: str) -> bool:
    query = select(Holdout.id).where(Holdout.project_id == project_id, Holdout.id == holdout_id)
    return session.scalar(query) is not None


# Sign-in failures (``throttle``): rows keyed by the digest of an email


def sign_in_failures(session: Session, email_digest: str) -> list[int]:
    """The failure times kept for the email, oldest first."""
    query = select(SignInFailure.times).where(SignInFailure.email_digest == email_digest)
    return [int(at) for at in session.scalar(query) or []]


def lock_sign_in_failures(session: Session, email_digest: str, now_ms: int) -> list[int]:
    """The failure times kept for the email, its row (made empty if there was none) locked
    until the transaction ends, so that sign-ins of one email take turns across processes.
    SQLite's write transaction already holds its one lock."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(SignInFailure)
        .values(email_digest=email_digest, times=[], latest=now_ms)
        .on_conflict_do_update(
            index_elements=["email_digest"], set_={"latest": SignInFailure.latest}
        )
        .returning(SignInFailure.times)
    )
    return [int(at) for at in session.execute(statement).scalar_one()]


def set_sign_in_failures(session: Session, email_digest: str, times: Sequence[int]) -> None:
    """Replace the failure times of the email's row (locked by ``lock_sign_in_failures``)."""
    session.execute(
        update(SignInFailure)
        .where(SignInFailure.email_digest == email_digest)
        .values(times=list(times), latest=max(times))
    )


def clear_sign_in_failures(session: Session, email_digest: str) -> None:
    session.execute(delete(SignInFailure).where(SignInFailure.email_digest == email_digest))


def forget_sign_in_failures(session: Session, until_ms: int) -> None:
    """Delete the rows whose newest failure is at ``until_ms`` or before. Rows another
    transaction holds are skipped (PostgreSQL): waiting for them while holding a row of its
    own could deadlock with that transaction doing the same."""
    stale = (
        select(SignInFailure.email_digest)
        .where(SignInFailure.latest <= until_ms)
        .with_for_update(skip_locked=True)
    )
    session.execute(
        delete(SignInFailure)
        .where(SignInFailure.email_digest.in_(stale))
        .execution_options(synchronize_session=False)
    )
