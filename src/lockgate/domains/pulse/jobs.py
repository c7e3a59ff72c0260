"""Pulse load jobs: queued in the database, claimed by any server process, reported by
``pulse_load_history``. A job computes everything first and writes its results in one
transaction, so a job that fails or is cancelled leaves the previous results as they were. A
cancel asked while a job runs is a column of its row, read at each progress report, so it
reaches whichever process runs the job. (The per-unit values
an experiment load keeps for the next one change in transactions of their own: they are a cache
of the raw rows, right whether or not the results that follow are stored; see ``incremental``.)"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.events import incoming
from lockgate.domains.pulse import repository
from lockgate.kit.background import Periodic
from lockgate.kit.clock import Clock
from lockgate.kit.db import Database
from lockgate.storage.models import PulseJob

logger = logging.getLogger("lockgate.domains.pulse")

Progress = Callable[[int, str], None]

# How often a running job's process records that it is alive, besides each progress report. The
# stale threshold (``Settings.pulse_job_stale_ms``) must stay well above it.
HEARTBEAT_EVERY_S = 30.0


class Reclaimed(Exception):
    """The job was reclaimed as abandoned while it ran: its results are not stored."""


class Cancelled(Exception):
    """A cancel was asked for the job while it ran: it stops at its next progress report (or
    before storing), and stores nothing."""


def cancelled_message(by: str | None, progress: int, *, running: bool) -> str:
    """What a cancelled job's history says."""
    who = f" by {by}" if by else ""
    if not running:
        return f"cancelled{who} before it started"
    return f"cancelled{who} at {progress}%: no results stored"


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
    # What the load adds to its job's details (a warehouse load's health checks), stored with
    # the results.
    job_details: dict[str, Any] | None = field(default=None, compare=False)
    # The load restates every view of its entity: the stored results it does not return are
    # deleted (a warehouse load's days outside a narrowed analysis window).
    restates: bool = False
    # The load restates the views of its entity from this day on (a turbo load's last day):
    # the stored results of those days it does not return are deleted, earlier ones kept.
    restates_from: str | None = None


# entity_type -> computation(session, job, progress) -> results
Computation = Callable[[Session, PulseJob, Progress], Sequence[ComputedResult]]


def reload_type(job: PulseJob) -> str:
    """``full``, ``incremental`` or ``metric``: what the load was asked to recompute."""
    return str((job.details or {}).get("reloadType") or "full")


def turbo_mode(job: PulseJob) -> bool:
    """Whether the load runs in turbo mode: a warehouse-native experiment's last day alone
    (docs/warehouse.md §Turbo mode); queued only for those."""
    return bool((job.details or {}).get("turboMode"))


def describe(job: PulseJob) -> str:
    """What a job loads, for logs: ``experiment exp (full load)``, ``gate_rule g rule r ...``."""
    rule = f" rule {job.rule_id}" if job.rule_id else ""
    turbo = ", turbo" if turbo_mode(job) else ""
    return f"{job.entity_type} {job.entity_id}{rule} ({reload_type(job)} load{turbo})"


