"""Protobuf deltas from any process (docs/sdk.md §Protobuf specs): a poll naming a document that
another process streamed (or this one before a restart) gets a delta, through the documents
kept in ``proto_documents``; a document nobody keeps, or one past the newest eight of its key
scope, gets everything; and the store is read only when memory lacks the document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import brotli
import pytest
from fastapi import FastAPI
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import select

from lockgate.app import create_app
from lockgate.cores.compiler import proto
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.specs.render import PROTO_HISTORY, pack_entries, unpack_entries
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.models import ProtoDocument
from tests.compat.proto_stream import envelopes
from tests.contract.client import ContractClient

GATES = 12
SPEC_KINDS = (proto.FEATURE_GATE, proto.DYNAMIC_CONFIG, proto.LAYER_CONFIG)
Envelopes = list[tuple[int, str, bool]]


@pytest.fixture()
def statements(db: Database) -> Iterator[list[str]]:
    """Every SQL statement sent while the test runs."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(str(args[2]))

    sqlalchemy_event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sqlalchemy_event.remove(db.engine, "before_cursor_execute", record)


def _store_reads(sent: list[str]) -> int:
    """Documents looked for in the store."""
    return sum(1 for s in sent if "proto_documents.entries" in s and "INSERT" not in s)


@pytest.fixture()
def other(settings: Settings, db: Database, clock: ManualClock) -> Iterator[ContractClient]:
    """A client of a second app on the same database: another process, or this one restarted,
    with nothing in memory."""
    with ContractClient(create_app(settings, clock=clock, database=db)) as client:
        yield client


@pytest.fixture()
def sdk(app: FastAPI) -> Iterator[ContractClient]:
    with ContractClient(app) as client:
        yield client


def _gates(console: ContractClient, count: int = GATES) -> list[str]:
    made = []
    for i in range(count):
        response = console.post("/console/v1/gates", json={"name": f"gate {i}"})
        assert response.status_code == 201, response.text
        made.append(response.json()["data"]["id"])
    return made


def _change(console: ContractClient, gate: str, percent: int = 100) -> None:
    rules = [{"name": "all", "passPercentage": percent, "conditions": [{"type": "public"}]}]
    response = console.patch(f"/console/v1/gates/{gate}", json={"rules": rules})
    assert response.status_code == 200, response.text


def _poll(client: ContractClient, key: str, since: str = "", *, deltas: bool = True) -> Envelopes:
    query = "supports_proto=true" + (f"&checksum={since}" if since else "")
    query += "&accept_deltas=true" if deltas else ""
    response, body = client.get_raw(f"/v2/download_config_specs/{key}.json?{query}")
    assert response.status_code == 200, body
    assert response.headers["content-encoding"] == "statsig-br"
    return envelopes(brotli.decompress(body))


def _checksum(client: ContractClient, key: str) -> str:
    """The checksum of the document the key downloads now."""
    response = client.get(f"/v2/download_config_specs/{key}.json")
    checksum: str = response.json()["checksum"]
    return checksum


def _with_data(found: Envelopes) -> set[str]:
    return {name for kind, name, data in found if data and kind in SPEC_KINDS}


def _full(found: Envelopes, gates: list[str]) -> bool:
    """Everything: no CopyPrev, every gate with its data."""
    return found[0][0] == proto.TOP_LEVEL and _with_data(found) >= set(gates)


