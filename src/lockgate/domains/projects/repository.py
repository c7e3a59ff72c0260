"""Queries over companies and projects."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lockgate.domains.revisions.repository import bump_spec_revision as bump_spec_revision
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
