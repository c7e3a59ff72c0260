"""Queries over companies and projects."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lockgate.domains.revisions.repository import bump_spec_revision as bump_spec_revision
from lockgate.storage.models import Company, Project


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
