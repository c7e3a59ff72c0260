"""An error response leaves a kept-alive connection usable: a real uvicorn server in a
subprocess, one ``http.client`` connection, a request after every kind of error."""

from __future__ import annotations

import http.client
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from lockgate.app import create_app
from lockgate.domains.projects.service import bootstrap
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.models import Base

ROOT = Path(__file__).resolve().parents[2]
FAILING_PATH = "/console/v1/__fails_unexpectedly"


def app_with_a_failing_route() -> FastAPI:
    """The served app (settings from the environment) plus a route that raises, standing in
    for any bug: no input reaches a 500 on purpose."""
    app = create_app(Settings())

    @app.get(FAILING_PATH)
    def fails() -> None:
        raise RuntimeError("a bug")

    return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(database_url: str, database: Database) -> Iterator[tuple[int, str]]:
    """One server for the module (starting one takes seconds): its port and a console key."""
    with database.transaction() as session:
        created = bootstrap(session, int(time.time() * 1000))
    assert created is not None
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "LOCKGATE_DATABASE_URL": database_url,
        "LOCKGATE_RUN_MIGRATIONS_ON_START": "false",
        "LOCKGATE_PULSE_WORKER_INTERVAL_MS": "0",
        "LOCKGATE_RATE_LIMIT_PER_10S": "0",
        "LOCKGATE_RATE_LIMIT_PER_15MIN": "0",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            f"{__name__}:app_with_a_failing_route",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output = ""
    deadline = time.monotonic() + 120
    while "Uvicorn running" not in output and time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            output += process.stdout.readline()
    try:
        assert "Uvicorn running" in output, output
        yield port, created.console_key
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
        with database.engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.mark.parametrize(
    ("method", "path", "body", "with_key", "status"),
    [
        ("GET", FAILING_PATH, None, True, 500),
        ("GET", "/console/v1/tags", None, False, 401),
        ("POST", "/console/v1/tags", b'{"name": "' + b"x" * 100_000 + b'"}', False, 401),
        ("POST", "/console/v1/tags", b'{"name":', True, 400),
        ("GET", "/console/v1/tags?page=0", None, True, 400),
        ("GET", "/console/v1/gates/missing", None, True, 404),
        ("PUT", "/console/v1/tags", b"{}", True, 405),
        ("POST", "/v1/rgstr", b"not json", False, 401),  # the key is checked before the body
    ],
)
def test_kept_alive_connection__after_error_response__serves_next_request(
    served: tuple[int, str],
    method: str,
    path: str,
    body: bytes | None,
    with_key: bool,
    status: int,
) -> None:
    port, console_key = served
    headers = {"content-type": "application/json"}
    if with_key:
        headers["STATSIG-API-KEY"] = console_key
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        failed = connection.getresponse()
        failed.read()
        socket_used = connection.sock

        connection.request("GET", "/health")
        following = connection.getresponse()
        following.read()
        reused = socket_used is not None and connection.sock is socket_used
    finally:
        connection.close()
    assert failed.status == status
    assert following.status == 200
    assert reused  # the server kept the connection: http.client did not have to reconnect
