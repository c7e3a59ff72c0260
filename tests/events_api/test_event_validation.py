"""A bad event is rejected alone, with its reason, and the rest of its batch is stored; another
client's batch never fails because of it, even when both share one transaction."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from lockgate.domains.events.incoming import settle
from lockgate.domains.events.service import CUSTOM_COLUMNS
from lockgate.domains.events.writer import EventWriter
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.db import Database, connection_transaction
from lockgate.kit.limits import (
    MAX_EVENT_JSON_BYTES,
    MAX_EVENT_TIME_MS,
    MAX_JSON_DEPTH,
    MAX_UNIT_ID_CHARS,
)
from lockgate.storage.models import CustomEvent, Exposure
from tests.contract.client import ContractClient
from tests.events_api.test_incoming import _batch

T0 = 1_780_000_000_000


def _nested(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"a": value}
    return value


def _stored(db: Database) -> list[CustomEvent]:
    settle(db)  # acknowledged events reach the indexed tables
    with db.transaction(write=False) as session:
        return list(session.scalars(select(CustomEvent).order_by(CustomEvent.event_name)))


def _post(sdk: ContractClient, key: str, events: list[Any], **headers: str) -> dict[str, Any]:
    response = sdk.post(
        "/v1/rgstr", json={"events": events}, headers={"STATSIG-API-KEY": key, **headers}
    )
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture()
def sdk(app: FastAPI) -> Iterator[ContractClient]:
    with ContractClient(app) as client:
        yield client


GOOD = {"eventName": "good", "user": {"userID": "u1"}, "time": T0}
POISON: list[tuple[str, dict[str, Any], str]] = [
    ("time past float", {"time": 1e300}, "time must be epoch milliseconds"),
    ("time past int64", {"time": 2**63}, "time must be epoch milliseconds"),
    ("time as huge text", {"time": "1e30"}, "time must be epoch milliseconds"),
    ("time past year 9999", {"time": MAX_EVENT_TIME_MS + 1}, "time must be epoch milliseconds"),
    ("negative time", {"time": -1}, "time must be epoch milliseconds"),
    ("deep user", {"user": {"userID": "u", "custom": _nested(300)}}, "user.custom.a.a"),
    ("deep metadata", {"metadata": _nested(300)}, "metadata.a.a.a"),
    ("metadata one level too deep", {"metadata": {"a": _nested(MAX_JSON_DEPTH)}}, "nests"),
    ("NUL in name", {"eventName": "a\x00b"}, "eventName must not contain the NUL"),
    ("NUL in metadata", {"metadata": {"k": "v\x00"}}, "metadata.k must not contain the NUL"),
    ("NUL in metadata key", {"metadata": {"k\x00": 1}}, "metadata a key must not contain"),
    ("NUL in user", {"user": {"userID": "u", "email": "\x00"}}, "user.email must not contain"),
    ("NUL in value", {"value": "9\x00"}, "value must not contain the NUL"),
    ("long userID", {"user": {"userID": "u" * 513}}, f"longer than {MAX_UNIT_ID_CHARS}"),
    (
        "long stableID",
        {"user": {"customIDs": {"stableID": "s" * 513}}},
        "user.customIDs.stableID is longer",
    ),
    ("object userID", {"user": {"userID": {"id": 1}}}, "user.userID must be a string"),
    (
        "large metadata",
        {"metadata": {"blob": "x" * MAX_EVENT_JSON_BYTES}},
        f"at most {MAX_EVENT_JSON_BYTES}",
    ),
    (
        "bad secondary exposures",
        {
            "eventName": "statsig::gate_exposure",
            "metadata": {"gate": "g"},
            "secondaryExposures": [{"gate": "\x00"}],
        },
        "secondaryExposures.0.gate must not contain the NUL",
    ),
]


@pytest.mark.parametrize(
    ("poison", "reason"), [case[1:] for case in POISON], ids=[case[0] for case in POISON]
)
def test_rgstr__one_event_no_database_takes__rejected_alone_with_reason(
    sdk: ContractClient, project: Bootstrap, db: Database, poison: dict[str, Any], reason: str
) -> None:
    events = [GOOD, {"eventName": "bad", **poison}, {**GOOD, "eventName": "good_too"}]

    body = _post(sdk, project.client_key, events)

    assert [r["index"] for r in body["rejected"]] == [1]
    assert reason in body["rejected"][0]["message"]
    assert [e.event_name for e in _stored(db)] == ["good", "good_too"]


def test_rgstr__bounds_themselves__stored(
    sdk: ContractClient, project: Bootstrap, db: Database
) -> None:
    events = [
        {"eventName": "last_ms", "time": MAX_EVENT_TIME_MS},
        {"eventName": "deepest", "metadata": {"a": _nested(MAX_JSON_DEPTH - 1)}},
        {"eventName": "longest", "user": {"userID": "u" * MAX_UNIT_ID_CHARS}},
        {"eventName": "unsigned", "metadata": {"n": 2**64 - 1}},
    ]

    body = _post(sdk, project.client_key, events)

    assert "rejected" not in body
    stored = {e.event_name: e for e in _stored(db)}
    assert stored["last_ms"].time == MAX_EVENT_TIME_MS
    assert stored["longest"].user_id == "u" * MAX_UNIT_ID_CHARS
    assert stored["unsigned"].event_metadata == {"n": 2**64 - 1}


def test_rgstr__metadata_stable_id_too_long__events_using_it_rejected(
    sdk: ContractClient, project: Bootstrap, db: Database
) -> None:
    response = sdk.post(
        "/v1/rgstr",
        json={
            "events": [
                {"eventName": "anonymous"},
                {**GOOD, "user": {"customIDs": {"stableID": "s"}}},
            ],
            "statsigMetadata": {"stableID": "s" * 600},
        },
        headers={"STATSIG-API-KEY": project.client_key},
    )

    rejected = response.json()["rejected"]
    assert [r["index"] for r in rejected] == [0] and "statsigMetadata.stableID" in rejected[0][
        "message"
    ]
    assert [e.stable_id for e in _stored(db)] == ["s"]


def test_rgstr__sdk_type_no_database_takes__events_stored_without_it(
    sdk: ContractClient, project: Bootstrap, db: Database
) -> None:
    body = _post(sdk, project.client_key, [GOOD], **{"statsig-sdk-type": "js\x00"})

    assert "rejected" not in body
    assert [e.sdk_type for e in _stored(db)] == [None]


# -- a failing group transaction fails only the batch at fault ---------------------------------


@contextmanager
def _write_lock(db: Database) -> Iterator[None]:
    """Hold what an event write needs until the block ends, so writers queue behind it."""
    with db.engine.connect() as connection, connection_transaction(connection, write=True):
        if not db.is_sqlite:  # SQLite's write transaction already holds the one write lock
            connection.execute(text("LOCK TABLE events_incoming IN EXCLUSIVE MODE"))
        yield


def _wait_for(condition: Callable[[], bool]) -> None:
    """Poll for a writer state; the deadline only keeps a broken writer from hanging the run."""
    deadline = time.monotonic() + 120
    while not condition():
        assert time.monotonic() < deadline, "the writer never reached the state waited for"
        time.sleep(0.01)


def test_writer__group_with_a_batch_the_database_refuses__only_that_batch_fails(
    db: Database, project: Bootstrap
) -> None:
    writer = EventWriter(db)
    pid = project.project.id
    poison = _batch(pid, "poison")
    row = poison.customs[0]
    at = CUSTOM_COLUMNS.index("event_name")
    # NOT NULL: passes nothing the database checks
    poison.customs[0] = (*row[:at], None, *row[at + 1 :])
    outcomes: dict[str, str] = {}

    def write(name: str, batch: Any) -> None:
        try:
            writer.write(batch)
            outcomes[name] = "stored"
        except Exception as problem:
            outcomes[name] = type(problem).__name__

    names = ("first", "honest1", "honest2", "honest3")
    threads = {
        name: threading.Thread(target=write, args=(name, _batch(pid, name))) for name in names
    }
    threads["poison"] = threading.Thread(target=write, args=("poison", poison))
    with _write_lock(db):
        threads["first"].start()  # leads, and waits for the lock with its own batch alone
        _wait_for(lambda: writer.leading and writer.queued == 0)
        for name in ("honest1", "poison", "honest2", "honest3"):
            threads[name].start()
        _wait_for(lambda: writer.queued == 4)  # the next group: all four, the poison inside
    for thread in threads.values():
        thread.join()

    assert outcomes == {
        "first": "stored",
        "honest1": "stored",
        "honest2": "stored",
        "honest3": "stored",
        "poison": "IntegrityError",
    }
    settle(db)
    with db.transaction(write=False) as session:
        users = set(session.scalars(select(CustomEvent.user_id)))
    assert {(u or "").split("-")[0] for u in users} == {"first", "honest1", "honest2", "honest3"}


# -- honest clients and poison senders at once, through the API ---------------------------------


def test_rgstr__honest_clients_and_poison_senders_at_once__every_honest_batch_stored(
    app: FastAPI, project: Bootstrap, db: Database
) -> None:
    rounds, honest_clients = 6, 8
    poisons = [
        {"time": 1e300},
        {"metadata": _nested(300)},
        {"eventName": "x\x00"},
        {"user": {"userID": "u" * 600}},
    ]
    results: dict[str, list[tuple[int, Any]]] = {}

    def send(sender: str, poisoned: bool) -> None:
        answers = []
        with ContractClient(app) as client:
            for r in range(rounds):
                events = [
                    {"eventName": f"{sender}_r{r}_e{i}", "user": {"userID": sender}}
                    for i in range(20)
                ]
                if poisoned:
                    events.insert(7, {"eventName": "poison", **poisons[r % len(poisons)]})
                response = client.post(
                    "/v1/rgstr",
                    json={"events": events},
                    headers={"STATSIG-API-KEY": project.client_key},
                )
                answers.append((response.status_code, response.json()))
        results[sender] = answers

    senders = [(f"honest{i}", False) for i in range(honest_clients)]
    senders += [("poison0", True), ("poison1", True)]
    threads = [threading.Thread(target=send, args=sender) for sender in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for sender, poisoned in senders:
        for status, body in results[sender]:
            assert status == 202, (sender, body)
            assert body.get("rejected", []) == (
                [{"index": 7, "message": body["rejected"][0]["message"]}] if poisoned else []
            ), (sender, body)
    settle(db)
    with db.transaction(write=False) as session:
        stored = session.scalar(select(func.count()).select_from(CustomEvent))
        exposures = session.scalar(select(func.count()).select_from(Exposure))
    assert stored == len(senders) * rounds * 20 and exposures == 0
