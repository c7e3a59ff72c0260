"""The ``lockgate`` command, run as a real process against a real data directory."""

from __future__ import annotations

import os
import re
import select
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCKGATE = ROOT / ".venv" / "bin" / "lockgate"


@pytest.fixture()
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    # The CLI runs on the suite's database flavour, in a database of its own when SQLite.
    url = f"sqlite:///{tmp_path / 'cli.db'}" if database_url.startswith("sqlite") else database_url
    return {**os.environ, "LOCKGATE_DATA_DIR": str(tmp_path), "LOCKGATE_DATABASE_URL": url}


@pytest.fixture()
def clean_db(db: object) -> object:
    """Rows the CLI writes into the shared PostgreSQL database are wiped after the test."""
    return db


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LOCKGATE), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def served(env: dict[str, str], clean_db: object) -> Iterator[tuple[str, dict[str, str]]]:
    port = _free_port()
    process = subprocess.Popen(
        [str(LOCKGATE), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output = ""
    deadline = time.monotonic() + 30
    while "Application startup complete" not in output and time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            output += process.stdout.readline()
    try:
        keys = dict(
            re.findall(r"^\s+(console API key|server secret|client key):\s+(\S+)", output, re.M)
        )
        assert keys, output
        yield f"http://127.0.0.1:{port}", keys
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def test_serve__fresh_data_dir__prints_keys_and_serves(served: tuple[str, dict[str, str]]) -> None:
    base, keys = served
    assert keys["console API key"].startswith("console-")
    assert keys["server secret"].startswith("secret-")
    assert keys["client key"].startswith("client-")
    ok = httpx.get(f"{base}/console/v1/keys", headers={"STATSIG-API-KEY": keys["console API key"]})
    assert ok.status_code == 200 and ok.json()["pagination"]["totalItems"] == 3
    bad = httpx.get(f"{base}/console/v1/keys", headers={"STATSIG-API-KEY": "console-wrong"})
    assert bad.status_code == 401
    assert bad.json()["message"].startswith("This endpoint only accepts an active CONSOLE key")


def test_keys_create__console__prints_only_the_key(
    served: tuple[str, dict[str, str]], env: dict[str, str]
) -> None:
    base, _ = served
    result = _run(env, "keys", "create", "--type", "console", "--scope", "omni_read_write")
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert re.fullmatch(r"console-[0-9A-Za-z]{44}", key)
    response = httpx.post(
        f"{base}/console/v1/tags",
        headers={"STATSIG-API-KEY": key},
        json={"name": "from_cli", "description": ""},
    )
    assert response.status_code == 200
    listed = _run(env, "keys", "list")
    assert key[:20] in listed.stdout and key not in listed.stdout


def test_keys_create__bad_scope_for_type__fails_with_message(
    served: tuple[str, dict[str, str]], env: dict[str, str]
) -> None:
    result = _run(env, "keys", "create", "--type", "server", "--scope", "omni_read_write")
    assert result.returncode != 0 and "does not apply to SERVER" in result.stderr


def test_keys_create__no_project_yet__tells_to_serve(env: dict[str, str], clean_db: object) -> None:
    result = _run(env, "keys", "create", "--type", "server")
    assert result.returncode != 0 and "lockgate serve" in result.stderr


def test_db_upgrade__twice__idempotent(env: dict[str, str], clean_db: object) -> None:
    assert _run(env, "db", "upgrade").returncode == 0
    assert _run(env, "db", "upgrade").returncode == 0
