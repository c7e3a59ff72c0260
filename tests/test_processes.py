"""Several ``lockgate serve`` processes on one database behave like one server: one first-run
bootstrap, migrations one after another, and one winner when creates of one name race."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text

from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.models import ApiKey, Company, Project
from tests.conftest import new_database_url
from tests.processes import (
    ANSWER_SECONDS,
    PROBE_VALUES,
    Server,
    cli,
    environment,
    probe_batch,
    serving,
)

ROUNDS = 10
NAME_IN_USE = {"status": 400, "message": "Name is already in use"}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    directory = tmp_path_factory.mktemp("processes")
    with new_database_url(directory) as url:
        # One process per server, so that "a server" below is one process; the tests of
        # `--workers` further down start a server of two.
        yield environment(url, directory / "data", workers="1")


@pytest.fixture(scope="module")
def two_servers(
    env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Server]]:
    """Two servers started at once on a database without tables. ``serving`` waits until
    both answer, and fails if either exits (as a second SQLite process migrating at the same
    time did)."""
    with serving(env, tmp_path_factory.mktemp("logs"), 2) as servers:
        yield servers


@pytest.fixture(scope="module")
def clients(env: dict[str, str], two_servers: list[Server]) -> Iterator[list[httpx.Client]]:
    """A Console API client of each server, with a read-write key that may manage keys."""
    made = cli(
        env,
        *("keys", "create", "--type", "console"),
        *("--scope", "omni_read_write", "--scope", "can_access_keys"),
    )
    assert made.returncode == 0, made.stderr
    headers = {"STATSIG-API-KEY": made.stdout.strip()}
    with (
        httpx.Client(base_url=two_servers[0].base, headers=headers, timeout=60) as first,
        httpx.Client(base_url=two_servers[1].base, headers=headers, timeout=60) as second,
    ):
        yield [first, second]


def _counts(env: dict[str, str]) -> tuple[int | None, ...]:
    settings = Settings(
        database_url=env["LOCKGATE_DATABASE_URL"], data_dir=Path(env["LOCKGATE_DATA_DIR"])
    )
    database = Database(settings)
    try:
        with database.transaction(write=False) as session:
            return tuple(
                session.scalar(select(func.count()).select_from(table))
                for table in (Company, Project, ApiKey)
            )
    finally:
        database.dispose()


def test_serve__two_start_together_on_empty_database__one_bootstrap_and_both_serve(
    env: dict[str, str], two_servers: list[Server]
) -> None:
    # Given two servers started at once on a database without tables, both serving
    # Then one company, one default project and three keys were created (the test runs
    # first in the module, before any other key is made)
    assert _counts(env) == (1, 1, 3)
    for server in two_servers:
        assert httpx.get(f"{server.base}/health", timeout=ANSWER_SECONDS).status_code == 200


def _at_once(calls: Sequence[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run the calls in threads released together; their responses in call order."""
    start = threading.Barrier(len(calls))
    responses: list[httpx.Response | None] = [None] * len(calls)

    def run(index: int) -> None:
        start.wait()
        responses[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r is not None for r in responses)
    return [r for r in responses if r is not None]


def _outcomes(responses: list[httpx.Response]) -> list[object]:
    """``created`` for each success, the body for each failure, sorted for comparison."""
    return sorted(
        ("created" if r.status_code in (200, 201) else r.json() for r in responses), key=str
    )


def test_serve__gates_of_one_name_created_at_once_on_two_servers__one_created_rest_in_use(
    clients: list[httpx.Client],
) -> None:
    for round_ in range(ROUNDS):
        # When four requests (two to each server) create one gate name at once
        body = {"name": f"raced gate {round_}"}
        calls = [partial(clients[i % 2].post, "/console/v1/gates", json=body) for i in range(4)]
        responses = _at_once(calls)
        # Then one creates it and the three others are told the name is in use
        assert _outcomes(responses) == ["created", NAME_IN_USE, NAME_IN_USE, NAME_IN_USE]


