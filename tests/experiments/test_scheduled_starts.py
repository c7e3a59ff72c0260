"""Scheduled experiment starts: ``POST /schedule_start`` records the time, and the background
check starts the experiment once its time has come, in one process only."""

from __future__ import annotations

import threading
from typing import Any

from fastapi import FastAPI

from lockgate.cores.compiler.allocation import LAYER_BUCKETS
from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import EXPERIMENT
from lockgate.domains.experiments.schedule import ScheduledStarts
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from tests.contract.client import ContractClient
from tests.experiments.support import BASE, create, create_layer, groups, put, read

HOUR_MS = 3_600_000


def _schedule(console: ContractClient, experiment_id: str, at_ms: int) -> None:
    response = console.post(f"{BASE}/{experiment_id}/schedule_start", json={"scheduledTime": at_ms})
    assert response.status_code == 200, response.text


def _audit(console: ContractClient, experiment_id: str) -> list[dict[str, Any]]:
    response = console.get("/console/v1/audit_logs", params={"id": experiment_id})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def test_run_once__scheduled_time_comes__started_once_by_lockgate(
    console: ContractClient, db: Database, clock: ManualClock
) -> None:
    # Given: an experiment scheduled to start in an hour, and one in setup without a schedule
    scheduled = create(console, "Scheduled", groups=groups(50, 50))["id"]
    unscheduled = create(console, "Unscheduled", groups=groups(50, 50))["id"]
    _schedule(console, scheduled, clock.now_ms() + HOUR_MS)
    starts = ScheduledStarts(db, clock)
    # When: the check runs before the time
    clock.advance(HOUR_MS - 1)
    # Then: nothing starts
    assert starts.run_once() == 0
    assert read(console, scheduled)["status"] == "setup"
    # When: the time comes
    clock.advance(1)
    assert starts.run_once() == 1
    # Then: it is active from now, without its schedule; the other one stays in setup
    started = read(console, scheduled)
    assert started["status"] == "active"
    assert started["startTime"] == clock.now_ms()
    assert started.get("scheduledTime") is None
    assert read(console, unscheduled)["status"] == "setup"
    [entry] = [a for a in _audit(console, scheduled) if a["actionType"] == "experiment_start"]
    assert entry["updatedBy"] == "Lockgate"
    # And: checking again starts nothing more
    clock.advance(HOUR_MS)
    assert starts.run_once() == 0
    assert (
        len([a for a in _audit(console, scheduled) if a["actionType"] == "experiment_start"]) == 1
    )


def test_run_once__started_by_hand_before_its_time__not_started_again(
    console: ContractClient, db: Database, clock: ManualClock
) -> None:
    experiment = create(console, groups=groups(50, 50))["id"]
    _schedule(console, experiment, clock.now_ms() + HOUR_MS)
    assert put(console, experiment, "start").status_code == 200
    start_time = read(console, experiment)["startTime"]
    clock.advance(2 * HOUR_MS)
    assert ScheduledStarts(db, clock).run_once() == 0
    assert read(console, experiment)["startTime"] == start_time


def test_run_once__two_processes_check_at_once__only_one_starts_it(
    console: ContractClient, settings: Settings, clock: ManualClock
) -> None:
    # Given: several scheduled experiments, due, and two processes (each its own database
    # engine and connections) checking at the same moment
    ids = [create(console, f"Due {n}", groups=groups(50, 50))["id"] for n in range(4)]
    for experiment in ids:
        _schedule(console, experiment, clock.now_ms() + 1)
    clock.advance(1)
    processes = [Database(settings), Database(settings)]
    barrier = threading.Barrier(len(processes))
    counts: list[int] = []
    failures: list[BaseException] = []

    def check(database: Database) -> None:
        try:
            barrier.wait()
            counts.append(ScheduledStarts(database, clock).run_once())
        except BaseException as failure:  # reported by the assertion below
            failures.append(failure)

    threads = [threading.Thread(target=check, args=(d,)) for d in processes]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for database in processes:
            database.dispose()
    # Then: every experiment was started exactly once between them
    assert failures == []
    assert sum(counts) == len(ids)
    for experiment in ids:
        assert read(console, experiment)["status"] == "active"
        actions = [a["actionType"] for a in _audit(console, experiment)]
        assert actions.count("experiment_start") == 1


def test_run_once__start_refused__schedule_dropped_and_audited(
    console: ContractClient, db: Database, clock: ManualClock, project: Bootstrap
) -> None:
    # Given: two experiments of a layer, the second scheduled to start, and the first holding
    # every bucket of the layer by the time the second's start comes (written straight into
    # the store: the API keeps a layer's allocations within its room, so this is what a start
    # refused for any reason looks like)
    color = {"name": "color", "type": "string", "defaultValue": "grey"}
    layer = create_layer(console, parameters=[color])["id"]
    first = create(console, "First", layerID=layer, allocation=50, groups=groups(50, 50))["id"]
    second = create(console, "Second", layerID=layer, allocation=50, groups=groups(50, 50))["id"]
    _schedule(console, second, clock.now_ms() + HOUR_MS)
    with db.transaction() as session:
        for experiment, buckets in ((first, list(range(LAYER_BUCKETS))), (second, [])):
            row = entities.load(session, EXPERIMENT, project.project.id, experiment, lock=True)
            row.document = {**row.document, "buckets": buckets}
    # When: its time comes
    clock.advance(HOUR_MS)
    assert ScheduledStarts(db, clock).run_once() == 0
    # Then: it stays in setup without a schedule, and the audit log says why
    after = read(console, second)
    assert after["status"] == "setup" and after.get("scheduledTime") is None
    [entry] = [
        a for a in _audit(console, second) if a["actionType"] == "edit_experiment_scheduled_start"
    ]
    assert entry["changeLog"].startswith("Scheduled start failed: ")
    assert "allocation" in entry["changeLog"]
    # And: the next check does not try again
    assert ScheduledStarts(db, clock).run_once() == 0


def test_create_app__scheduled_starts_wired_to_the_app_database(
    app: FastAPI, console: ContractClient, clock: ManualClock
) -> None:
    experiment = create(console, groups=groups(50, 50))["id"]
    _schedule(console, experiment, clock.now_ms() + 1)
    clock.advance(1)
    assert app.state.scheduled_starts.run_once() == 1
    assert read(console, experiment)["status"] == "active"