class JobRunner:
    """Runs queued jobs. Several processes may run one each; a claim is an atomic update.

    A running job records a heartbeat; one whose heartbeat is older than ``stale_ms`` lost its
    process (killed outright) and is marked failed, so its entity can be loaded again."""

    def __init__(self, database: Database, clock: Clock, *, stale_ms: int) -> None:
        self._database = database
        self._clock = clock
        self._stale_ms = stale_ms
        self._computations: dict[str, Computation] = {}
        self._worker = Periodic("lockgate-pulse", self.run_pending)

    def register(self, entity_type: str, computation: Computation) -> None:
        self._computations[entity_type] = computation

    def _claim(self) -> str | None:
        with self._database.transaction(write=True) as session:
            return repository.claim_next_job(session, self._clock.now_ms())

    def _progress(self, job_id: str) -> Progress:
        def report(percent: int, message: str) -> None:
            with self._database.transaction(write=True) as session:
                if repository.cancel_requested(session, job_id):
                    raise Cancelled(job_id)
                repository.set_job_progress(
                    session, job_id, max(1, min(99, percent)), message[:2000], self._clock.now_ms()
                )

        return report

    def _beat(self, job_id: str) -> None:
        with self._database.transaction(write=True) as session:
            repository.beat(session, job_id, self._clock.now_ms())

    @contextmanager
    def _heartbeat(self, job_id: str) -> Iterator[None]:
        """Record every ``HEARTBEAT_EVERY_S`` that the job's process is alive, while it runs
        (a single query of a large load may go minutes without a progress report)."""
        done = threading.Event()

        def loop() -> None:
            while not done.wait(HEARTBEAT_EVERY_S):
                try:
                    self._beat(job_id)
                except Exception:  # a database hiccup: the next beat may succeed
                    logger.exception("Pulse job %s: heartbeat failed", job_id)

        thread = threading.Thread(target=loop, name="lockgate-pulse-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def reclaim_abandoned(self) -> int:
        """Mark failed every running job whose heartbeat is older than the stale threshold;
        return how many this call reclaimed."""
        now = self._clock.now_ms()
        before = now - self._stale_ms
        with self._database.transaction(write=False) as session:
            stale = repository.stale_jobs(session, before)
        reclaimed = 0
        for job_id, heartbeat in stale:
            silent_s = (now - heartbeat) / 1000
            message = (
                f"abandoned: no heartbeat for {silent_s:.0f} s (its process stopped without "
                "finishing it); marked failed so the entity can be loaded again"
            )
            with self._database.transaction(write=True) as session:
                if not repository.reclaim_job(
                    session, job_id, before_ms=before, now_ms=now, message=message
                ):
                    continue  # another process reclaimed it, or it beat meanwhile
            logger.warning("Pulse job %s %s", job_id, message)
            reclaimed += 1
        return reclaimed

    def run_one(self) -> str | None:
        """Claim and run one queued job; return its id, or None when the queue is empty."""
        job_id = self._claim()
        if job_id is None:
            return None
        # Wall time for the log, not the injected clock: how long the job really took.
        started = time.perf_counter()
        try:
            with self._heartbeat(job_id):
                incoming.settle(self._database)  # the job sees every acknowledged event
                with self._database.transaction(write=False) as session:
                    job = repository.job(session, job_id)
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
        except Cancelled:
            self._finish_cancelled(job_id, time.perf_counter() - started)
        except Reclaimed:
            logger.warning(
                "Pulse job %s was reclaimed as abandoned while it ran (its heartbeat was older "
                "than pulse_job_stale_ms): its results after %.3f s are not stored",
                job_id,
                time.perf_counter() - started,
            )
        except Exception as exc:  # a failed job must be recorded, whatever failed
            logger.exception(
                "Pulse job %s failed after %.3f s", job_id, time.perf_counter() - started
            )
            with self._database.transaction(write=True) as session:
                repository.finish_job(
                    session,
                    job_id,
                    status="failed",
                    now_ms=self._clock.now_ms(),
                    message=f"{type(exc).__name__}: {exc}"[:2000],
                )
        return job_id

    def _finish_cancelled(self, job_id: str, elapsed_s: float) -> None:
        with self._database.transaction(write=True) as session:
            job = repository.job(session, job_id)
            message = cancelled_message(job.cancelled_by, job.progress, running=True)
            repository.finish_job(
                session, job_id, status="cancelled", now_ms=self._clock.now_ms(), message=message
            )
        logger.info("Pulse job %s %s after %.3f s", job_id, message, elapsed_s)

    def _store(self, job_id: str, job: PulseJob, results: Sequence[ComputedResult]) -> None:
        now = self._clock.now_ms()
        with self._database.transaction(write=True) as session:
            if any(result.restates for result in results):
                repository.delete_results(session, job)
            else:
                kept_before = [r.restates_from for r in results if r.restates_from is not None]
                if kept_before:
                    repository.delete_results(session, job, from_ds=min(kept_before))
            for result in results:
                if result.apply is not None:
                    result.apply(session)
                if result.job_details:
                    repository.add_job_details(session, job_id, result.job_details)
            repository.save_results(
                session,
                job,
                [(r.rule_id, r.ds, r.view, r.document) for r in results],
                job_id=job_id,
                now_ms=now,
            )
            if not repository.finish_job(
                session,
                job_id,
                status="succeeded",
                now_ms=now,
                message=f"computed {len(results)} result set(s)",
                progress=100,
                unless_cancelled=True,
            ):
                # Either rolls the results back.
                if repository.cancel_requested(session, job_id):
                    raise Cancelled(job_id)
                raise Reclaimed(job_id)

    def run_pending(self) -> int:
        self.reclaim_abandoned()
        return self._run_queue()

    def _run_queue(self) -> int:
        count = 0
        while self.run_one() is not None:
            count += 1
        return count

    def start(self, poll_interval_s: float) -> None:
        self._worker.start(poll_interval_s)

    def stop(self) -> None:
        self._worker.stop(timeout=10)
