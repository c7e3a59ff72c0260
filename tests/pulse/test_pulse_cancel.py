"""Cancelling a Pulse load (``POST /experiments/{id}/pulse_load_history/{dagID}/cancel``) and
reading one load (``GET …/pulse_load_history/{dagID}``): a queued load is cancelled at once; a
running one stops at its next progress report, in whichever process runs it, and stores
nothing; a finished one cannot be cancelled."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from lockgate.domains.events.repository import insert_rows
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.pulse import repository
from lockgate.domains.pulse.jobs import Progress
from lockgate.domains.pulse.worker import PulseWorker, pulse_worker
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.models import AuditLog, PulseJob, PulseResult, PulseState
from tests.contract.client import ContractClient
from tests.pulse.helpers import REVENUE, start_experiment

HISTORY = "/console/v1/experiments/exp/pulse_load_history"
UNITS = 3000


def _load_with_rows(
    console: ContractClient, db: Database, project: Bootstrap, clock: ManualClock
) -> str:
    """Experiment ``exp`` with ``UNITS`` exposed units, a purchase each; a full load queued.
    Returns the load's dagID."""
    assert console.post("/console/v1/metrics", json=REVENUE).status_code == 201
    groups = list(start_experiment(console).values())
    pid, now = project.project.id, clock.now_ms()
    rows = [
        {"project_id": pid, "user_id": f"u{i}", "time": now + i, "received_time": now + i}
        for i in range(UNITS)
    ]
    with db.transaction() as session:
        insert_rows(
            session.connection(),
            "exposures",
            [
                {**row, "kind": "config", "name": "exp", "rule_id": groups[i % 2]}
                for i, row in enumerate(rows)
            ],
        )
        insert_rows(
            session.connection(),
            "events",
            [
                {**row, "event_name": "purchase", "value_number": float(i % 7)}
                for i, row in enumerate(rows)
            ],
        )
    clock.advance(60_000)
    assert console.post("/console/v1/experiments/exp/load_pulse", json={}).status_code == 200
    history = console.get(HISTORY).json()["data"]
    return str(history[0]["dagID"])


def _count(db: Database, model: type) -> int:
    with db.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _cancel_audits(db: Database) -> list[AuditLog]:
    with db.transaction(write=False) as session:
        return list(
            session.scalars(select(AuditLog).where(AuditLog.action_type == "cancel_echidna_dag"))
        )


class PausingWorker(PulseWorker):
    """A worker that waits at its first progress report of at least ``pause_at`` percent, once
    that report is recorded, until the test lets it go on: the test then acts while the load
    is certainly running, at a known point."""

    def __init__(self, database: Database, clock: ManualClock, pause_at: int) -> None:
        super().__init__(database, clock, stale_ms=3_600_000)
        ready = pulse_worker(database, clock, stale_ms=3_600_000)
        self._computations = ready._computations  # the server's own computations
        self.pause_at = pause_at
        self.reported = threading.Event()
        self.go_on = threading.Event()

    def _progress(self, job_id: str) -> Progress:
        report = super()._progress(job_id)

        def pausing(percent: int, message: str) -> None:
            report(percent, message)
            if percent >= self.pause_at and not self.reported.is_set():
                self.reported.set()
                self.go_on.wait()

        return pausing


@pytest.fixture()
def other_process(base_settings: Settings, db: Database) -> Iterator[Database]:
    """The database as another server process sees it: an engine and pool of its own."""
    other = Database(base_settings)
    yield other
    other.dispose()


# Held at its first report (assigning units), the load stops at its next one; held at its last
# (keeping per-unit values), it stops before storing its results. The per-unit values an
# incremental load keeps are a cache of the raw rows, right whether or not results follow.
@pytest.mark.parametrize(("pause_at", "stopped_at", "kept_states"), [(1, 5, 0), (97, 97, 1)])
def test_cancel__running_load_with_rows__stops_at_next_checkpoint_and_stores_no_results(
    console: ContractClient,
    project: Bootstrap,
    db: Database,
    clock: ManualClock,
    other_process: Database,
    pause_at: int,
    stopped_at: int,
    kept_states: int,
) -> None:
    # Given a load running in another process, held at a progress report
    dag = _load_with_rows(console, db, project, clock)
    worker = PausingWorker(other_process, clock, pause_at)
    ran: list[str | None] = []
    thread = threading.Thread(target=lambda: ran.append(worker.run_one()))
    thread.start()
    try:
        assert worker.reported.wait(120)
        running = console.get(f"{HISTORY}/{dag}").json()["data"]
        assert running["status"] == "running"

        # When a client cancels it while it runs
        response = console.post(f"{HISTORY}/{dag}/cancel")
    finally:
        worker.go_on.set()
        thread.join()

    # Then the load ended cancelled, with no results and no kept values stored
    assert response.status_code == 200, response.text
    assert response.json() == {
        "message": "Pulse load is being cancelled: it stops at its next progress report."
    }
    assert ran == [dag]
    assert _count(db, PulseResult) == 0
    assert _count(db, PulseState) == kept_states
    details = console.get(f"{HISTORY}/{dag}").json()["data"]
    assert details["status"] == "cancelled"
    assert details["finishedState"] == "cancelled"
    assert details["progress"] == stopped_at
    assert details["cancelledBy"] == running["creatorName"]
    assert details["message"] == (
        f"cancelled by {running['creatorName']} at {stopped_at}%: no results stored"
    )
    listed = console.get(HISTORY).json()["data"]
    assert [(row["dagID"], row["finishedState"]) for row in listed] == [(dag, "cancelled")]
    assert [entry.entity_id for entry in _cancel_audits(db)] == ["exp"]


