"""SDK batches land in the incoming tables, reach the indexed tables whole and in order, and
concurrent writers lose nothing, on both dialects."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from lockgate.domains.events import incoming
from lockgate.domains.events.service import CUSTOM_COLUMNS, PreparedBatch, prepare
from lockgate.domains.events.writer import EventWriter
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.storage.models import CustomEvent, Exposure, events_incoming, exposures_incoming
from tests.contract.client import ContractClient

T0 = 1_780_000_000_000


def _batch(pid: str, tag: str, size: int = 20, received_ms: int = T0) -> PreparedBatch:
    events: list[dict[str, Any]] = []
    for i in range(size):
        user = {"userID": f"{tag}-{i}"}
        if i % 4 == 0:
            metadata = {"gate": "g", "gateValue": "true", "ruleID": "r"}
            events.append(
                {"eventName": "statsig::gate_exposure", "user": user, "metadata": metadata}
            )
        else:
            events.append({"eventName": "buy", "user": user, "value": i, "time": T0 + i})
    return prepare(pid, events, received_ms=received_ms, sdk_type="test")


def _counts(db: Database) -> dict[str, int]:
    tables = {
        "events": CustomEvent.__table__,
        "exposures": Exposure.__table__,
        "events_incoming": events_incoming,
        "exposures_incoming": exposures_incoming,
    }
    with db.transaction(write=False) as session:
        return {
            name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in tables.items()
        }


def test_write__lands_in_incoming_tables__settle_moves_them(
    db: Database, project: Bootstrap
) -> None:
    EventWriter(db).write(_batch(project.project.id, "a"))

    assert _counts(db) == {
        "events": 0,
        "exposures": 0,
        "events_incoming": 15,
        "exposures_incoming": 5,
    }
    assert incoming.settle(db) == 20
    assert _counts(db) == {
        "events": 15,
        "exposures": 5,
        "events_incoming": 0,
        "exposures_incoming": 0,
    }
    assert incoming.settle(db) == 0


def _mover(db: Database, clock: ManualClock, defer_ms: int) -> incoming.Mover:
    return incoming.Mover(db, clock, interval_ms=1_000, defer_ms=defer_ms)


def _arrives(db: Database, pid: str, tag: str, clock: ManualClock) -> None:
    """A 20-event batch received now, through its own writer (as another process's would)."""
    EventWriter(db).write(_batch(pid, tag, received_ms=clock.now_ms()))


def test_mover__batches_keep_arriving__waits_until_quiet(
    db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    mover = _mover(db, clock, defer_ms=5_000)
    _arrives(db, project.project.id, "a", clock)

    assert mover.run_once() == 0  # received just now: the move waits
    assert _counts(db)["events_incoming"] == 15
    clock.advance(999)
    assert mover.run_once() == 0
    clock.advance(1)  # no batch for a whole interval
    assert mover.run_once() == 20
    assert _counts(db)["events"] == 15


def test_mover__batches_never_stop__moves_after_defer_limit(
    db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    mover = _mover(db, clock, defer_ms=5_000)
    for second in range(5):
        _arrives(db, project.project.id, f"s{second}", clock)
        assert mover.run_once() == 0
        clock.advance(1_000)
    _arrives(db, project.project.id, "last", clock)

    assert mover.run_once() == 6 * 20  # 5 s deferred: moves although batches still arrive
    _arrives(db, project.project.id, "after", clock)
    assert mover.run_once() == 0  # a new deferral starts after each move


def test_mover__deferred__a_read_still_sees_every_acknowledged_event(
    db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    mover = _mover(db, clock, defer_ms=5_000)
    _arrives(db, project.project.id, "a", clock)
    assert mover.run_once() == 0

    assert incoming.settle(db) == 20  # what a Console read or a Pulse load calls first
    assert _counts(db)["events_incoming"] == 0


def test_mover__no_deferral__moves_every_turn(
    db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    mover = _mover(db, clock, defer_ms=0)
    _arrives(db, project.project.id, "a", clock)

    assert mover.run_once() == 20


def test_move__limit__oldest_rows_first_then_unit_order(db: Database, project: Bootstrap) -> None:
    writer = EventWriter(db)
    for tag in ("c-first", "a-second", "b-third"):
        writer.write(_batch(project.project.id, tag))

    with db.transaction() as session:
        moved = incoming.move(session.connection(), limit=20)
    with db.transaction(write=False) as session:
        users = session.scalars(select(CustomEvent.user_id).order_by(CustomEvent.seq)).all()
    # The 20 oldest custom events (c-first's 15, a-second's first 5) and the 15 exposures,
    # inserted in unit order within the move.
    first = [f"c-first-{i}" for i in range(20) if i % 4]
    second = [f"a-second-{i}" for i in range(20) if i % 4][:5]
    assert moved == 35
    assert users == sorted(first + second)
    incoming.settle(db)
    with db.transaction(write=False) as session:
        later = session.scalars(select(CustomEvent.user_id).order_by(CustomEvent.seq)).all()
    assert later[:20] == users and set(later[20:]) >= {"b-third-1", "a-second-19"}
    assert _counts(db)["events"] == 45 and _counts(db)["exposures"] == 15


def test_console_request__resource_without_events__leaves_landed_rows(
    db: Database, project: Bootstrap, console: ContractClient
) -> None:
    EventWriter(db).write(_batch(project.project.id, "a"))

    assert console.get("/console/v1/gates").status_code == 200

    assert _counts(db)["events_incoming"] == 15


def test_console_read__logged_events__moved_first(
    db: Database, project: Bootstrap, console: ContractClient
) -> None:
    EventWriter(db).write(_batch(project.project.id, "a"))

    listed = console.get("/console/v1/events").json()["data"]

    assert [(e["name"], e["eventCount"]) for e in listed] == [("buy", 15)]
    assert _counts(db)["events_incoming"] == 0


def test_settle_before__session_already_reading__refused(db: Database) -> None:
    with db.transaction(write=False) as session:
        session.scalar(select(func.count()).select_from(events_incoming))
        with pytest.raises(RuntimeError, match="first statement"):
            incoming.settle_before(session)


def test_settle_before__twice_on_one_session__moves_once(db: Database, project: Bootstrap) -> None:
    EventWriter(db).write(_batch(project.project.id, "a"))

    with db.transaction(write=False) as session:
        assert incoming.settle_before(session) == 20
        EventWriter(db).write(_batch(project.project.id, "b"))
        assert incoming.settle_before(session) == 0


def test_writer__concurrent_writers_and_mover__nothing_lost_or_doubled(
    db: Database, project: Bootstrap
) -> None:
    writer = EventWriter(db)
    pid = project.project.id
    errors: list[BaseException] = []

    def post(thread: int) -> None:
        try:
            for round_ in range(10):
                writer.write(_batch(pid, f"t{thread}r{round_}"))
        except BaseException as problem:  # pragma: no cover - reported below
            errors.append(problem)

    def move() -> None:
        try:
            for _ in range(10):
                incoming.settle(db)
        except BaseException as problem:  # pragma: no cover - reported below
            errors.append(problem)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(6)]
    threads.append(threading.Thread(target=move))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    incoming.settle(db)

    assert errors == []
    with db.transaction(write=False) as session:
        users = session.scalars(select(CustomEvent.user_id)).all()
        exposed = session.scalars(select(Exposure.user_id)).all()
    assert len(users) == len(set(users)) == 6 * 10 * 15
    assert len(exposed) == len(set(exposed)) == 6 * 10 * 5


def test_writer__failed_transaction__fails_its_requests_and_stores_nothing(
    db: Database, project: Bootstrap
) -> None:
    broken = _batch(project.project.id, "bad")
    row = broken.customs[0]
    at = CUSTOM_COLUMNS.index("event_name")
    broken.customs[0] = (*row[:at], None, *row[at + 1 :])  # NOT NULL: the whole transaction fails

    with pytest.raises(IntegrityError):
        EventWriter(db).write(broken)

    assert _counts(db) == {
        "events": 0,
        "exposures": 0,
        "events_incoming": 0,
        "exposures_incoming": 0,
    }
