"""Entity tags are tag names; each must name an existing tag of the project."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from lockgate.domains.tags import repository as tags_repository
from lockgate.errors import InvalidInput


def checked_tags(session: Session, project_id: str, tags: Sequence[str] | None) -> list[str]:
    if not tags:
        return []
    known = {name.lower(): name for name in tags_repository.names(session, project_id)}
    result = []
    for tag in dict.fromkeys(tags):
        canonical = known.get(tag.lower())
        if canonical is None:
            raise InvalidInput.field(
                "tags", f"tag {tag!r} does not exist; create it with POST /tags"
            )
        result.append(canonical)
    return result