def test_cancel__queued_load__cancelled_at_once_and_never_runs(
    app: FastAPI, console: ContractClient, project: Bootstrap, db: Database, clock: ManualClock
) -> None:
    # Given a queued load
    dag = _load_with_rows(console, db, project, clock)

    # When it is cancelled, then the worker runs its queue
    response = console.post(f"{HISTORY}/{dag}/cancel")
    app.state.pulse_runner.run_pending()

    # Then it was cancelled before it started, and the daily schedule left it for the day
    assert response.status_code == 200
    assert response.json() == {"message": "Pulse load cancelled."}
    details = console.get(f"{HISTORY}/{dag}").json()["data"]
    assert (details["status"], details["finishedState"]) == ("cancelled", "cancelled")
    assert details["message"].endswith("before it started")
    assert details["jobs"][0]["startTime"] is None
    assert _count(db, PulseJob) == 1
    assert _count(db, PulseResult) == 0
    assert len(_cancel_audits(db)) == 1


def test_cancel__finished_load__400_and_nothing_changes(
    app: FastAPI, console: ContractClient, project: Bootstrap, db: Database, clock: ManualClock
) -> None:
    dag = _load_with_rows(console, db, project, clock)
    app.state.pulse_runner.run_pending()
    before = console.get(f"{HISTORY}/{dag}").json()["data"]

    response = console.post(f"{HISTORY}/{dag}/cancel")

    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "message": f"Invalid request. Pulse load {dag!r} already finished (success); "
        "only a queued or running load can be cancelled",
    }
    assert console.get(f"{HISTORY}/{dag}").json()["data"] == before
    assert _cancel_audits(db) == []


def test_load_details__finished_load__single_dto_with_its_job(
    app: FastAPI, console: ContractClient, project: Bootstrap, db: Database, clock: ManualClock
) -> None:
    dag = _load_with_rows(console, db, project, clock)
    app.state.pulse_runner.run_pending()

    response = console.get(f"{HISTORY}/{dag}")

    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Pulse load history read successfully."
    details = body["data"]
    assert details["dagID"] == dag
    assert (details["status"], details["progress"]) == ("succeeded", 100)
    assert details["finishedState"] == "success"
    assert details["reloadType"] == "full"
    assert "error" not in details and "cancelledBy" not in details
    (job,) = details["jobs"]
    assert job["jobType"] == "pulse"
    assert job["jobIDs"] == [dag]
    assert job["startTime"] == details["startedTime"]
    assert job["endTime"] == details["finishedTime"]
    assert job["startTime"] <= job["endTime"]


def test_load_details__failed_load__error_is_its_message(
    console: ContractClient, project: Bootstrap, db: Database, clock: ManualClock
) -> None:
    # Given a load whose process recorded a failure
    dag = _load_with_rows(console, db, project, clock)
    with db.transaction() as session:
        assert repository.claim_next_job(session, clock.now_ms()) == dag
        repository.finish_job(
            session, dag, status="failed", now_ms=clock.now_ms(), message="OperationalError: x"
        )

    details = console.get(f"{HISTORY}/{dag}").json()["data"]

    assert (details["status"], details["finishedState"]) == ("failed", "failure")
    assert details["error"] == "OperationalError: x"


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("case", ["unknown", "other experiment"])
def test_load_details_and_cancel__load_not_of_this_experiment__404(
    console: ContractClient,
    project: Bootstrap,
    db: Database,
    clock: ManualClock,
    method: str,
    case: str,
) -> None:
    dag = _load_with_rows(console, db, project, clock)
    start_experiment(console, "other")
    path = f"/console/v1/experiments/other/pulse_load_history/{dag}"
    if case == "unknown":
        path = f"{HISTORY}/no-such-load"
    if method == "post":
        path += "/cancel"

    response = console.request(method.upper(), path)

    assert response.status_code == 404
    assert response.json() == {"status": 404, "message": "Pulse load history not found."}
    with db.transaction(write=False) as session:
        assert session.scalars(select(PulseJob.status)).all() == ["queued"]
    assert _cancel_audits(db) == []


def test_cancel__unknown_experiment__404(console: ContractClient) -> None:
    response = console.post("/console/v1/experiments/nope/pulse_load_history/x/cancel")

    assert response.status_code == 404


def test_cancel__running_load_asked_twice__both_200_first_request_recorded(
    console: ContractClient, project: Bootstrap, db: Database, clock: ManualClock
) -> None:
    # Given a load a worker claimed and has not reported on yet
    dag = _load_with_rows(console, db, project, clock)
    with db.transaction() as session:
        assert repository.claim_next_job(session, clock.now_ms()) == dag
    first_asked = clock.now_ms()

    # When a cancel is asked twice
    first = console.post(f"{HISTORY}/{dag}/cancel")
    clock.advance(1000)
    second = console.post(f"{HISTORY}/{dag}/cancel")

    # Then both are accepted, the load still runs until its process sees the request, and the
    # first request is the one recorded (each is audited)
    assert (first.status_code, second.status_code) == (200, 200)
    details = console.get(f"{HISTORY}/{dag}").json()["data"]
    assert details["status"] == "running"
    assert details["cancelRequestedTime"] == first_asked
    assert len(_cancel_audits(db)) == 2
