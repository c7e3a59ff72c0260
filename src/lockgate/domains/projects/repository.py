"""Queries over companies and projects."""

from __future__ import annotations

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from lockgate.storage.models import Company, Project

# Any constant works; it only has to be the same in every Lockgate process.
_BOOTSTRAP_LOCK = 0x6C6F636B626F6F74


def lock_bootstrap(session: Session) -> None:
    """Queue the first-run bootstraps of processes starting together, until the caller's
    transaction ends: on PostgreSQL an advisory lock; on SQLite the write transaction's
    lock (``BEGIN IMMEDIATE``) already does it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_BOOTSTRAP_LOCK)))


def get_project(session: Session, project_id: str) -> Project | None:
    return session.get(Project, project_id)


def get_company(session: Session, company_id: str) -> Company | None:
    return session.get(Company, company_id)


def first_project(session: Session) -> Project | None:
    return session.scalars(select(Project).order_by(Project.created_time, Project.id)).first()


def find_project(session: Session, id_or_name: str) -> Project | None:
    return session.scalars(
        select(Project).where((Project.id == id_or_name) | (Project.name == id_or_name))
    ).first()


def bump_spec_revision(session: Session, project_id: str, now_ms: int) -> None:
    """Mark the project's SDK payload stale; takes the project row lock until commit.

    The spec time strictly increases even for two changes in one millisecond, because SDKs
    poll with ``sinceTime`` = the last time they saw and must not miss the second change.
    """
    later = case((Project.spec_updated_time >= now_ms, Project.spec_updated_time + 1), else_=now_ms)
    session.execute(
        update(Project)
        .where(Project.id == project_id)
        .values(spec_revision=Project.spec_revision + 1, spec_updated_time=later)
    )