def test_serve__config_and_experiment_of_one_name_at_once__one_created_sdks_see_it(
    env: dict[str, str], two_servers: list[Server], clients: list[httpx.Client]
) -> None:
    server_key = cli(env, "keys", "create", "--type", "server").stdout.strip()
    for round_ in range(ROUNDS):
        # When a dynamic config and an experiment of one id are created at once
        name = f"raced_{round_}"
        config, experiment = _at_once(
            [
                partial(clients[0].post, "/console/v1/dynamic_configs", json={"name": name}),
                partial(clients[1].post, "/console/v1/experiments", json={"name": name}),
            ]
        )
        # Then exactly one is created, and it is the one SDKs download under that id
        assert _outcomes([config, experiment]) == ["created", NAME_IN_USE]
        created = "dynamic_config" if config.status_code in (200, 201) else "experiment"
        url = f"{two_servers[0].base}/v2/download_config_specs/{server_key}.json"
        # A change made through the other server reaches this one within the SDK cache's
        # staleness bound (LOCKGATE_SDK_CACHE_TTL_MS).
        spec = _within_a_second(partial(httpx.get, url), partial(_has_config, name))
        assert spec.json()["dynamic_configs"][name]["entity"] == created


SECOND = 1.0


def _has_config(name: str, response: httpx.Response) -> bool:
    return response.status_code == 200 and name in (response.json().get("dynamic_configs") or {})


def _within_a_second(
    call: Callable[[], httpx.Response], done: Callable[[httpx.Response], bool]
) -> httpx.Response:
    """Call until ``done``; fails when that takes more than a second (plus one call)."""
    start = time.monotonic()
    while True:
        response = call()
        if done(response):
            return response
        assert time.monotonic() - start < SECOND, response.text


def test_serve__key_deactivated_through_one_server__refused_by_both_within_a_second(
    two_servers: list[Server], clients: list[httpx.Client]
) -> None:
    # Given a server key both servers have just accepted (so both hold it in memory)
    made = clients[0].post("/console/v1/keys", json={"description": "k", "type": "SERVER"})
    assert made.status_code == 200, made.text
    key = made.json()["data"]
    urls = [f"{s.base}/v2/download_config_specs/{key['key']}.json" for s in two_servers]
    for url in urls:
        _within_a_second(partial(httpx.get, url), lambda r: r.status_code == 200)
    # When it is deactivated through the first server
    deactivated = clients[0].patch(f"/console/v1/keys/{key['id']}/deactivate")
    assert deactivated.status_code == 200, deactivated.text
    # Then within a second each server refuses it, and keeps refusing it
    for url in urls:
        _within_a_second(partial(httpx.get, url), lambda r: r.status_code == 401)
    for url in urls:
        assert httpx.get(url, timeout=ANSWER_SECONDS).status_code == 401


def test_serve__gate_changed_through_one_server__sdk_polling_the_other_sees_it_within_a_second(
    env: dict[str, str], two_servers: list[Server], clients: list[httpx.Client]
) -> None:
    # Given an SDK polling the second server, up to date
    server_key = cli(env, "keys", "create", "--type", "server").stdout.strip()
    url = f"{two_servers[1].base}/v2/download_config_specs/{server_key}.json"
    clients[0].post("/console/v1/gates", json={"name": "polled gate"}).raise_for_status()
    first = _within_a_second(
        partial(httpx.get, url), lambda r: "polled_gate" in r.json()["feature_gates"]
    )
    assert first.json()["feature_gates"]["polled_gate"]["enabled"] is True
    since = first.json()["time"]
    # When the gate is disabled through the first server
    patched = clients[0].patch("/console/v1/gates/polled_gate", json={"isEnabled": False})
    assert patched.status_code == 200, patched.text
    # Then within a second the SDK's next poll of the second server carries the change
    changed = _within_a_second(
        partial(httpx.get, url, params={"sinceTime": since}),
        lambda r: r.json().get("has_updates") is not False,
    )
    assert changed.json()["feature_gates"]["polled_gate"]["enabled"] is False


# One server of two worker processes (`lockgate serve --workers 2`): a change made through one
# worker reaches the other within a second. Each response names its worker
# (LOCKGATE_WORKER_HEADER), and every request opens a connection of its own, so the kernel
# hands requests to either worker.

WORKER = "x-lockgate-worker"


@pytest.fixture(scope="module")
def workers_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    directory = tmp_path_factory.mktemp("workers")
    with new_database_url(directory) as url:
        yield environment(url, directory / "data", workers="2", worker_header="true")


