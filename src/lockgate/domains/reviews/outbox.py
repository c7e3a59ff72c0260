"""Outgoing deliveries (webhook POSTs and notification emails): written in the transaction
that decides them, sent after it commits by the delivery worker, with retries; a crash
between the two loses nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.orm import Session

from lockgate.domains.reviews import repository
from lockgate.kit.clock import Clock
from lockgate.kit.db import Database
from lockgate.kit.mail import Mailer
from lockgate.storage.models import OutboxDelivery

logger = logging.getLogger(__name__)

BATCH = 50
MAX_BACKOFF_MS = 60_000
SEND_TIMEOUT_S = 10.0
# A claimed delivery is hidden from other workers this long, so two servers do not send it
# together; a worker that dies mid-send leaves it to be sent again after the lease.
LEASE_MS = 60_000


def enqueue(
    session: Session,
    *,
    project_id: str,
    purpose: str,
    url: str,
    body: dict[str, Any],
    now_ms: int,
    headers: dict[str, str] | None = None,
) -> None:
    repository.add(
        session,
        OutboxDelivery(
            project_id=project_id,
            purpose=purpose,
            url=url,
            headers=headers or {},
            body=json.dumps(body, separators=(",", ":")),
            status="pending",
            attempts=0,
            next_attempt_time=now_ms,
            created_time=now_ms,
        ),
    )


def signature(secret: str, timestamp_ms: int, body: str) -> str:
    """``v0=<hex>`` of HMAC-SHA256 over ``v0:<timestamp>:<body>``, as the Generic Webhook
    integration signs its requests."""
    base = f"v0:{timestamp_ms}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class _Due:
    id: int
    project_id: str
    purpose: str
    url: str
    headers: dict[str, str]
    body: str
    secret: str | None


class Deliverer:
    """Sends due deliveries; an answer other than 2xx, or none, or an email the SMTP server
    refuses, is retried with exponential backoff until ``max_attempts``, then the delivery is
    marked failed."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        max_attempts: int,
        transport: httpx.BaseTransport | None = None,
        mailer: Mailer | None = None,
    ) -> None:
        self._database = database
        self._clock = clock
        self._max_attempts = max_attempts
        self._transport = transport
        self._mailer = mailer

    def _claim(self) -> list[_Due]:
        # A read first: an idle worker must not take SQLite's write lock every interval.
        with self._database.transaction(write=False) as session:
            if not repository.has_due_delivery(session, self._clock.now_ms()):
                return []
        with self._database.transaction(write=True) as session:
            found = []
            now = self._clock.now_ms()
            for row in repository.due_deliveries(session, now, BATCH):
                row.next_attempt_time = now + LEASE_MS
                settings = repository.settings(session, row.project_id)
                secret = settings.notify_webhook_secret if settings else None
                found.append(
                    _Due(
                        row.id,
                        row.project_id,
                        row.purpose,
                        row.url,
                        dict(row.headers),
                        row.body,
                        secret if row.purpose == "notification" else None,
                    )
                )
            return found

    def deliver_due(self) -> int:
        """Send what is due (outside any transaction); returns how many were delivered."""
        delivered = 0
        claimed = self._claim()
        if not claimed:  # the usual case: no client made (its TLS context costs milliseconds)
            return 0
        with httpx.Client(timeout=SEND_TIMEOUT_S, transport=self._transport) as client:
            for due in claimed:
                error = self._send(client, due)
                self._record(due.id, error)
                delivered += error is None
        return delivered

    def _send(self, client: httpx.Client, due: _Due) -> str | None:
        if due.purpose == "email":
            return self._mail(due)
        headers = {"Content-Type": "application/json", **due.headers}
        if due.secret:
            now = self._clock.now_ms()
            headers["X-Statsig-Request-Timestamp"] = str(now)
            headers["X-Statsig-Signature"] = signature(due.secret, now, due.body)
        try:
            answer = client.post(due.url, content=due.body.encode(), headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:1000]
        if 200 <= answer.status_code < 300:
            return None
        return f"HTTP {answer.status_code}"

    def _mail(self, due: _Due) -> str | None:
        if self._mailer is None:
            return "no SMTP server is configured"
        message = json.loads(due.body)
        try:
            self._mailer.send(message["to"], message["subject"], message["text"])
        except (smtplib.SMTPException, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"[:1000]
        return None

    def _record(self, delivery_id: int, error: str | None) -> None:
        with self._database.transaction(write=True) as session:
            row = repository.delivery(session, delivery_id, lock=True)
            if row is None or row.status != "pending":
                return
            row.attempts += 1
            if error is None:
                row.status = "delivered"
                return
            row.last_error = error
            if row.attempts >= self._max_attempts:
                row.status = "failed"
                logger.warning("delivery %s to %s failed for good: %s", row.id, row.url, error)
                return
            backoff = min(MAX_BACKOFF_MS, 1000 * 2 ** (row.attempts - 1))
            row.next_attempt_time = self._clock.now_ms() + backoff
