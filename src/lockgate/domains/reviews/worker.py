"""The review worker of a server process: fails overdue validations, then sends due
deliveries. Both read their state from the database, so a restart loses nothing."""

from __future__ import annotations

import httpx

from lockgate.domains.projects.service import SYSTEM_ACTOR
from lockgate.domains.reviews import repository, validation
from lockgate.domains.reviews.outbox import Deliverer
from lockgate.kit.clock import Clock
from lockgate.kit.db import Database
from lockgate.kit.mail import Mailer


class ReviewWorker:
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
        self.deliverer = Deliverer(
            database, clock, max_attempts=max_attempts, transport=transport, mailer=mailer
        )

    def expire_validations(self) -> int:
        with self._database.transaction(write=False) as session:
            if not repository.has_overdue_validation(session, self._clock.now_ms()):
                return 0
        with self._database.transaction(write=True) as session:
            return validation.expire(session, self._clock.now_ms(), SYSTEM_ACTOR)

    def run_once(self) -> int:
        self.expire_validations()
        return self.deliverer.deliver_due()
