"""The web console's sign-in throttle: after ``limit`` failed sign-ins of one email within a
sliding window, that email is refused until the oldest of them has left the window
(docs/console.md §Web console).

Failures are counted in the database, so every server process sharing it counts the same ones
and a restart forgets none; an email is stored only as the SHA-256 digest of its lower-cased
form. A sign-in counts as failed from the moment it is admitted until it succeeds: the attempt
is recorded before the password is checked, one email's attempts take turns on its row, and so
no more than ``limit`` of them are ever checked within a window, however many arrive at once
in however many processes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from lockgate.domains.users import repository


@dataclass(frozen=True)
class Policy:
    limit: int = 10
    window_ms: int = 15 * 60 * 1000


def email_digest(email: str) -> str:
    return hashlib.sha256(repository.email_key(email).encode()).hexdigest()


def refusal(session: Session, email: str, now_ms: int, policy: Policy) -> int | None:
    """Milliseconds until the email may try again, or ``None`` when it may now. Only reads: a
    flood of refused attempts takes no write lock (``admit`` decides again under the lock)."""
    return _wait(repository.sign_in_failures(session, email_digest(email)), now_ms, policy)


def admit(session: Session, email: str, now_ms: int, policy: Policy) -> int | None:
    """Record a sign-in of the email as failed until ``succeeded`` clears it, or, when the
    email has ``limit`` failures in the window already, record nothing and return the
    milliseconds until it may try again. Rows whose failures all left the window go."""
    digest = email_digest(email)
    kept = repository.lock_sign_in_failures(session, digest, now_ms)
    wait = _wait(kept, now_ms, policy)
    if wait is not None:
        return wait
    recent = [at for at in kept if at > now_ms - policy.window_ms]
    repository.set_sign_in_failures(session, digest, [*recent, now_ms])
    repository.forget_sign_in_failures(session, now_ms - policy.window_ms)
    return None


def succeeded(session: Session, email: str) -> None:
    """A sign-in of the email succeeded: its failures are forgotten."""
    repository.clear_sign_in_failures(session, email_digest(email))


def _wait(times: Sequence[int], now_ms: int, policy: Policy) -> int | None:
    recent = sorted(at for at in times if at > now_ms - policy.window_ms)
    if len(recent) < policy.limit:
        return None
    # Room for one more once all but limit - 1 of them have left the window.
    return recent[len(recent) - policy.limit] + policy.window_ms - now_ms
