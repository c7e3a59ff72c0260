"""Who made a change, as audit entries and entity metadata record it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    id: str
    name: str
    email: str | None = None


@dataclass(frozen=True)
class Change:
    """Who is changing what, and when: what every service that writes needs to know."""

    project_id: str
    actor: Actor
    now_ms: int
