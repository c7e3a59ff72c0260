"""First-run bootstrap and project/company reads."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.keys import service as keys_service
from lockgate.domains.projects import repository
from lockgate.domains.users import service as users_service
from lockgate.domains.users.permissions import OWNER
from lockgate.domains.warehouse import service as warehouse_service
from lockgate.errors import NotFound
from lockgate.kit.actor import Actor, Change
from lockgate.kit.ids import random_id
from lockgate.storage.models import Company, Environment, Project

SYSTEM_ACTOR = Actor(id="lockgate", name="Lockgate")
# (name, isProduction, requiresReview) of a new project's environments (docs/console.md
# §Environments).
DEFAULT_ENVIRONMENTS = (
    ("development", False, False),
    ("staging", False, False),
    ("production", True, True),
)


def new_environment_id() -> str:
    # Statsig's environment ids look like ``Math.random()`` output; any stable string would do.
    return repr(random.random())


@dataclass(frozen=True)
class Bootstrap:
    """What a first start created. The secrets are shown once and never stored in clear."""

    project: Project
    console_key: str
    server_key: str
    client_key: str
    key_ids: tuple[str, ...]  # the public ids of the three keys, safe to log
    owner_email: str | None = None
    owner_password: str | None = None  # the Owner's one-time sign-in password


def bootstrap(
    session: Session,
    now_ms: int,
    *,
    company_name: str = "Lockgate",
    owner_email: str | None = None,
) -> Bootstrap | None:
    """Create the company, a default project with its environments, one key of each kind and,
    given ``owner_email``, the project's Owner, unless a project exists.

    Processes starting together on an empty database bootstrap one after another, so only the
    first creates anything. ``session`` must be a write session of its own transaction."""
    repository.lock_bootstrap(session)
    if repository.first_project(session) is not None:
        return None
    company = Company(id=random_id(), name=company_name, created_time=now_ms)
    project = Project(
        id=random_id(),
        company_id=company.id,
        name="Default Project",
        spec_revision=1,
        spec_updated_time=now_ms,
        created_time=now_ms,
    )
    session.add_all([company, project])
    session.flush()
    session.add_all(
        [
            Environment(
                project_id=project.id,
                id=new_environment_id(),
                name=name,
                position=position,
                is_production=production,
                requires_review=review,
                required_review_group_id=None,
                requires_release_pipeline=True,
            )
            for position, (name, production, review) in enumerate(DEFAULT_ENVIRONMENTS)
        ]
    )
    session.flush()
    created = {}
    key_ids = []
    for key_type, description, scopes in (
        ("CONSOLE", "Console API key", ["omni_read_write", "can_access_keys"]),
        ("SERVER", "Server secret key", []),
        ("CLIENT", "Client API key", []),
    ):
        key, secret = keys_service.issue(
            session,
            project_id=project.id,
            actor=SYSTEM_ACTOR,
            now_ms=now_ms,
            key_type=key_type,
            description=description,
            scopes=scopes,
        )
        created[key_type] = secret
        key_ids.append(key.id)
    owner_password = None
    if owner_email is not None:
        change = Change(project.id, SYSTEM_ACTOR, now_ms)
        _, owner_password = users_service.create(
            session, change, email=owner_email, role=OWNER, owner=True
        )
    return Bootstrap(
        project=project,
        owner_email=owner_email,
        owner_password=owner_password,
        console_key=created["CONSOLE"],
        server_key=created["SERVER"],
        client_key=created["CLIENT"],
        key_ids=tuple(key_ids),
    )


def project_dto(project: Project) -> dict[str, Any]:
    return {"id": project.id, "name": project.name}


def company_dto(company: Company, *, warehouse_native: bool = False) -> dict[str, Any]:
    return {
        "companyID": company.id,
        "companyName": company.name,
        "isWarehouseNative": warehouse_native,
        "orgID": None,
        "orgName": None,
    }


def read_project(session: Session, project_id: str) -> dict[str, Any]:
    project = repository.get_project(session, project_id)
    if project is None:
        raise NotFound()
    return project_dto(project)


def read_company(session: Session, project_id: str) -> dict[str, Any]:
    project = repository.get_project(session, project_id)
    company = repository.get_company(session, project.company_id) if project else None
    if company is None:
        raise NotFound()
    # A project is warehouse native once it has a warehouse connection (docs/warehouse.md).
    native = warehouse_service.is_warehouse_native(session, project_id)
    return company_dto(company, warehouse_native=native)
