"""``lockgate serve`` and the CLI as real processes, for what only several processes show:
start-up races, name races across servers, a server killed mid-request."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.compat.live import free_port

ROOT = Path(__file__).resolve().parent.parent
LOCKGATE = ROOT / ".venv" / "bin" / "lockgate"
START_SECONDS = 120  # two cold starts on a busy two-core machine
# How long one request to a server process may wait for its answer: a process that has just
# started answers its first requests in well under a second on a quiet machine, but in more
# than httpx's default 5 s on a two-core machine at load 10 and more.
ANSWER_SECONDS = 60


def environment(database_url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a server or CLI process on ``database_url``, with no rate limit and
    no Pulse worker, plus ``settings`` (LOCKGATE_ names without the prefix)."""
    return {
        **os.environ,
        "LOCKGATE_DATABASE_URL": database_url,
        "LOCKGATE_DATA_DIR": str(data_dir),
        "LOCKGATE_RATE_LIMIT_PER_10S": "0",
        "LOCKGATE_RATE_LIMIT_PER_15MIN": "0",
        "LOCKGATE_PULSE_WORKER_INTERVAL_MS": "0",
        "LOCKGATE_LOG_LEVEL": "warning",
        **{f"LOCKGATE_{name.upper()}": value for name, value in settings.items()},
    }


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LOCKGATE), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """``kill -9``: no shutdown, no flush, open transactions cut."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then wait for the process to exit, however long a graceful stop takes on a
    loaded machine (up to ``ANSWER_SECONDS``); SIGKILL past that, so no test leaves a server
    running behind it."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=ANSWER_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=ANSWER_SECONDS)


def _start(env: dict[str, str], log: Path) -> Server:
    port = free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(LOCKGATE), "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return Server(process, f"http://127.0.0.1:{port}", log)


def _wait_ready(server: Server, deadline: float) -> None:
    """Until the server says it listens, which it does once it accepts connections and has
    bootstrapped a fresh database (README, ``lockgate serve``), then until it has answered a
    first ``GET /health``, however long that takes within the deadline."""
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"lockgate serve exited:\n{server.output()}")
        if "Lockgate listening on" in server.output():
            left = max(deadline - time.monotonic(), 1.0)
            health = httpx.get(f"{server.base}/health", timeout=left)
            assert health.status_code == 200, health.text
            return
        time.sleep(0.1)
    raise AssertionError(f"lockgate serve did not start in time:\n{server.output()}")


@contextmanager
def serving(env: dict[str, str], logs: Path, count: int) -> Iterator[list[Server]]:
    """``count`` servers started at once on one database, each answering before this yields;
    stopped (or found killed) afterwards."""
    with starting(env, logs, count) as servers:
        ready(servers)
        yield servers


@contextmanager
def starting(env: dict[str, str], logs: Path, count: int) -> Iterator[list[Server]]:
    """``count`` servers started at once on one database, yielded at once while they start up
    (``ready`` waits for them): the test works on meanwhile. Stopped (or found killed)
    afterwards."""
    servers = [_start(env, logs / f"serve-{i}.log") for i in range(count)]
    try:
        yield servers
    finally:
        for server in servers:
            if server.process.poll() is None:
                server.process.terminate()
        for server in servers:
            try:
                server.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


def ready(servers: list[Server]) -> None:
    """Until each of ``servers`` answers, within ``START_SECONDS`` of this call."""
    deadline = time.monotonic() + START_SECONDS
    for server in servers:
        _wait_ready(server, deadline)


PROBE_EVENT = "process_probe"


def probe_batch(tag: str, size: int) -> dict[str, object]:
    """An SDK event batch whose events carry the values ``{tag}/0`` .. ``{tag}/{size-1}``, to
    find each of them in the database afterwards."""
    events = [
        {
            "eventName": PROBE_EVENT,
            "user": {"userID": f"user-{tag}-{i}"},
            "value": f"{tag}/{i}",
            "time": 1_780_000_000_000 + i,
        }
        for i in range(size)
    ]
    return {"events": events, "statsigMetadata": {"sdkType": "process-test"}}


# Landed rows wait in events_incoming until moved into events; a row is in one or the other.
PROBE_VALUES = (
    f"SELECT value_text FROM events WHERE event_name = '{PROBE_EVENT}' UNION ALL "
    f"SELECT value_text FROM events_incoming WHERE event_name = '{PROBE_EVENT}'"
)
