"""Sliding-window mutation limits: at most ``limit`` mutations in any ``span_ms`` interval.

Every admitted mutation is logged with its time, and a new one is admitted only while the
windows ending now hold fewer than their limits; so no interval of a window's length, wherever
it starts, ever holds more (a fixed window would let twice the limit through across its edge).
Refused mutations are not logged: retrying does not push the wait further out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from lockgate.domains.ratelimits import repository


@dataclass(frozen=True)
class Window:
    name: str
    span_ms: int
    limit: int


@dataclass(frozen=True)
class Refusal:
    """The window that refused a mutation, and when the next one will be admitted."""

    window: Window
    retry_after_ms: int


def admit(
    session: Session, project_id: str, now_ms: int, windows: Sequence[Window]
) -> Refusal | None:
    """Log one mutation of the project at ``now_ms``, or say why it must wait."""
    repository.lock(session, project_id)
    longest = max(window.span_ms for window in windows)
    logged = repository.recent(session, project_id, now_ms - longest)
    refusals = [r for window in windows if (r := _refusal(window, logged, now_ms)) is not None]
    if refusals:
        return max(refusals, key=lambda refusal: refusal.retry_after_ms)
    repository.record(session, project_id, now_ms)
    repository.forget(session, project_id, now_ms - longest)
    return None


def _refusal(window: Window, logged: Sequence[tuple[int, int]], now_ms: int) -> Refusal | None:
    inside = [(at, count) for at, count in logged if at > now_ms - window.span_ms]
    excess = sum(count for _, count in inside) - window.limit + 1
    if excess <= 0:
        return None
    # Wait until enough of the oldest mutations have left the window to make room for one.
    leaving = 0
    for at, count in inside:
        leaving += count
        if leaving >= excess:
            return Refusal(window, at + window.span_ms - now_ms)
    return Refusal(window, window.span_ms)  # not reached: the excess is at most what is inside
