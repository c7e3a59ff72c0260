"""Who made a change, as audit entries and entity metadata record it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The author of a change.

    A user (acting through a personal console key) has ``permissions``: their role's effective
    permission keys, capped to none for a read-only key. The synthetic actors (``CONSOLE API``
    for project console keys, the CLI, the scheduler) have ``permissions`` None: role checks do
    not apply to them (docs/console.md §Who may call what).
    """

    id: str
    name: str
    email: str | None = None
    role: str | None = None
    permissions: frozenset[str] | None = None

    @property
    def is_user(self) -> bool:
        return self.permissions is not None

    def can(self, permission: str) -> bool:
        """Whether this actor holds ``permission``; synthetic actors hold every one."""
        return self.permissions is None or permission in self.permissions


@dataclass(frozen=True)
class Change:
    """Who is changing what, and when: what every service that writes needs to know."""

    project_id: str
    actor: Actor
    now_ms: int