@pytest.fixture(scope="module")
def two_workers(
    workers_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with serving(workers_env, tmp_path_factory.mktemp("worker-logs"), 1) as (server,):
        yield server


@pytest.fixture(scope="module")
def workers_console(workers_env: dict[str, str], two_workers: Server) -> Iterator[httpx.Client]:
    made = cli(
        workers_env,
        *("keys", "create", "--type", "console"),
        *("--scope", "omni_read_write", "--scope", "can_access_keys"),
    )
    assert made.returncode == 0, made.stderr
    headers = {"STATSIG-API-KEY": made.stdout.strip(), "connection": "close"}
    with httpx.Client(base_url=two_workers.base, headers=headers, timeout=60) as client:
        yield client


def _fresh(url: str, **params: object) -> httpx.Response:
    """A GET on a connection of its own, so either worker may answer it."""
    return httpx.get(url, params=params, headers={"connection": "close"}, timeout=60)  # type: ignore[arg-type]


def _from_each_worker(
    call: Callable[[], httpx.Response], done: Callable[[httpx.Response], bool], *, seconds: float
) -> dict[str, httpx.Response]:
    """Call until both workers have answered ``done``; the last such answer of each. Fails
    when a call sent more than ``seconds`` after the first is answered without ``done``, by
    either worker. Which worker takes a new connection is the kernel's choice, and on a loaded
    machine it may hand it several in a row to one: seeing both may take longer than
    ``seconds`` (up to ``ANSWER_SECONDS``) without any answer breaking the bound."""
    start = time.monotonic()
    answers: dict[str, httpx.Response] = {}
    while len(answers) < 2:
        sent = time.monotonic()
        response = call()
        if done(response):
            answers[response.headers[WORKER]] = response
        else:
            assert sent - start < seconds, (answers.keys(), response.text)
        assert time.monotonic() - start < ANSWER_SECONDS, answers.keys()
    return answers


def _worker_pids(base: str) -> set[int]:
    """The workers seen answering new connections until two have (at most 30 s). A connection
    reset is tried again: one queued to a worker that was just killed is reset by the kernel
    (docs/operations.md §Several workers), as an SDK's retry would meet."""
    start, pids = time.monotonic(), set[int]()
    while len(pids) < 2:
        assert time.monotonic() - start < 30, pids
        try:
            response = _fresh(f"{base}/health")
        except httpx.TransportError:
            continue
        if response.status_code == 200:
            pids.add(int(response.headers[WORKER]))
    return pids


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def _gone_within(pids: set[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_serve_workers__two_workers__both_answer_neither_is_the_parent(two_workers: Server) -> None:
    # Given a server started with two workers
    # When new connections come in (the kernel hands each to a worker waiting on the socket)
    pids = _worker_pids(two_workers.base)
    # Then two distinct worker processes answer, neither of them the parent that bound the port
    assert len(pids) == 2
    assert two_workers.process.pid not in pids


def _worker_of_connection(sock: socket.socket) -> str:
    """Send a keep-alive ``GET /health`` on an open connection; the worker that answered."""
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: lockgate\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, head
        head += chunk
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == WORKER.encode():
            return value.strip().decode()
    raise AssertionError(head)


def test_serve_workers__many_connections_opened_at_once__spread_over_both_workers(
    two_workers: Server,
) -> None:
    # (Linux: each worker listens on a socket of its own in one SO_REUSEPORT group.)
    # Given a server with two workers, and 32 connections opened at once before any request
    # (as a load generator or a pool of SDK clients does), all queued before a worker wakes
    address = httpx.URL(two_workers.base)
    connections = [
        socket.create_connection((address.host, address.port), timeout=60) for _ in range(32)
    ]
    try:
        # When a request is sent on each
        answered = Counter(_worker_of_connection(sock) for sock in connections)
    finally:
        for sock in connections:
            sock.close()
    # Then both workers serve some of them (one worker taking every queued connection while
    # the other idles is what a shared socket did); the kernel's hash leaves the chance that
    # all 32 land on one worker at 2 in 2**32
    assert len(answered) == 2, answered


@pytest.mark.parametrize("stop", ["sigterm", "kill -9"])
def test_serve_workers__worker_killed_then_parent_stopped__replaced_then_none_left(
    workers_env: dict[str, str], tmp_path: Path, stop: str
) -> None:
    with serving(workers_env, tmp_path, 1) as (server,):
        first = _worker_pids(server.base)
        # When one worker is killed outright
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        # Then the parent starts another in its place, and two workers answer again
        assert _gone_within({victim}, 30)
        deadline = time.monotonic() + 60
        while victim in (now := _worker_pids(server.base)):
            assert time.monotonic() < deadline
        assert len(now) == 2 and now != first
        # When the parent is stopped (SIGTERM), or killed outright
        if stop == "sigterm":
            server.process.terminate()
            # Then it stops its workers, then exits cleanly
            assert server.process.wait(timeout=60) == 0
        else:
            server.kill()
        # Then no worker is left running
        assert _gone_within(now, 30)


def test_serve_workers__key_deactivated_through_one_worker__refused_by_every_worker_within_a_second(
    two_workers: Server, workers_console: httpx.Client
) -> None:
    # Given a server key both workers have just accepted (so both hold it in memory)
    made = workers_console.post("/console/v1/keys", json={"description": "k", "type": "SERVER"})
    assert made.status_code == 200, made.text
    key = made.json()["data"]
    url = f"{two_workers.base}/v2/download_config_specs/{key['key']}.json"
    _from_each_worker(partial(_fresh, url), lambda r: r.status_code == 200, seconds=30)
    # When it is deactivated through one worker
    deactivated = workers_console.patch(f"/console/v1/keys/{key['id']}/deactivate")
    assert deactivated.status_code == 200, deactivated.text
    through = deactivated.headers[WORKER]
    # Then within a second both workers refuse it, and keep refusing it
    refused = _from_each_worker(partial(_fresh, url), lambda r: r.status_code == 401, seconds=1)
    assert through in refused
    assert {_fresh(url).status_code for _ in range(20)} == {401}


def test_serve_workers__gate_changed_through_one_worker__sdk_polling_other_sees_it_within_a_second(
    workers_env: dict[str, str], two_workers: Server, workers_console: httpx.Client
) -> None:
    # Given an SDK polling both workers, each up to date with an enabled gate
    server_key = cli(workers_env, "keys", "create", "--type", "server").stdout.strip()
    url = f"{two_workers.base}/v2/download_config_specs/{server_key}.json"
    workers_console.post("/console/v1/gates", json={"name": "worker gate"}).raise_for_status()
    seen = _from_each_worker(
        partial(_fresh, url), lambda r: "worker_gate" in r.json()["feature_gates"], seconds=30
    )
    since = max(r.json()["time"] for r in seen.values())
    # When the gate is disabled through one worker
    patched = workers_console.patch("/console/v1/gates/worker_gate", json={"isEnabled": False})
    assert patched.status_code == 200, patched.text
    through = patched.headers[WORKER]
    # Then within a second the SDK's poll of either worker, the other one included, carries it
    changed = _from_each_worker(
        partial(_fresh, url, sinceTime=since),
        lambda r: r.json().get("has_updates") is not False,
        seconds=1,
    )
    assert len(changed) == 2 and through in changed
    for response in changed.values():
        assert response.json()["feature_gates"]["worker_gate"]["enabled"] is False


def test_serve_workers__eight_clients_flush_at_once__every_event_stored_exactly_once(
    workers_env: dict[str, str], two_workers: Server
) -> None:
    # Given eight SDK clients, each with a keep-alive connection of its own (so both workers
    # take some of them, and each worker's group commits hold several clients' batches)
    server_key = cli(workers_env, "keys", "create", "--type", "server").stdout.strip()
    clients, batches, size = 8, 6, 40
    answered: Counter[str] = Counter()
    failures: list[str] = []

    def flush(client: int) -> None:
        with httpx.Client(
            base_url=two_workers.base, headers={"STATSIG-API-KEY": server_key}, timeout=120
        ) as http:
            for batch in range(batches):
                response = http.post("/v1/rgstr", json=probe_batch(f"c{client}b{batch}", size))
                if response.status_code != 202 or "rejected" in response.json():
                    failures.append(response.text)
                answered[response.headers[WORKER]] += 1

    # When they all flush their batches at once
    threads = [threading.Thread(target=flush, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then every batch was acknowledged, and every event is stored once: none lost, none twice
    assert failures == []
    assert sum(answered.values()) == clients * batches
    database = Database(
        Settings(
            database_url=workers_env["LOCKGATE_DATABASE_URL"],
            data_dir=Path(workers_env["LOCKGATE_DATA_DIR"]),
        )
    )
    try:
        with database.transaction(write=False) as session:
            stored = Counter(value for (value,) in session.execute(text(PROBE_VALUES)))
    finally:
        database.dispose()
    expected = {
        f"c{c}b{b}/{i}": 1 for c in range(clients) for b in range(batches) for i in range(size)
    }
    assert dict(stored) == expected
