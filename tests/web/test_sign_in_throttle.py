"""The sign-in throttle counted in the shared database: one limit for every process, a sliding
window on the injected clock, success forgetting the failures, digests instead of emails, stale
rows pruned, and concurrent attempts admitted no more than the limit. On both databases."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from lockgate.app import create_app
from lockgate.domains.projects.service import SYSTEM_ACTOR, Bootstrap
from lockgate.domains.users import repository, throttle
from lockgate.domains.users import service as users_service
from lockgate.domains.users.permissions import ADMIN
from lockgate.faces.web.session import SignInThrottle
from lockgate.kit.actor import Change
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.models import SignInFailure
from tests.contract.client import ContractClient

EMAIL = "Ann@Example.com"
PASSWORD = "ann-long-password"
WINDOW_MS = 15 * 60 * 1000


@pytest.fixture()
def member(db: Database, project: Bootstrap, clock: ManualClock) -> None:
    with db.transaction() as session:
        change = Change(project.project.id, SYSTEM_ACTOR, clock.now_ms())
        users_service.create(session, change, email=EMAIL, role=ADMIN, password=PASSWORD)


@pytest.fixture()
def other_db(settings: Settings) -> Iterator[Database]:
    """A second engine on the same database: with an app over it, a second server process."""
    other = Database(settings)
    yield other
    other.dispose()


@pytest.fixture()
def client(app: FastAPI, member: None) -> Iterator[ContractClient]:
    with ContractClient(app) as client:
        yield client


def _sign_in(client: ContractClient, password: str, email: str = EMAIL) -> int:
    response = client.request("POST", "/ui/login", data={"email": email, "password": password})
    return response.status_code


def _rows(db: Database) -> list[dict[str, Any]]:
    with db.transaction(write=False) as session:
        rows = session.scalars(select(SignInFailure)).all()
        return [{"digest": r.email_digest, "times": r.times, "latest": r.latest} for r in rows]


def test_sign_in__failures_through_two_processes__one_limit_for_both(
    settings: Settings,
    db: Database,
    other_db: Database,
    clock: ManualClock,
    member: None,
) -> None:
    # Given two server processes on one database
    first = create_app(settings, clock=clock, database=db)
    second = create_app(settings, clock=clock, database=other_db)
    with ContractClient(first) as a, ContractClient(second) as b:
        # When an email fails five times through each
        statuses = []
        for _ in range(5):
            statuses += [_sign_in(a, "guess"), _sign_in(b, "guess")]
            clock.advance(1_000)
        # Then both refuse it, even with the right password
        assert statuses == [401] * 10
        assert _sign_in(a, PASSWORD) == 429
        assert _sign_in(b, PASSWORD) == 429


def test_sign_in__limit_reached__refused_until_the_oldest_failure_leaves_the_window(
    client: ContractClient, clock: ManualClock
) -> None:
    # Given ten failures a minute apart
    for _ in range(10):
        assert _sign_in(client, "guess") == 401
        clock.advance(60_000)
    # When the right password comes 4 minutes after the last failure
    clock.advance(3 * 60_000)
    response = client.request("POST", "/ui/login", data={"email": EMAIL, "password": PASSWORD})
    # Then it is refused until the first failure is 15 minutes old: 2 minutes more
    assert response.status_code == 429
    assert "Too many failed sign-ins for this email; try again in 2 minutes." in response.text
    assert response.headers["Retry-After"] == "120"
    clock.advance(120_000 - 1)
    assert _sign_in(client, PASSWORD) == 429
    clock.advance(1)
    assert _sign_in(client, PASSWORD) == 303


def test_sign_in__window_passed__one_more_attempt_per_failure_that_left(
    client: ContractClient, clock: ManualClock
) -> None:
    # Given ten failures, the last nine a minute after the first
    assert _sign_in(client, "guess") == 401
    clock.advance(60_000)
    for _ in range(9):
        assert _sign_in(client, "guess") == 401
    # When the first has left the window
    clock.advance(WINDOW_MS - 60_000)
    # Then one attempt is admitted, and the next refused until the nine leave
    assert _sign_in(client, "guess") == 401
    assert _sign_in(client, PASSWORD) == 429
    clock.advance(60_000)
    assert _sign_in(client, PASSWORD) == 303


def test_sign_in__success__forgets_the_failures(
    client: ContractClient, clock: ManualClock, db: Database
) -> None:
    # Given nine failures
    for _ in range(9):
        assert _sign_in(client, "guess") == 401
    # When the right password comes
    assert _sign_in(client, PASSWORD) == 303
    # Then the email's row is gone, and ten more failures are needed to refuse it
    assert _rows(db) == []
    for _ in range(10):
        assert _sign_in(client, "guess") == 401
    assert _sign_in(client, PASSWORD) == 429


def test_sign_in_failures__stored__under_the_digest_of_the_normalised_email(
    client: ContractClient, clock: ManualClock, db: Database
) -> None:
    # Given failures with the email written three ways
    for written in (EMAIL, " ann@example.com", "ANN@EXAMPLE.COM "):
        assert _sign_in(client, "guess", email=written) == 401
        clock.advance(1)
    # Then one row counts them, keyed by the SHA-256 digest of the lower-cased email, and
    # nothing stored names the email
    now = clock.now_ms()
    digest = hashlib.sha256(b"ann@example.com").hexdigest()
    assert _rows(db) == [
        {"digest": digest, "times": [now - 3, now - 2, now - 1], "latest": now - 1}
    ]
    assert "ann" not in repr(_rows(db)).lower()


def test_sign_in_failures__rows_whose_failures_left_the_window__pruned_on_the_next_failure(
    client: ContractClient, clock: ManualClock, db: Database
) -> None:
    # Given failures of two emails, the second's a minute later
    assert _sign_in(client, "guess", email="old@example.com") == 401
    clock.advance(60_000)
    assert _sign_in(client, "guess", email="recent@example.com") == 401
    # When another email fails once the first's failure has left the window
    clock.advance(WINDOW_MS - 60_000)
    assert _sign_in(client, "guess", email="new@example.com") == 401
    # Then the first's row is gone, and the second's, still in the window, kept
    digests = {row["digest"] for row in _rows(db)}
    assert digests == {
        hashlib.sha256(email.encode()).hexdigest()
        for email in ("recent@example.com", "new@example.com")
    }


def test_throttle__concurrent_attempts_in_two_processes__admit_exactly_the_limit(
    db: Database, other_db: Database, clock: ManualClock
) -> None:
    # Given two processes' throttles on one database, and a clock that stands still
    throttles = [SignInThrottle(db, clock), SignInThrottle(other_db, clock)]
    admitted: list[bool] = []

    def attempts(throttle: SignInThrottle) -> None:
        for _ in range(6):
            admitted.append(throttle.admit(EMAIL) is None)

    # When three threads of each start 36 sign-ins of one email at once
    threads = [threading.Thread(target=attempts, args=(t,)) for t in throttles for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then exactly ten were admitted, and each of them is counted
    assert admitted.count(True) == 10 and admitted.count(False) == 26
    assert [len(row["times"]) for row in _rows(db)] == [10]


@pytest.mark.postgresql_only
def test_throttle__two_transactions_each_holding_a_row__prune_without_waiting(
    db: Database, other_db: Database, clock: ManualClock
) -> None:
    # Given two emails whose failures have left the window
    a, b = throttle.email_digest("a@example.com"), throttle.email_digest("b@example.com")
    with db.transaction() as session:
        for digest in (a, b):
            repository.lock_sign_in_failures(session, digest, clock.now_ms())
            repository.set_sign_in_failures(session, digest, [clock.now_ms()])
    clock.advance(WINDOW_MS)
    now = clock.now_ms()
    # When two processes' transactions each take one email's row, then prune
    first, second = db.session(write=True), other_db.session(write=True)
    try:
        for session in (first, second):
            # A wait for the other's row would fail here instead of hanging the test.
            session.execute(text("SET LOCAL lock_timeout = '5s'"))
        for session, digest in ((first, a), (second, b)):
            repository.lock_sign_in_failures(session, digest, now)
        for session, digest in ((first, a), (second, b)):
            repository.set_sign_in_failures(session, digest, [now])
        # Then neither waits for the row the other holds (which would deadlock)
        repository.forget_sign_in_failures(first, now - WINDOW_MS)
        repository.forget_sign_in_failures(second, now - WINDOW_MS)
        first.commit()
        second.commit()
    finally:
        first.close()
        second.close()
    assert sorted((row["digest"], row["times"]) for row in _rows(db)) == sorted(
        [(a, [now]), (b, [now])]
    )
