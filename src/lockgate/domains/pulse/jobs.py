"""Pulse load jobs: queued in the database, claimed by any server process, reported by
``pulse_load_history``. A job computes everything first and writes its results in one
transaction, so a job that fails leaves the previous results as they were. (The per-unit values
an experiment load keeps for the next one change in transactions of their own: they are a cache
of the raw rows, right whether or not the results that follow are stored; see ``incremental``.)"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from lockgate.domains.events import incoming
from lockgate.kit.background import Periodic
from lockgate.kit.clock import Clock
from lockgate.kit.db import Database
from lockgate.kit.ids import random_id
from lockgate.storage.models import PulseJob, PulseResult

logger = logging.getLogger("lockgate.domains.pulse")

Progress = Callable[[int, str], None]
Row = TypeVar("Row")


@dataclass(frozen=True)
class ComputedResult:
    """One result document for one day, produced by a computation."""

    ds: str
    document: dict[str, Any]
    rule_id: str = ""
    view: str = "cumulative"  # or "daily": that day's data alone
    # A change the result calls for (an autotune's new traffic weights), made in the transaction
    # that stores the result, so both happen or neither does.
    apply: Callable[[Session], None] | None = field(default=None, compare=False)


# entity_type -> computation(session, job, progress) -> results
Computation = Callable[[Session, PulseJob, Progress], Sequence[ComputedResult]]


def enqueue(
    session: Session,
    *,
    project_id: str,
    entity_type: str,
    entity_id: str,
    now_ms: int,
    rule_id: str | None = None,
    requested_by: str | None = None,
    details: dict[str, Any] | None = None,
) -> PulseJob:
    job = PulseJob(
        id=random_id(),
        project_id=project_id,
        entity_type=entity_type,
        entity_id=entity_id,
        rule_id=rule_id,
        status="queued",
        progress=0,
        requested_by=requested_by,
        created_time=now_ms,
        details=details,
    )
    session.add(job)
    session.flush()
    return job


def entity_row(session: Session, model: type[Row], job: PulseJob, kind: str) -> Row:
    """The entity a job computes (``kind`` names it in the error when it is gone)."""
    row = session.get(model, (job.project_id, job.entity_id))
    if row is None:
        raise LookupError(f"{kind} {job.entity_id!r} no longer exists")
    return row


def reload_type(job: PulseJob) -> str:
    """``full``, ``incremental`` or ``metric``: what the load was asked to recompute."""
    return str((job.details or {}).get("reloadType") or "full")


def describe(job: PulseJob) -> str:
    """What a job loads, for logs: ``experiment exp (full load)``, ``gate_rule g rule r ...``."""
    rule = f" rule {job.rule_id}" if job.rule_id else ""
    return f"{job.entity_type} {job.entity_id}{rule} ({reload_type(job)} load)"


def history(
    session: Session,
    project_id: str,
    entity_type: str,
    entity_id: str,
    *,
    rule_id: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[Sequence[PulseJob], int]:
    conditions = [
        PulseJob.project_id == project_id,
        PulseJob.entity_type == entity_type,
        PulseJob.entity_id == entity_id,
    ]
    if rule_id is not None:
        conditions.append(PulseJob.rule_id == rule_id)
    rows = session.scalars(select(PulseJob).where(*conditions).order_by(PulseJob.seq.desc())).all()
    return rows[offset : offset + limit], len(rows)


def latest_results(
    session: Session,
    project_id: str,
    entity_type: str,
    entity_id: str,
    *,
    rule_id: str = "",
    ds: str | None = None,
    view: str = "cumulative",
) -> PulseResult | None:
    """The stored result of ``view`` for the day ``ds``, or the latest day before it."""
    query = select(PulseResult).where(
        PulseResult.project_id == project_id,
        PulseResult.entity_type == entity_type,
        PulseResult.entity_id == entity_id,
        PulseResult.rule_id == rule_id,
        PulseResult.view == view,
    )
    if ds is not None:
        query = query.where(PulseResult.ds <= ds)
    return session.scalars(query.order_by(PulseResult.ds.desc())).first()


class JobRunner:
    """Runs queued jobs. Several processes may run one each; a claim is an atomic update."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._database = database
        self._clock = clock
        self._computations: dict[str, Computation] = {}
        self._worker = Periodic("lockgate-pulse", self.run_pending)

    def register(self, entity_type: str, computation: Computation) -> None:
        self._computations[entity_type] = computation

    def _claim(self) -> str | None:
        with self._database.transaction(write=True) as session:
            candidate = session.scalars(
                select(PulseJob.id)
                .where(PulseJob.status == "queued")
                .order_by(PulseJob.seq)
                .limit(1)
            ).first()
            if candidate is None:
                return None
            claimed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                update(PulseJob)
                .where(PulseJob.id == candidate, PulseJob.status == "queued")
                .values(status="running", started_time=self._clock.now_ms(), progress=1)
            )
            return candidate if claimed.rowcount == 1 else None

    def _progress(self, job_id: str) -> Progress:
        def report(percent: int, message: str) -> None:
            with self._database.transaction(write=True) as session:
                session.execute(
                    update(PulseJob)
                    .where(PulseJob.id == job_id)
                    .values(progress=max(1, min(99, percent)), message=message[:2000])
                )

        return report

    def run_one(self) -> str | None:
        """Claim and run one queued job; return its id, or None when the queue is empty."""
        job_id = self._claim()
        if job_id is None:
            return None
        # Wall time for the log, not the injected clock: how long the job really took.
        started = time.perf_counter()
        try:
            incoming.settle(self._database)  # the job sees every acknowledged event
            with self._database.transaction(write=False) as session:
                job = session.scalars(select(PulseJob).where(PulseJob.id == job_id)).one()
                logger.info("Pulse job %s started: %s", job_id, describe(job))
                computation = self._computations.get(job.entity_type)
                if computation is None:
                    raise LookupError(f"no Pulse computation for {job.entity_type}")
                results = list(computation(session, job, self._progress(job_id)))
            self._store(job_id, job, results)
            logger.info(
                "Pulse job %s finished in %.3f s: %d result rows stored",
                job_id,
                time.perf_counter() - started,
                len(results),
            )
        except Exception as exc:  # a failed job must be recorded, whatever failed
            logger.exception(
                "Pulse job %s failed after %.3f s", job_id, time.perf_counter() - started
            )
            with self._database.transaction(write=True) as session:
                session.execute(
                    update(PulseJob)
                    .where(PulseJob.id == job_id)
                    .values(
                        status="failed",
                        finished_time=self._clock.now_ms(),
                        message=f"{type(exc).__name__}: {exc}"[:2000],
                    )
                )
        return job_id

    def _store(self, job_id: str, job: PulseJob, results: Sequence[ComputedResult]) -> None:
        now = self._clock.now_ms()
        with self._database.transaction(write=True) as session:
            for result in results:
                if result.apply is not None:
                    result.apply(session)
                key = (job.project_id, job.entity_type, job.entity_id, result.rule_id)
                existing = session.get(PulseResult, (*key, result.ds, result.view))
                if existing is None:
                    session.add(
                        PulseResult(
                            project_id=job.project_id,
                            entity_type=job.entity_type,
                            entity_id=job.entity_id,
                            rule_id=result.rule_id,
                            ds=result.ds,
                            view=result.view,
                            job_id=job_id,
                            computed_time=now,
                            document=result.document,
                        )
                    )
                else:
                    existing.document = result.document
                    existing.job_id = job_id
                    existing.computed_time = now
            session.execute(
                update(PulseJob)
                .where(PulseJob.id == job_id)
                .values(
                    status="succeeded",
                    progress=100,
                    finished_time=now,
                    message=f"computed {len(results)} result set(s)",
                )
            )

    def run_pending(self) -> int:
        count = 0
        while self.run_one() is not None:
            count += 1
        return count

    def start(self, poll_interval_s: float) -> None:
        self._worker.start(poll_interval_s)

    def stop(self) -> None:
        self._worker.stop(timeout=10)
