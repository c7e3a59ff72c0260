"""The spec revision update, and the change feed it writes."""

from __future__ import annotations

from sqlalchemy import case, delete, insert, update
from sqlalchemy.orm import Session

from lockgate.kit.db import mark_sdk_stale
from lockgate.storage.models import Project, SpecChange

# How many revisions of the change feed are kept: a compile that last read the feed longer ago
# than this reads the whole project again (docs/compiling.md §Incremental compile).
FEED_WINDOW = 1024
# The feed is pruned when the revision reaches a multiple of this.
PRUNE_EVERY = 256


def bump_spec_revision(
    session: Session,
    project_id: str,
    now_ms: int,
    entity: tuple[str, str] | None = None,
) -> None:
    """Mark the project's SDK payload stale; takes the project row lock until commit.

    The spec time strictly increases even for two changes in one millisecond, because SDKs
    poll with ``sinceTime`` = the last time they saw and must not miss the second change.
    The change feed gets a row under the new revision naming ``entity`` (entity type, id), or
    none when the change may touch anything.
    """
    mark_sdk_stale(session)
    later = case((Project.spec_updated_time >= now_ms, Project.spec_updated_time + 1), else_=now_ms)
    revision = session.execute(
        update(Project)
        .where(Project.id == project_id)
        .values(spec_revision=Project.spec_revision + 1, spec_updated_time=later)
        .returning(Project.spec_revision)
    ).scalar()
    if revision is None:
        return
    entity_type, entity_id = entity if entity is not None else (None, None)
    session.execute(
        insert(SpecChange).values(
            project_id=project_id,
            revision=revision,
            entity_type=entity_type,
            entity_id=entity_id,
        )
    )
    if revision % PRUNE_EVERY == 0:
        session.execute(
            delete(SpecChange).where(
                SpecChange.project_id == project_id, SpecChange.revision <= revision - FEED_WINDOW
            )
        )
