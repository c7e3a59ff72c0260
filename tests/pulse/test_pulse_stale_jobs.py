"""A Pulse load whose process was killed outright stops sending heartbeats: once its heartbeat
is older than ``pulse_job_stale_ms`` a worker marks it failed (one conditional update, so one
worker of several wins) and the daily schedule loads the entity again; a load with a fresh
heartbeat is left alone (docs/operations.md §One process or several)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.pulse import repository
from lockgate.domains.pulse.engine import utc_day
from lockgate.domains.pulse.jobs import ComputedResult, JobRunner, Progress
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.models import PulseJob, PulseResult
from tests.contract.client import ContractClient
from tests.pulse.helpers import REVENUE, start_experiment

LOGGER = "lockgate.domains.pulse"
STALE_MS: int = Settings.model_fields["pulse_job_stale_ms"].default


def _killed_load(db: Database, project: Bootstrap, clock: ManualClock) -> str:
    """A daily load of experiment ``exp`` claimed by a process that was then killed: left
    ``running`` with its claim as its last heartbeat."""
    with db.transaction() as session:
        job = repository.add_job(
            session,
            project_id=project.project.id,
            entity_type="experiment",
            entity_id="exp",
            now_ms=clock.now_ms(),
            requested_by="Daily schedule",
            details={"reloadType": "incremental"},
        )
        assert repository.claim_next_job(session, clock.now_ms()) == job.id
        return job.id


def _jobs(db: Database) -> list[PulseJob]:
    with db.transaction(write=False) as session:
        return list(session.scalars(select(PulseJob).order_by(PulseJob.seq)))


def _started(console: ContractClient) -> None:
    assert console.post("/console/v1/metrics", json=REVENUE).status_code == 201
    start_experiment(console)


def test_run_pending__running_load_with_stale_heartbeat__failed_and_loaded_again(
    app: FastAPI,
    console: ContractClient,
    project: Bootstrap,
    db: Database,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _started(console)
    killed = _killed_load(db, project, clock)
    clock.advance(STALE_MS + 1)
    caplog.set_level(logging.INFO, logger=LOGGER)

    assert app.state.pulse_runner.run_pending() == 1

    old, new = _jobs(db)
    assert old.id == killed
    assert old.status == "failed"
    assert old.finished_time == clock.now_ms()
    assert old.message is not None
    assert old.message.startswith(f"abandoned: no heartbeat for {(STALE_MS + 1) / 1000:.0f} s")
    assert (new.status, new.requested_by) == ("succeeded", "Daily schedule")
    warnings = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [f"Pulse job {killed} {old.message}"]
    with db.transaction(write=False) as session:
        assert repository.has_result(
            session, project.project.id, "experiment", "exp", "", utc_day(clock.now_ms())
        )


def test_run_pending__running_load_with_fresh_heartbeat__left_running(
    app: FastAPI,
    console: ContractClient,
    project: Bootstrap,
    db: Database,
    clock: ManualClock,
) -> None:
    _started(console)
    running = _killed_load(db, project, clock)
    clock.advance(STALE_MS)
    with db.transaction() as session:  # a progress report is a heartbeat
        repository.set_job_progress(session, running, 40, "still going", clock.now_ms())
    clock.advance(STALE_MS)  # exactly the threshold: not yet stale

    assert app.state.pulse_runner.run_pending() == 0

    (job,) = _jobs(db)
    assert (job.id, job.status, job.progress) == (running, "running", 40)
    assert job.heartbeat_time == clock.now_ms() - STALE_MS
    with db.transaction(write=False) as session:
        assert session.scalars(select(PulseResult)).first() is None


def test_reclaim_abandoned__two_workers__exactly_one_reclaims(
    console: ContractClient, project: Bootstrap, db: Database, clock: ManualClock
) -> None:
    _started(console)
    _killed_load(db, project, clock)
    clock.advance(STALE_MS + 1)
    first = JobRunner(db, clock, stale_ms=STALE_MS)
    second = JobRunner(db, clock, stale_ms=STALE_MS)

    assert (first.reclaim_abandoned(), second.reclaim_abandoned()) == (1, 0)


def test_reclaim_job__heartbeat_after_the_stale_list__not_reclaimed(
    console: ContractClient, project: Bootstrap, db: Database, clock: ManualClock
) -> None:
    _started(console)
    job_id = _killed_load(db, project, clock)
    clock.advance(STALE_MS + 1)
    before = clock.now_ms() - STALE_MS
    with db.transaction(write=False) as session:
        assert [j for j, _ in repository.stale_jobs(session, before)] == [job_id]
    with db.transaction() as session:
        repository.beat(session, job_id, clock.now_ms())  # the process was only slow

    with db.transaction() as session:
        reclaimed = repository.reclaim_job(
            session, job_id, before_ms=before, now_ms=clock.now_ms(), message="abandoned"
        )

    assert reclaimed is False
    assert [job.status for job in _jobs(db)] == ["running"]


def test_run_one__reclaimed_while_computing__results_not_stored(
    project: Bootstrap,
    db: Database,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A process that stalls past the threshold, is reclaimed by another, then resumes, stores
    nothing and leaves the job failed."""
    other = JobRunner(db, clock, stale_ms=STALE_MS)

    def stalls(_session: Session, _job: PulseJob, _progress: Progress) -> Sequence[ComputedResult]:
        clock.advance(STALE_MS + 1)
        assert other.reclaim_abandoned() == 1
        return [ComputedResult(ds=utc_day(clock.now_ms()), document={"stale": True})]

    runner = JobRunner(db, clock, stale_ms=STALE_MS)
    runner.register("experiment", stalls)
    with db.transaction() as session:
        job = repository.add_job(
            session,
            project_id=project.project.id,
            entity_type="experiment",
            entity_id="exp",
            now_ms=clock.now_ms(),
        )
    caplog.set_level(logging.INFO, logger=LOGGER)

    assert runner.run_one() == job.id

    (stored,) = _jobs(db)
    assert stored.status == "failed"
    assert stored.message is not None and stored.message.startswith("abandoned:")
    with db.transaction(write=False) as session:
        assert session.scalars(select(PulseResult)).first() is None
    assert any(
        r.levelno == logging.WARNING and "results after" in r.getMessage()
        for r in caplog.records
        if r.name == LOGGER
    )
