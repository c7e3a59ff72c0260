"""Group commit for event batches: concurrent requests share one write transaction.

Each SDK flush is a request of a few hundred events. Committing every request on its own makes
each pay for the pages its rows dirty in the event indexes; batches that arrive while another
commit is in flight are instead written together by whichever request thread finds no commit
running (the leader), which keeps taking what has queued until the queue is empty. Every
request still returns only after the transaction holding its rows has committed, so nothing is
acknowledged that was not stored.

A batch is validated before it queues (``service.prepare``), so a group's transaction should
not fail. If it does anyway, each of its batches is written again in a transaction of its own:
one client's bad rows then fail that client's request alone, never the others sharing its
group.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from lockgate.domains.events.service import BatchResult, PreparedBatch, store
from lockgate.kit.db import Database

MAX_GROUP_ROWS = 20_000  # one transaction stays short enough not to starve other writers


@dataclass
class _Ticket:
    batch: PreparedBatch
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    @property
    def rows(self) -> int:
        return len(self.batch.exposures) + len(self.batch.customs)


class EventWriter:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._lock = threading.Lock()
        self._queue: list[_Ticket] = []
        self._leading = False

    def write(self, batch: PreparedBatch) -> BatchResult:
        """Store the batch durably; returns once its transaction has committed."""
        if not batch.exposures and not batch.customs:
            return batch.result
        ticket = _Ticket(batch)
        with self._lock:
            self._queue.append(ticket)
            lead = not self._leading
            self._leading = True
        if lead:
            self._lead()
        ticket.done.wait()
        if ticket.error is not None:
            raise ticket.error
        return batch.result

    def _lead(self) -> None:
        while True:
            with self._lock:
                group = self._take()
                if not group:
                    self._leading = False
                    return
            try:
                self._store(group)
            except BaseException as problem:
                if len(group) == 1:
                    group[0].error = problem
                else:
                    for ticket in group:
                        try:
                            self._store([ticket])
                        except BaseException as alone:
                            ticket.error = alone
            for ticket in group:
                ticket.done.set()

    def _store(self, group: list[_Ticket]) -> None:
        # Leaders of several worker processes queue in the kernel, not in SQLite's busy sleeps.
        with self._database.writer_turn(), self._database.transaction(write=True) as session:
            store(session.connection(), [ticket.batch for ticket in group])

    @property
    def leading(self) -> bool:
        """Whether a request thread is writing groups now (for monitoring and tests)."""
        with self._lock:
            return self._leading

    @property
    def queued(self) -> int:
        """How many batches wait for the group in flight (for monitoring and tests)."""
        with self._lock:
            return len(self._queue)

    def _take(self) -> list[_Ticket]:
        """The queued tickets, oldest first, up to MAX_GROUP_ROWS rows (at least one)."""
        rows, count = 0, 0
        for ticket in self._queue:
            if count and rows + ticket.rows > MAX_GROUP_ROWS:
                break
            rows += ticket.rows
            count += 1
        group, self._queue = self._queue[:count], self._queue[count:]
        return group
