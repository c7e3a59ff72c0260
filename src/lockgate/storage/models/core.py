"""Tables of the organisation: company, projects, environments, unit id types, API keys, tags,
audit log, versions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from lockgate.storage.models.base import Base, BigIntPK, JSONType


class Company(Base):
    __tablename__ = "companies"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_time: Mapped[int] = mapped_column(BigInteger)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))
    name: Mapped[str] = mapped_column(String(200))
    # Bumped in the same transaction as any change that alters what SDKs download.
    spec_revision: Mapped[int] = mapped_column(BigInteger, default=0)
    spec_updated_time: Mapped[int] = mapped_column(BigInteger, default=0)
    created_time: Mapped[int] = mapped_column(BigInteger)
    # Project settings (docs/console.md §Settings).
    visibility: Mapped[str] = mapped_column(String(16), default="CLOSED", server_default="CLOSED")
    default_unit_type: Mapped[str | None] = mapped_column(String(100), default=None)
    default_project_role: Mapped[str] = mapped_column(
        String(100), default="Member", server_default="Member"
    )
    require_teams_on_configs: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )


class ApiKey(Base):
    """An API key. Only a hash of the secret is kept; ``id`` is its public, non-secret part."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(1000), default="")
    scopes: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    environments: Mapped[list[Any] | None] = mapped_column(JSONType, default=None)
    primary_target_app: Mapped[str | None] = mapped_column(String(200), default=None)
    secondary_target_apps: Mapped[list[Any] | None] = mapped_column(JSONType, default=None)
    # djb2 of a client key's full text: the key of ``hashed_sdk_keys_to_app_ids`` in server
    # payloads (docs/sdk.md §Target apps). Client keys ship in apps; the text is still not kept.
    client_key_djb2: Mapped[str | None] = mapped_column(String(16), default=None)
    status: Mapped[str] = mapped_column(String(16), default="active")
    # The user a personal console key acts as; None for every other key. No foreign key:
    # SQLite would rebuild this table to add one; removing a user deletes their keys.
    user_id: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    created_time: Mapped[int] = mapped_column(BigInteger)
    last_used_time: Mapped[int | None] = mapped_column(BigInteger, default=None)


class Environment(Base):
    """One of a project's environments. The list is replaced as a whole and kept in order."""

    __tablename__ = "environments"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    is_production: Mapped[bool] = mapped_column(Boolean, default=False)
    requires_review: Mapped[bool] = mapped_column(Boolean, default=False)
    required_review_group_id: Mapped[str | None] = mapped_column(String(64), default=None)
    requires_release_pipeline: Mapped[bool] = mapped_column(Boolean, default=True)


# The unit id types every project has without defining them.
BUILT_IN_ID_TYPES = ("userID", "stableID")


class UnitIdType(Base):
    """A custom unit id type of a project (``userID`` and ``stableID`` are built in)."""

    __tablename__ = "unit_id_types"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    description: Mapped[str | None] = mapped_column(String(1000), default=None)
    created_time: Mapped[int] = mapped_column(BigInteger)


class TargetApp(Base):
    """A target app: entities and SDK keys carry its id to scope what each key downloads."""

    __tablename__ = "target_apps"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(1000), default="")
    created_time: Mapped[int] = mapped_column(BigInteger)


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(1000), default="")
    is_core: Mapped[bool] = mapped_column(Boolean, default=False)
    created_time: Mapped[int] = mapped_column(BigInteger)


class AuditLog(Base):
    __tablename__ = "audit_logs"
    __table_args__ = (Index("ix_audit_logs_project_time", "project_id", "created_time"),)

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    action_type: Mapped[str] = mapped_column(String(80))
    change_log: Mapped[str] = mapped_column(String(500))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(200))
    actor_email: Mapped[str | None] = mapped_column(String(200), default=None)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    tags: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    target_app_ids: Mapped[list[Any] | None] = mapped_column(JSONType, default=None)
    created_time: Mapped[int] = mapped_column(BigInteger)


class EntityVersion(Base):
    """A full snapshot of an entity document after each committed change."""

    __tablename__ = "entity_versions"
    __table_args__ = (UniqueConstraint("project_id", "entity_type", "entity_id", "version"),)

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_time: Mapped[int] = mapped_column(BigInteger)
    actor_id: Mapped[str] = mapped_column(String(64))


class SpecChange(Base):
    """The change feed of the SDK payload: one row per spec revision bump, naming the entity
    the change touched, or none when anything may have changed (a key, a target app, an
    environment). The payload compile reads only the rows after the revision it last compiled
    (docs/compiling.md §Incremental compile)."""

    __tablename__ = "spec_changes"
    __table_args__ = (Index("ix_spec_changes_project_revision", "project_id", "revision"),)

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(32))
    revision: Mapped[int] = mapped_column(BigInteger)
    entity_type: Mapped[str | None] = mapped_column(String(40), default=None)
    entity_id: Mapped[str | None] = mapped_column(String(200), default=None)


class ProtoDocument(Base):
    """The entry checksums of a protobuf spec document some process streamed to SDKs, so that
    any process can answer a later poll naming it with a delta (docs/sdk.md §Protobuf specs).
    Keyed by project, key scope (a digest of the key's environments and apps) and document
    checksum; the newest few documents per scope are kept."""

    __tablename__ = "proto_documents"
    __table_args__ = (
        Index("ix_proto_documents_scope_revision", "project_id", "scope", "revision"),
    )

    project_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    checksum: Mapped[str] = mapped_column(String(20), primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger)
    spec_time: Mapped[int] = mapped_column(BigInteger)
    # zlib over the entries' names and checksums (``domains/specs/render.py``, pack_entries).
    entries: Mapped[bytes] = mapped_column(LargeBinary)


class RateLimitCounter(Base):
    """The sliding-window mutation log of the rate limits (``domains/ratelimits``), shared by
    every server process through the database."""

    __tablename__ = "rate_limit_counters"

    project_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    window: Mapped[str] = mapped_column(String(16), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class EntityName(Base):
    """An id taken in a project's name space that several entity kinds share (SDK payloads key
    gates and holdouts by id in one map, configs, experiments and autotunes in another).

    Written in the transaction that inserts the entity, so two kinds created at once under one
    id cannot both commit: the primary key refuses the second.
    """

    __tablename__ = "entity_names"

    project_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(40), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(40))


class EntityReference(Base):
    """One edge of a project's reference graph: a rule condition of ``entity_id`` (of
    ``entity_type``) names the gate or segment ``target_id``.

    Written with every entity write (``domains/entities/graph.py``), so reference checks walk
    only the entities a change can reach and "who names this gate" is one indexed read.
    """

    __tablename__ = "entity_references"
    __table_args__ = (
        Index("ix_entity_references_target", "project_id", "target_type", "target_id"),
    )

    project_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    target_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    target_id: Mapped[str] = mapped_column(String(200), primary_key=True)