def test_proto_poll__document_another_process_streamed__delta_of_the_change_alone(
    console: ContractClient,
    project: Bootstrap,
    sdk: ContractClient,
    other: ContractClient,
    db: Database,
    statements: list[str],
) -> None:
    # Given an SDK that downloaded everything from one process
    gates = _gates(console)
    assert _full(_poll(sdk, project.server_key), gates)
    held = _checksum(sdk, project.server_key)
    # When one gate changes and its next polls reach another process, which never streamed
    _change(console, gates[3])
    statements.clear()
    delta = _poll(other, project.server_key, held)
    kept = _poll(other, project.server_key, held, deltas=False)
    # Then the delta starts with CopyPrev and carries that gate alone
    assert [kind for kind, _, _ in delta[:2]] == [proto.COPY_PREV, proto.TOP_LEVEL]
    assert [kind for kind, _, _ in delta[-2:]] == [proto.DELETIONS, proto.DONE]
    assert _with_data(delta) == {gates[3]}
    # and the poll without deltas names every gate, the held ones as checksums alone
    assert _with_data(kept) == {gates[3]}
    assert {n for k, n, _ in kept if k == proto.FEATURE_GATE} == set(gates)
    # And the other process read the store once, then knew the document
    assert _store_reads(statements) == 1
    # And each document is kept once, whichever processes streamed it
    _poll(sdk, project.server_key, held)
    with db.transaction(write=False) as session:
        rows = session.scalars(select(ProtoDocument.checksum)).all()
    assert len(rows) == len(set(rows)) == 2 and held in rows


def test_proto_poll__document_past_the_newest_kept__everything_and_newer_ones_delta(
    console: ContractClient,
    project: Bootstrap,
    sdk: ContractClient,
    other: ContractClient,
    db: Database,
) -> None:
    # Given a first document streamed, then one more after each of PROTO_HISTORY changes
    gates = _gates(console, 3)
    checksums: list[str] = []
    for round_ in range(PROTO_HISTORY + 1):
        if round_:
            _change(console, gates[round_ % len(gates)], percent=round_ * 10)
        _poll(sdk, project.server_key, checksums[-1] if checksums else "")
        checksums.append(_checksum(sdk, project.server_key))
    # Then the store keeps the newest PROTO_HISTORY documents of the key's scope
    with db.transaction(write=False) as session:
        kept = set(session.scalars(select(ProtoDocument.checksum)).all())
    assert kept == set(checksums[1:])
    # And another process answers a poll naming the oldest kept with a delta,
    oldest_kept = _poll(other, project.server_key, checksums[1])
    assert oldest_kept[0][0] == proto.COPY_PREV
    assert _with_data(oldest_kept) == set(gates)  # each changed since
    # and one naming the first document with everything
    assert _full(_poll(other, project.server_key, checksums[0]), gates)


@pytest.mark.parametrize(
    ("since", "reads"),
    [("1234567890123", 1), ("not-a-checksum", 0), ("99999999999999999999999", 0)],
)
def test_proto_poll__document_nobody_kept__everything_and_the_store_asked_once(
    console: ContractClient,
    project: Bootstrap,
    other: ContractClient,
    statements: list[str],
    since: str,
    reads: int,
) -> None:
    # Given a project whose document was never streamed with that checksum
    gates = _gates(console, 4)
    # When polls name it twice
    statements.clear()
    first = _poll(other, project.server_key, since)
    second = _poll(other, project.server_key, since, deltas=False)
    # Then both carry everything, and the store was asked at most once (a checksum that is
    # not a decimal 64-bit number never)
    assert _full(first, gates) and _full(second, gates)
    assert _store_reads(statements) == reads


def test_proto_poll__nothing_changed__has_updates_false_without_asking_the_store(
    console: ContractClient,
    project: Bootstrap,
    sdk: ContractClient,
    other: ContractClient,
    statements: list[str],
) -> None:
    # Given an SDK holding the current document, streamed by one process
    _gates(console, 2)
    _poll(sdk, project.server_key)
    held = _checksum(sdk, project.server_key)
    # When it polls another process naming it
    statements.clear()
    response = other.get(
        f"/v2/download_config_specs/{project.server_key}.json"
        f"?supports_proto=true&accept_deltas=true&checksum={held}"
    )
    # Then nothing changed, and the store was not read
    assert response.json() == {"has_updates": False}
    assert _store_reads(statements) == 0


def test_pack_entries__round_trip__same_entries_and_garbage_refused() -> None:
    entries = {
        ("feature_gates", "a"): "4294967295",
        ("feature_gates", "b\n\u00e9"): "0",
        ("condition_map", "123"): "17",
    }
    assert unpack_entries(pack_entries(entries)) == entries
    with pytest.raises(ValueError):
        unpack_entries(b"not zlib")
    with pytest.raises(ValueError):
        unpack_entries(pack_entries(entries)[:-3])
