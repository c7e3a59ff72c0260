"""Pulse jobs say in the log when they start, when they finish (how long they took and how
many result rows they stored) and why they failed (with the traceback)."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from lockgate.domains.events.repository import insert_rows
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.storage.models import PulseJob, PulseResult
from tests.contract.client import ContractClient
from tests.pulse.helpers import REVENUE, start_experiment

LOGGER = "lockgate.domains.pulse"


def _queue_load(
    console: ContractClient, db: Database, project: Bootstrap, clock: ManualClock
) -> str:
    """Start experiment ``exp`` with two exposed units and a purchase, queue a full load and
    return the job's id."""
    assert console.post("/console/v1/metrics", json=REVENUE).status_code == 201
    groups = start_experiment(console)
    pid, now = project.project.id, clock.now_ms()
    with db.transaction() as session:
        rows = [
            {"project_id": pid, "user_id": unit, "time": now + i, "received_time": now + i}
            for i, unit in enumerate(("u1", "u2"))
        ]
        exposures = [
            {**row, "kind": "config", "name": "exp", "rule_id": rule}
            for row, rule in zip(rows, groups.values(), strict=True)
        ]
        insert_rows(session.connection(), "exposures", exposures)
        purchase = {**rows[1], "event_name": "purchase", "value_number": 5.0}
        insert_rows(session.connection(), "events", [purchase])
    assert console.post("/console/v1/experiments/exp/load_pulse", json={}).status_code == 200
    with db.transaction(write=False) as session:
        return str(session.scalars(select(PulseJob.id)).one())


def _pulse_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == LOGGER]


def test_run_pending__experiment_load__logs_start_and_finish_with_rows(
    app: FastAPI,
    console: ContractClient,
    project: Bootstrap,
    db: Database,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    job_id = _queue_load(console, db, project, clock)
    clock.advance(60_000)
    caplog.set_level(logging.INFO, logger=LOGGER)

    assert app.state.pulse_runner.run_pending() == 1

    with db.transaction(write=False) as session:
        stored = session.scalar(
            select(func.count()).select_from(PulseResult).where(PulseResult.job_id == job_id)
        )
    assert stored == 2  # the cumulative view and the day's daily view
    started, finished = (record.getMessage() for record in _pulse_records(caplog))
    assert started == f"Pulse job {job_id} started: experiment exp (full load)"
    assert re.fullmatch(
        rf"Pulse job {job_id} finished in \d+\.\d{{3}} s: {stored} result rows stored", finished
    )


def test_run_pending__entity_deleted_before_the_job__logs_the_failure_with_traceback(
    app: FastAPI,
    console: ContractClient,
    project: Bootstrap,
    db: Database,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    job_id = _queue_load(console, db, project, clock)
    assert console.delete("/console/v1/experiments/exp").status_code == 200
    caplog.set_level(logging.INFO, logger=LOGGER)

    assert app.state.pulse_runner.run_pending() == 1

    started, failed = _pulse_records(caplog)
    assert started.getMessage() == f"Pulse job {job_id} started: experiment exp (full load)"
    assert failed.levelno == logging.ERROR
    assert re.fullmatch(rf"Pulse job {job_id} failed after \d+\.\d{{3}} s", failed.getMessage())
    assert failed.exc_info is not None and failed.exc_info[0] is LookupError
    assert "experiment 'exp' no longer exists" in str(failed.exc_info[1])
    with db.transaction(write=False) as session:
        job = session.scalars(select(PulseJob).where(PulseJob.id == job_id)).one()
        assert job.status == "failed"
        assert job.message == "LookupError: experiment 'exp' no longer exists"
