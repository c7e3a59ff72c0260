"""Tables of the people of a project: members, pending invites, teams and custom roles
(docs/architecture.md §People), and the web console's recent failed sign-ins."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lockgate.storage.models.base import Base, JSONType


class User(Base):
    """A member of a project. ``email_key`` is the lower-cased email: unique per project."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("project_id", "email_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320))
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    # Admin, Member, Read Only, Owner or a custom role's name (docs/console.md §Roles).
    role: Mapped[str] = mapped_column(String(100))
    # An argon2id PHC string ($argon2id$v=19$m=…), or scrypt$<n>$<r>$<p>$<salt>$<hash> from
    # before argon2 (replaced at the next sign-in); for the web console's sign-in, never logged.
    password_hash: Mapped[str | None] = mapped_column(String(300), default=None)
    created_time: Mapped[int] = mapped_column(BigInteger)


class UserInvite(Base):
    """An invitation not yet accepted: the invitee is not a member until then."""

    __tablename__ = "user_invites"
    __table_args__ = (UniqueConstraint("project_id", "email_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(100))
    # Ids of the teams joined on acceptance.
    team_ids: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    invited_by: Mapped[str] = mapped_column(String(64))
    created_time: Mapped[int] = mapped_column(BigInteger)


class Team(Base):
    """A team: owns entities, sets their defaults and who may change and approve them."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(1000), default=None)
    change_team_configs: Mapped[str] = mapped_column(String(20), default="anyone")
    review_approval: Mapped[str] = mapped_column(String(20), default="anyone")
    require_reviews: Mapped[bool | None] = mapped_column(Boolean, default=None)
    require_gate_templates: Mapped[bool | None] = mapped_column(Boolean, default=None)
    require_experiment_templates: Mapped[bool | None] = mapped_column(Boolean, default=None)
    require_dynamic_config_templates: Mapped[bool | None] = mapped_column(Boolean, default=None)
    default_holdout_id: Mapped[str | None] = mapped_column(String(200), default=None)
    # Target app ids, and {name, type} metric references, as the Console API shows them.
    default_target_apps: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    default_gate_metrics: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    default_experiment_primary_metrics: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    default_experiment_secondary_metrics: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    default_holdout_metrics: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    created_time: Mapped[int] = mapped_column(BigInteger)


class TeamMember(Base):
    """A user on a team; admins are members too (``is_admin``)."""

    __tablename__ = "team_members"
    __table_args__ = (Index("ix_team_members_user", "user_id"),)

    team_id: Mapped[str] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)


class Role(Base):
    """A custom role: a name and a map over the permission keys (built-in roles are code)."""

    __tablename__ = "roles"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    # Lower-cased name: role names compare case-insensitively.
    name_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    permissions: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_time: Mapped[int] = mapped_column(BigInteger)


class SignInFailure(Base):
    """The web console's failed sign-ins of one email within the throttle's window, shared by
    every process (docs/console.md §Web console). The email is kept only as the SHA-256 digest
    of its lower-cased form, so the table holds no address."""

    __tablename__ = "sign_in_failures"

    email_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    # When each failure came (epoch ms), oldest first: no more than the throttle's limit. A
    # sign-in counts as failed from its start until it succeeds.
    times: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    # The newest of ``times``: rows whose newest failure left the window are deleted.
    latest: Mapped[int] = mapped_column(BigInteger, index=True)
