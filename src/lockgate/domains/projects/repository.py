"""Queries over companies and projects."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lockgate.domains.revisions.repository import bump_spec_revision as bump_spec_revision
from lockgate.storage.models import Company, Project, Role, UnitIdType

# Any constant works; it only has to be the same in every Lockgate process.
_BOOTSTRAP_LOCK = 0x6C6F636B626F6F74


def lock_bootstrap(session: Session) -> None:
    """Queue the first-run bootstraps of processes starting together, until the caller's
    transaction ends: on PostgreSQL an advisory lock; on SQLite the write transaction's
    lock (``BEGIN IMMEDIATE``) already does it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_BOOTSTRAP_LOCK)))


def get_project(session: Session, project_id: str, *, lock: bool = False) -> Project | None:
    if lock:
        return session.scalars(
            select(Project).where(Project.id == project_id).with_for_update()
        ).first()
    return _held(session, project_id)


def _held(session: Session, project_id: str) -> Project | None:
    """The project row through the session's identity map, held until the transaction ends:
    the map keeps rows only while something refers to them, and one write asks for the project
    from several places (its default unit type, its team policy), which then cost one query.
    A session living across transactions reads the row afresh in the next one."""
    held = session.info.get(_HELD_KEY)
    if held is not None and held[0] is not session.get_transaction():
        del session.info[_HELD_KEY]  # an earlier transaction's row: let it go before reading
    project = session.get(Project, project_id)
    transaction = session.get_transaction()
    if project is not None and transaction is not None:
        rows: dict[str, Project] = session.info.setdefault(_HELD_KEY, (transaction, {}))[1]
        rows[project_id] = project
    return project


_HELD_KEY = "lockgate.projects"


def unit_id_type(session: Session, project_id: str, name: str) -> str | None:
    """The stored spelling of a custom unit id type named in any case, or None."""
    query = select(UnitIdType.name).where(
        UnitIdType.project_id == project_id, func.lower(UnitIdType.name) == name.lower()
    )
    return session.scalars(query).first()


def role_name(session: Session, project_id: str, name: str) -> str | None:
    """The stored spelling of a custom role named in any case, or None."""
    query = select(Role.name).where(Role.project_id == project_id, Role.name_key == name.lower())
    return session.scalars(query).first()


def get_company(session: Session, company_id: str) -> Company | None:
    return session.get(Company, company_id)


def first_project(session: Session) -> Project | None:
    return session.scalars(select(Project).order_by(Project.created_time, Project.id)).first()


def find_project(session: Session, id_or_name: str) -> Project | None:
    return session.scalars(
        select(Project).where((Project.id == id_or_name) | (Project.name == id_or_name))
    ).first()


def default_unit_type(session: Session, project_id: str) -> str | None:
    """The project's ``default_unit_type`` setting: the idType of new gates and experiments
    created without one."""
    project = _held(session, project_id)
    return project.default_unit_type if project is not None else None
