"""The entity writes a unit of work makes, noted for whoever watches the session.

The review workflow watches a request that asked for reviews: it lets the request's service run
as usual inside a savepoint, reads what it wrote here, and, when the change needs a review,
rolls the savepoint back and keeps the writes as the review's proposal (docs/architecture.md
§Reviews).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import Session

_KEY = "lockgate.entity_writes"

Operation = Literal["insert", "save", "remove"]


@dataclass(frozen=True)
class Write:
    operation: Operation
    entity_type: str
    entity_id: str
    # The version the write was made against; None for an insert.
    base_version: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    action: str
    change_log: str


def watch(session: Session) -> list[Write]:
    """Start noting the session's writes; the list returned fills as they happen."""
    noted: list[Write] = []
    session.info[_KEY] = noted
    return noted


def unwatch(session: Session) -> None:
    session.info.pop(_KEY, None)


def note(session: Session, write: Write) -> None:
    noted = session.info.get(_KEY)
    if noted is not None:
        noted.append(write)


@contextmanager
def unnoted(session: Session) -> Iterator[None]:
    """Writes made inside are not noted: the consequences of a change that is not reviewed
    itself (a team's deletion clearing it from entities) never become a review."""
    noted = session.info.pop(_KEY, None)
    try:
        yield
    finally:
        if noted is not None:
            session.info[_KEY] = noted
