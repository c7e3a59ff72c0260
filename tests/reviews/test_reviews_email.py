"""Review notification emails through a real SMTP server in process (aiosmtpd): who receives
which event, nothing for actors without an email, and retries when the server refuses."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select

from lockgate.app import create_app
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.reviews.worker import ReviewWorker
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.mail import Mailer
from lockgate.kit.settings import Settings
from lockgate.storage.models import OutboxDelivery
from tests.contract.client import ContractClient
from tests.reviews.support import (
    V1,
    add_team,
    add_user,
    gate,
    personal_key,
    require_reviews,
    rule,
    second_console_key,
    set_rules,
)


class Inbox:
    """An aiosmtpd handler keeping what it receives; ``refuse`` makes it answer 554."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self.refuse = False

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        if self.refuse:
            return "554 Transaction failed"
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(content)))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for rcpt, m in self.messages if address in rcpt]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture()
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture()
def smtp_settings(base_settings: Settings, inbox: tuple[Inbox, int]) -> Settings:
    return base_settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": inbox[1],
            "smtp_from": "lockgate@example.com",
            "smtp_starttls": False,
        }
    )


@pytest.fixture()
def smtp_db(db: Database, smtp_settings: Settings) -> Iterator[Database]:
    """The test database, through sessions that know an SMTP server is configured."""
    database = Database(smtp_settings)
    yield database
    database.dispose()


@pytest.fixture()
def smtp_app(smtp_settings: Settings, smtp_db: Database, clock: ManualClock) -> FastAPI:
    return create_app(smtp_settings, clock=clock, database=smtp_db)


def _worker(
    db: Database, clock: ManualClock, settings: Settings, attempts: int = 5
) -> ReviewWorker:
    return ReviewWorker(db, clock, max_attempts=attempts, mailer=Mailer.from_settings(settings))


def _member(db: Database, project: Bootstrap, email: str, clock: ManualClock) -> str:
    return personal_key(
        db, project.project.id, add_user(db, project.project.id, email, "Member", clock), clock
    )


def test_email__reviewers_named__reviewer_and_group_mailed_then_author_on_approval(
    smtp_app: FastAPI,
    smtp_db: Database,
    smtp_settings: Settings,
    project: Bootstrap,
    clock: ManualClock,
    inbox: tuple[Inbox, int],
) -> None:
    received, _ = inbox
    pid = project.project.id
    author_key = _member(smtp_db, project, "author@example.com", clock)
    reviewer_key = _member(smtp_db, project, "reviewer@example.com", clock)
    team_id = add_team(
        smtp_db,
        pid,
        "Payments",
        [add_user(smtp_db, pid, "pay@example.com", "Member", clock)],
        clock,
    )
    _member(smtp_db, project, "bystander@example.com", clock)
    worker = _worker(smtp_db, clock, smtp_settings)
    with ContractClient(smtp_app, project.console_key) as console:
        gate(console)
    with ContractClient(smtp_app, author_key) as author:
        response = author.post(
            f"{V1}/gates/checkout/reviews",
            json={
                "change": {"rules": [rule("all", 100)]},
                "reviewer_ids": ["reviewer@example.com"],
                "reviewer_group_ids": [team_id],
            },
        )
        assert response.status_code == 201, response.text
    path = f"{V1}/gates/checkout/reviews/{response.json()['data']['review_id']}"

    worker.deliverer.deliver_due()
    requested = {a for rcpt, _ in received.messages for a in rcpt}
    with ContractClient(smtp_app, reviewer_key) as reviewer:
        assert reviewer.put(f"{path}/approve", json={}).status_code == 200
    worker.deliverer.deliver_due()

    assert requested == {"reviewer@example.com", "pay@example.com"}
    [approved] = received.to("author@example.com")
    assert approved["From"] == "lockgate@example.com"
    assert "approved the review of Gate checkout" in approved["Subject"]


