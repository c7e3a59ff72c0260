"""Who made a change, as audit entries and entity metadata record it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    id: str
    name: str
    email: str | None = None
