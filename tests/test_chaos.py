"""Chaos: two servers on one PostgreSQL database take honest SDK event batches and poison at
the same time, and one server is killed (``kill -9``) midway. No honest batch is refused, and
every acknowledged event is stored, once.

A batch whose request was cut by the kill may have been committed by the dying server before
it could answer; its client resends it to the other server, as SDKs retry. Statsig's event
protocol carries no batch id to recognise the resend, so such a batch (and only such a batch)
may be stored twice: the test counts those apart and checks that each is stored whole, once
or twice, never in part.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import new_database_url
from tests.processes import PROBE_VALUES, Server, cli, environment, probe_batch, serving

pytestmark = pytest.mark.slow

CLIENTS = 4
BATCHES = 30  # per client
EVENTS = 100  # per batch
KILL_AFTER = CLIENTS * BATCHES // 3  # acknowledged batches

FIRST_TRY = "acknowledged at the first try"
AFTER_REFUSED = "resent after a refused connection (never delivered)"
AFTER_CUT = "resent after a request cut by the kill (maybe committed)"


@dataclass
class Ledger:
    """What the honest clients saw, written from their threads."""

    acknowledged: dict[str, str] = field(default_factory=dict)  # batch tag -> how
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acknowledge(self, tag: str, how: str) -> None:
        with self.lock:
            self.acknowledged[tag] = how

    def refuse(self, problem: str) -> None:
        with self.lock:
            self.refused.append(problem)


def _honest(index: int, bases: list[str], killed: str, key: str, ledger: Ledger) -> None:
    """One SDK instance flushing BATCHES batches, each to the next live server in turn; a
    batch that meets a connection error is resent to the other server."""
    live = list(bases)
    headers = {"STATSIG-API-KEY": key, "STATSIG-SDK-TYPE": "process-test"}
    with httpx.Client(headers=headers, timeout=120) as client:
        for n in range(BATCHES):
            tag, how = f"c{index}-{n}", FIRST_TRY
            body = probe_batch(tag, EVENTS)
            while True:
                if not live:
                    ledger.refuse(f"{tag}: no server left")
                    break
                base = live[(index + n) % len(live)]
                try:
                    response = client.post(f"{base}/v1/rgstr", json=body)
                except httpx.TransportError as problem:
                    if base != killed:
                        ledger.refuse(f"{tag}: {problem!r} from the server left running")
                    live.remove(base)
                    how = AFTER_REFUSED if isinstance(problem, httpx.ConnectError) else AFTER_CUT
                    continue
                if response.status_code == 202 and "rejected" not in response.json():
                    ledger.acknowledge(tag, how)
                else:
                    ledger.refuse(f"{tag}: {response.status_code} {response.text[:200]}")
                break


def _poison(key: str) -> list[tuple[str, dict[str, str], bytes]]:
    """Requests no SDK sends: (key, headers, body). Some carry probe events, under a key that
    does not exist; none of those may be stored."""
    junk_events = [
        1,
        "x",
        None,
        {"eventName": ""},
        {"eventName": "x" * 10_000},
        {"eventName": "bad_user", "user": "someone"},
        {"eventName": "bad_time", "time": "soon"},
        {"eventName": "bad_value", "value": {"nested": [[[]]]}},
        {"eventName": "statsig::gate_exposure", "metadata": "not an object"},
    ]
    big_event = {"eventName": "big_batch", "user": {"userID": "u"}, "value": "x" * 200}
    gzip_header = {"content-encoding": "gzip"}
    return [
        (key, {"content-type": "application/json"}, b'{"events": [{"eventName": '),
        (key, gzip_header, b"\x1f\x8b\x08 this is not gzip"),
        (key, gzip_header, gzip.compress(b" " * 5_000_000)),
        (key, {}, b"[]"),
        (key, {}, b'{"events": "none"}'),
        (key, {}, b"[" * 200_000),
        (key, {}, httpx.Request("POST", "/", json={"events": junk_events}).read()),
        (key, {}, httpx.Request("POST", "/", json={"events": [big_event] * 1_000}).read()),
        ("secret-not-a-key", {}, httpx.Request("POST", "/", json=probe_batch("poison", 5)).read()),
        ("", {}, httpx.Request("POST", "/", json=probe_batch("poison-nokey", 5)).read()),
    ]


def _poisoner(bases: list[str], key: str, stop: threading.Event) -> None:
    requests = _poison(key)
    with httpx.Client(timeout=120) as client:
        for n in itertools.count():
            if stop.is_set():
                return
            api_key, headers, body = requests[n % len(requests)]
            # A transport error is the killed server, or one that dropped the request.
            with contextlib.suppress(httpx.TransportError):
                client.post(
                    f"{bases[n % len(bases)]}/v1/rgstr",
                    content=body,
                    headers={**headers, "STATSIG-API-KEY": api_key},
                )


@pytest.fixture()
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with new_database_url(tmp_path, "postgresql") as url:
        # Both processes move landed events often, so moves are cut by the kill too.
        yield environment(url, tmp_path / "data", incoming_move_interval_ms="100")


def test_two_servers__honest_and_poison_batches__one_killed_midway__acknowledged_stored_once(
    env: dict[str, str], tmp_path: Path
) -> None:
    with serving(env, tmp_path, 2) as servers:
        key = cli(env, "keys", "create", "--type", "server").stdout.strip()
        console = cli(env, "keys", "create", "--type", "console").stdout.strip()
        bases = [server.base for server in servers]
        victim, survivor = servers
        ledger, stop = Ledger(), threading.Event()
        honest = [
            threading.Thread(target=_honest, args=(i, bases, victim.base, key, ledger))
            for i in range(CLIENTS)
        ]
        poison = [threading.Thread(target=_poisoner, args=(bases, key, stop)) for _ in range(2)]

        # When honest clients and poison senders post to both servers at once, and one
        # server is killed after a third of the honest batches were acknowledged
        for thread in honest + poison:
            thread.start()
        _kill_after(victim, ledger, honest)
        for thread in honest:
            thread.join()
        stop.set()
        for thread in poison:
            thread.join()

        # Then no honest batch was refused, and the server left running still serves,
        # moving every landed event into the indexed table on a Console read
        assert ledger.refused == []
        assert len(ledger.acknowledged) == CLIENTS * BATCHES
        read = httpx.get(
            f"{survivor.base}/console/v1/events",
            headers={"STATSIG-API-KEY": console},
            timeout=120,
        )
        assert read.status_code == 200, read.text

    values, incoming = _stored(env["LOCKGATE_DATABASE_URL"])
    assert incoming == 0
    # and every acknowledged event is stored once, but those of a batch resent after a cut
    # request, stored whole once or twice; no other probe event was stored (no poison)
    counts = Counter(values)
    assert {value.split("/")[0] for value in counts} == set(ledger.acknowledged)
    for tag, how in ledger.acknowledged.items():
        batch = {counts[f"{tag}/{i}"] for i in range(EVENTS)}
        assert batch == {1} or (how == AFTER_CUT and batch == {2}), (tag, how, batch)
    assert any(how != FIRST_TRY for how in ledger.acknowledged.values())  # the kill was felt


def _kill_after(victim: Server, ledger: Ledger, honest: list[threading.Thread]) -> None:
    """``kill -9`` the victim once KILL_AFTER batches are acknowledged, while clients send."""
    event = threading.Event()
    while not event.wait(0.01):
        with ledger.lock:
            if len(ledger.acknowledged) >= KILL_AFTER or ledger.refused:
                break
        assert any(thread.is_alive() for thread in honest)
    victim.kill()


def _stored(url: str) -> tuple[list[str], int]:
    """The values of the stored probe events, and how many events still wait to be moved."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            values = [row[0] for row in connection.execute(text(PROBE_VALUES))]
            incoming = connection.execute(text("SELECT count(*) FROM events_incoming")).scalar()
    finally:
        engine.dispose()
    return values, int(incoming or 0)
