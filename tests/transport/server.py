"""A Lockgate server in a process of its own (``lockgate serve``), and a raw HTTP/1.1 client
that sends exactly the bytes a test gives it, for behaviour that depends on the transport."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Served:
    host: str
    port: int
    pid: int
    keys: dict[str, str]

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def peak_rss_bytes(self) -> int:
        """The server process's peak resident memory so far (Linux's ``VmHWM``)."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def lockgate_process(log: Path, **settings: str) -> Iterator[Served]:
    """``lockgate serve`` with ``LOCKGATE_*`` settings, until the block ends. On a fresh
    database it creates a project, whose keys (by ``server secret``, ``client key``, ...) the
    answer holds."""
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "LOCKGATE_PULSE_WORKER_INTERVAL_MS": "0",
        "LOCKGATE_INCOMING_MOVE_INTERVAL_MS": "0",
        "LOCKGATE_LOG_LEVEL": "warning",
        **{f"LOCKGATE_{name.upper()}": value for name, value in settings.items()},
    }
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "lockgate.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120  # a busy machine imports slowly
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.1)
        keys = re.findall(r"^\s+([a-zA-Z ]+ key|server secret):\s+(\S+)$", log.read_text(), re.M)
        yield Served("127.0.0.1", port, process.pid, dict(keys))
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()  # a server stuck in some work does not hold the suite up
            process.wait(timeout=20)


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def raw_request(
    served: Served,
    path: str,
    headers: dict[str, str],
    parts: Iterable[bytes] = (),
    *,
    timeout_s: float = 30,
) -> RawResponse:
    """POST ``headers`` and then ``parts`` as they are, stop sending, and read the answer.
    A server that waits for more of the body than was sent fails by the timeout. A server that
    answers early and closes may refuse the rest of the body; sending then stops, and the answer
    already sent is read as it is."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {served.host}:{served.port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection((served.host, served.port), timeout=timeout_s) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        try:
            for part in parts:
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed its side after answering; its answer is still to be read
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
        return RawResponse(response.status, {k.lower(): v for k, v in response.getheaders()}, body)


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    """``data`` as chunks of a chunked body, without the final empty chunk."""
    for start in range(0, len(data), size):
        piece = data[start : start + size]
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
