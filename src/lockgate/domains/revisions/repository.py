"""The spec revision update."""

from __future__ import annotations

from sqlalchemy import case, update
from sqlalchemy.orm import Session

from lockgate.kit.db import mark_sdk_stale
from lockgate.storage.models import Project


def bump_spec_revision(session: Session, project_id: str, now_ms: int) -> None:
    """Mark the project's SDK payload stale; takes the project row lock until commit.

    The spec time strictly increases even for two changes in one millisecond, because SDKs
    poll with ``sinceTime`` = the last time they saw and must not miss the second change.
    """
    mark_sdk_stale(session)
    later = case((Project.spec_updated_time >= now_ms, Project.spec_updated_time + 1), else_=now_ms)
    session.execute(
        update(Project)
        .where(Project.id == project_id)
        .values(spec_revision=Project.spec_revision + 1, spec_updated_time=later)
    )
