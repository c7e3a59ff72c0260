"""``lockgate serve`` under each web server it offers (``LOCKGATE_SERVER``): the same start-up
and shutdown, the same answers, kept-alive connections, and the access log."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lockgate.kit.settings import Settings
from tests.conftest import new_database_url
from tests.processes import ANSWER_SECONDS, Server, environment, serving, stop

SERVERS = ("granian", "uvicorn")


@pytest.fixture(scope="module", params=SERVERS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Server]]:
    """One server process (no workers) per web server, logging at info."""
    name: str = request.param
    directory = tmp_path_factory.mktemp(f"web-{name}")
    with new_database_url(directory) as url:
        env = environment(url, directory / "data", workers="1", server=name, log_level="info")
        with serving(env, directory, 1) as servers:
            yield name, servers[0]


def test_server_setting__default__granian() -> None:
    assert Settings.model_fields["server"].default == "granian"


def _exchange(sock: socket.socket, request: bytes) -> bytes:
    """Send ``request`` on an open connection; the response's head and body."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, data
        body += chunk
    return head + b"\r\n\r\n" + body


def test_serve__each_server__error_answers_then_more_on_one_kept_alive_connection(
    served: tuple[str, Server],
) -> None:
    # Given one kept-alive connection to the server
    name, server = served
    port = int(server.base.rsplit(":", 1)[1])
    health = b"GET /health HTTP/1.1\r\nHost: lockgate\r\n\r\n"
    unauthorized = b"GET /console/v1/tags HTTP/1.1\r\nHost: lockgate\r\n\r\n"
    garbled = b"POST /v1/rgstr HTTP/1.1\r\nHost: lockgate\r\nContent-Length: 8\r\n\r\nnot json"
    # When requests, refused ones among them, follow each other on it
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_SECONDS) as sock:
        answers = [_exchange(sock, each) for each in (health, unauthorized, garbled, health)]
    # Then each is answered in turn, by the server chosen
    statuses = [answer.split(b" ", 2)[1] for answer in answers]
    assert statuses == [b"200", b"401", b"401", b"200"], answers
    for answer in answers:
        assert f"server: {name}".encode() in answer.lower()
    assert b'"status":"ok"' in answers[-1]


def test_serve__each_server__x_forwarded_for_from_untrusted_peer__peer_address_used(
    served: tuple[str, Server],
) -> None:
    # Given no trusted proxies: a client's X-Forwarded-For must not become its address.
    _, server = served
    with httpx.Client(base_url=server.base, timeout=ANSWER_SECONDS) as http:
        key = _client_key(server)
        answer = http.post(
            f"/v1/initialize?k={key}",
            json={"user": {"userID": "u"}},
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
    assert answer.status_code == 200
    assert answer.json()["user"]["ip"] == "127.0.0.1"
    assert "203.0.113.9" not in answer.text


def _client_key(server: Server) -> str:
    for line in server.output().splitlines():
        if line.strip().startswith("client key:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(server.output())


def test_serve__each_server__access_log_line_per_request(served: tuple[str, Server]) -> None:
    name, server = served
    with httpx.Client(base_url=server.base, timeout=ANSWER_SECONDS) as http:
        assert http.get("/health?probe=access").status_code == 200
    line = '"GET /health?probe=access HTTP/1.1" 200'
    logger = "lockgate.access" if name == "granian" else "uvicorn.access"
    assert _logged(server.log, line), server.output()
    assert any(line in each and logger in each for each in server.output().splitlines())


def _logged(log: Path, line: str) -> bool:
    """Whether ``line`` reaches the server's log within ANSWER_SECONDS: a request's access line
    is written once its answer has been sent, so the client may read the answer first."""
    deadline = time.monotonic() + ANSWER_SECONDS
    while line not in log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("name", SERVERS)
@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT])
def test_serve__each_server__stop_signal__lifespan_shutdown_runs(
    name: str, sent: signal.Signals, tmp_path: Path
) -> None:
    with new_database_url(tmp_path) as url:
        env = environment(url, tmp_path / "data", workers="1", server=name, log_level="info")
        with serving(env, tmp_path, 1) as servers:
            server = servers[0]
            server.process.send_signal(sent)
            server.process.wait(timeout=ANSWER_SECONDS)
            stop(server.process)
    log = server.output()
    assert "lockgate.app: Lockgate shutting down" in log
    assert "lockgate.app: Lockgate stopped" in log
    assert "Traceback" not in log