def test_email__no_reviewers_named__members_able_to_approve_mailed_but_author(
    smtp_app: FastAPI,
    smtp_db: Database,
    smtp_settings: Settings,
    project: Bootstrap,
    clock: ManualClock,
    inbox: tuple[Inbox, int],
) -> None:
    received, _ = inbox
    author_key = _member(smtp_db, project, "author@example.com", clock)
    _member(smtp_db, project, "approver@example.com", clock)
    add_user(smtp_db, project.project.id, "reader@example.com", "Read Only", clock)
    with ContractClient(smtp_app, project.console_key) as console:
        require_reviews(console)
        gate(console)
    with ContractClient(smtp_app, author_key) as author:
        set_rules(author, "checkout", [rule("all", 100)])

    _worker(smtp_db, clock, smtp_settings).deliverer.deliver_due()

    [requested] = received.to("approver@example.com")
    assert "requested a review of Gate checkout" in requested["Subject"]
    assert "Review: " in requested.get_payload()
    assert received.to("author@example.com") == []
    assert received.to("reader@example.com") == []


def test_email__console_api_author__approval_mails_no_one(
    smtp_app: FastAPI,
    smtp_db: Database,
    smtp_settings: Settings,
    project: Bootstrap,
    clock: ManualClock,
    inbox: tuple[Inbox, int],
) -> None:
    received, _ = inbox
    with ContractClient(smtp_app, project.console_key) as console:
        require_reviews(console)
        gate(console)
        change = set_rules(console, "checkout", [rule("all", 100)]).json()["data"]
        path = f"{V1}/gates/checkout/reviews/{change['activeReview']['reviewID']}"
        with ContractClient(smtp_app, second_console_key(console)) as other:
            assert other.put(f"{path}/approve", json={}).status_code == 200
    received.messages.clear()
    with smtp_db.transaction() as session:
        session.query(OutboxDelivery).delete()

    _worker(smtp_db, clock, smtp_settings).deliverer.deliver_due()

    assert received.messages == []


def test_email__smtp_refuses__retried_with_backoff_then_failed(
    smtp_app: FastAPI,
    smtp_db: Database,
    smtp_settings: Settings,
    project: Bootstrap,
    clock: ManualClock,
    inbox: tuple[Inbox, int],
) -> None:
    received, _ = inbox
    received.refuse = True
    author_key = _member(smtp_db, project, "author@example.com", clock)
    _member(smtp_db, project, "approver@example.com", clock)
    with ContractClient(smtp_app, project.console_key) as console:
        require_reviews(console)
        gate(console)
    with ContractClient(smtp_app, author_key) as author:
        set_rules(author, "checkout", [rule("all", 100)])
    worker = _worker(smtp_db, clock, smtp_settings, attempts=2)

    worker.deliverer.deliver_due()
    worker.deliverer.deliver_due()  # not due again before its backoff
    clock.advance(1_000)
    worker.deliverer.deliver_due()

    with smtp_db.transaction(write=False) as session:
        rows = session.scalars(
            select(OutboxDelivery).where(OutboxDelivery.url == "mailto:approver@example.com")
        ).all()
        [row] = rows
        assert (row.purpose, row.status, row.attempts) == ("email", "failed", 2)
        assert row.last_error is not None and "554" in row.last_error


def test_email__smtp_not_configured__no_email_queued(
    app: FastAPI, db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    author_key = _member(db, project, "author@example.com", clock)
    _member(db, project, "approver@example.com", clock)
    with ContractClient(app, project.console_key) as console:
        require_reviews(console)
        gate(console)
    with ContractClient(app, author_key) as author:
        set_rules(author, "checkout", [rule("all", 100)])

    with db.transaction(write=False) as session:
        assert session.scalars(select(OutboxDelivery)).all() == []


def test_settings__smtp_password__hidden_from_summary_and_mailer_repr() -> None:
    settings = Settings(
        database_url="sqlite://", smtp_host="mail.test", smtp_password=SecretStr("hunter2")
    )

    mailer = Mailer.from_settings(settings)

    assert "hunter2" not in settings.summary()
    assert mailer is not None and mailer.password == "hunter2"
    assert "hunter2" not in repr(mailer)
