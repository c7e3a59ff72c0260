"""What the server logs: start-up, migrations, bootstrap, skipped events, background failures,
and never a secret."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from lockgate.domains.keys.masking import MASK
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.background import Periodic
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.logs import FORMAT, RedactKeys
from lockgate.storage.migrations import upgrade
from tests.contract.client import ContractClient
from tests.processes import ANSWER_SECONDS, stop

ROOT = Path(__file__).resolve().parent.parent
LOCKGATE = ROOT / ".venv" / "bin" / "lockgate"
KEY_LABELS = ("console API key", "server secret", "client key")


# -- in process ---------------------------------------------------------------------------------


def test_rgstr__some_events_malformed__warning_counts_them_with_reasons(
    anonymous: ContractClient, project: Bootstrap, caplog: pytest.LogCaptureFixture
) -> None:
    events = [
        {"eventName": "ok", "user": {"userID": "u1"}},
        {"eventName": "", "user": {"userID": "u2"}},
        {"eventName": "late", "time": "yesterday", "user": {"userID": "hunter2"}},
        {"user": {"userID": "u3"}},
    ]
    response = anonymous.post(
        "/v1/rgstr", json={"events": events}, headers={"STATSIG-API-KEY": project.server_key}
    )
    assert response.status_code == 202 and len(response.json()["rejected"]) == 3
    [record] = [r for r in caplog.records if r.name == "lockgate.faces.sdk.events_routes"]
    message = record.getMessage()
    assert record.levelno == logging.WARNING
    assert "rgstr: skipped 3 of 4 event(s)" in message
    assert "eventName is required (x2)" in message
    assert (
        "time must be epoch milliseconds from 0 to 253402300799999 (the end of year 9999) (x1)"
        in message
    )
    assert _public_id(project.server_key) in message
    assert project.server_key not in message and "hunter2" not in message


def test_log_event__body_not_json__refusal_logged(
    anonymous: ContractClient, project: Bootstrap, caplog: pytest.LogCaptureFixture
) -> None:
    response = anonymous.post(
        "/v1/log_event", content=b"{nope", headers={"STATSIG-API-KEY": project.server_key}
    )
    assert response.status_code == 400
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert (
        f"log_event: refused a whole batch from key {_public_id(project.server_key)}: "
        "Invalid request. The request body is not valid JSON." in messages
    )


def test_rgstr__all_events_valid__nothing_logged(
    anonymous: ContractClient, project: Bootstrap, caplog: pytest.LogCaptureFixture
) -> None:
    response = anonymous.post(
        "/v1/rgstr",
        json={"events": [{"eventName": "ok", "user": {"userID": "u1"}}]},
        headers={"STATSIG-API-KEY": project.server_key},
    )
    assert response.status_code == 202
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_upgrade__fresh_then_current__logs_each_applied_migration_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = Database(Settings(database_url=f"sqlite:///{tmp_path / 'fresh.db'}"))
    caplog.set_level(logging.INFO, logger="lockgate.storage.migrations")
    try:
        applied = upgrade(database.engine)
        again = upgrade(database.engine)
    finally:
        database.dispose()
    assert applied[0] == "0001 initial schema" and len(applied) >= 9
    assert again == []
    logged = [r.getMessage() for r in caplog.records if r.name == "lockgate.storage.migrations"]
    assert logged == [f"applied migration {m}" for m in applied]


def test_periodic__iteration_raises__logged_with_traceback_and_next_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []
    second = threading.Event()

    def work() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        second.set()

    worker = Periodic("test-worker", work)
    worker.start(0.01)
    try:
        assert second.wait(30)
    finally:
        worker.stop()
    [failure] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failure.getMessage() == "test-worker: iteration failed"
    assert failure.exc_info is not None and "database went away" in str(failure.exc_info[1])


def test_settings_summary__database_password__hidden() -> None:
    settings = Settings(
        database_url="postgresql+psycopg://lock:hunter2@db:5432/lockgate?password=hunter3"
    )
    summary = settings.summary()
    assert "hunter2" not in summary and "hunter3" not in summary
    assert "database_url=postgresql+psycopg://lock:***@db:5432/lockgate" in summary
    assert "log_level=info" in summary and "port=8000" in summary


# -- a real server ------------------------------------------------------------------------------


@dataclass
class Served:
    base: str
    keys: dict[str, str]
    stdout: Path
    stderr: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.stderr.read_text()


def _wait_for(path: Path, text: str, process: subprocess.Popen[bytes]) -> str:
    """The file's content once it holds a whole line with ``text`` (or the process ended, or
    60 s passed)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        content = path.read_text()
        if text in content[: content.rfind("\n") + 1] or process.poll() is not None:
            return content
        time.sleep(0.1)
    return path.read_text()


@pytest.fixture()
def server_env(tmp_path: Path) -> dict[str, str]:
    # A SQLite data directory of its own: the bootstrap must run on a fresh database.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCKGATE_")}
    # The evaluator is named, as the suite names it for its servers (tests/__init__.py).
    return {**env, "LOCKGATE_DATA_DIR": str(tmp_path / "data"), "LOCKGATE_EVALUATOR": "pure"}


@pytest.fixture()
def served(server_env: dict[str, str], tmp_path: Path) -> Iterator[Served]:
    stdout, stderr = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [str(LOCKGATE), "serve", "--port", "0"], env=server_env, stdout=out, stderr=err
        )
    try:
        log = _wait_for(stderr, "Lockgate listening on ", process)
        listening = re.search(r"^Lockgate listening on (http://\S+)\n", log, re.M)
        assert listening, log
        base = listening.group(1)
        keys = {label: _key_after(stdout.read_text(), label) for label in KEY_LABELS}
        yield Served(base, keys, stdout, stderr, process)
    finally:
        stop(process)


def _public_id(key: str) -> str:
    """``secret-`` and 12 characters: how a key is named in the Console API and in logs."""
    return key[: key.index("-") + 1 + 12]


def _key_after(printed: str, label: str) -> str:
    for line in printed.splitlines():
        if line.strip().startswith(f"{label}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {label} in {printed!r}")


def test_serve__fresh_data_dir__log_names_time_level_logger_and_public_key_ids(
    served: Served,
) -> None:
    assert httpx.get(f"{served.base}/health", timeout=ANSWER_SECONDS).status_code == 200
    log = served.log()
    lines = log.splitlines()
    settings_line = next(line for line in lines if "settings: " in line)
    # 2026-01-02 03:04:05,678 INFO lockgate.cli: settings: ...
    date, clock, level, name = settings_line.split(" ")[:4]
    assert len(date) == 10 and clock.count(":") == 2
    assert (level, name) == ("INFO", "lockgate.cli:")
    assert "applied migration 0001 initial schema" in log
    assert "INFO lockgate.cli: evaluator: pure\n" in log
    public_ids = ", ".join(_public_id(served.keys[label]) for label in KEY_LABELS)
    assert f"with keys {public_ids}" in log
    for key in served.keys.values():
        assert key not in log


# -- no secret in a log -------------------------------------------------------------------------


def _access_record(path: str) -> logging.LogRecord:
    """A record as uvicorn's access logger makes it: the path is one of its arguments."""
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:50000", "GET", path, "1.1", 200),
        None,
    )


def _formatted(record: logging.LogRecord) -> str:
    assert RedactKeys().filter(record)
    return logging.Formatter(FORMAT).format(record)


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("server_key", "/v2/download_config_specs/{key}.json?sinceTime=0"),
        ("server_key", "/v1/get_id_lists/{key}.json"),
        ("client_key", "/v1/initialize?k={key}&st=javascript-client"),
        ("console_key", "/console/v1/keys/{key}"),
    ],
)
def test_access_record__key_in_path_or_query__masked_to_public_id(
    project: Bootstrap, kind: str, path: str
) -> None:
    key = getattr(project, kind)
    line = _formatted(_access_record(path.format(key=key)))
    assert path.format(key=_public_id(key) + MASK) in line
    assert key[: len(_public_id(key)) + 1] not in line


def test_access_record__unknown_text_in_key_slot__masked_after_twelve_characters() -> None:
    line = _formatted(_access_record("/v1/download_config_specs/abcdefghijklmnopqrstuvwxyz.json"))
    assert f"/v1/download_config_specs/abcdefghijkl{MASK}.json" in line


def test_record__key_in_exception_and_object_argument__masked(project: Bootstrap) -> None:
    key = project.server_key
    try:
        raise ValueError(f"no project for {key}")
    except ValueError as problem:
        record = logging.LogRecord(
            "lockgate.test", logging.ERROR, __file__, 1, "failed: %s", (problem,), sys.exc_info()
        )
    text = _formatted(record)
    assert text.count(_public_id(key) + MASK) == 2  # the message and the traceback
    assert key[: len(_public_id(key)) + 1] not in text


def test_dcs__unknown_secret__401_echoes_no_more_than_the_public_id(
    anonymous: ContractClient, project: Bootstrap
) -> None:
    sent = project.server_key[:-1] + ("A" if project.server_key[-1] != "A" else "B")
    response = anonymous.get(f"/v2/download_config_specs/{sent}.json")
    assert response.status_code == 401
    message = response.json()["message"]
    assert message.endswith(f"Key: {_public_id(sent)}{MASK}")
    assert sent[: len(_public_id(sent)) + 1] not in message


def test_serve__sdks_poll_with_keys_in_paths__log_shows_public_ids_only(served: Served) -> None:
    console, server, client = (served.keys[label] for label in KEY_LABELS)
    with httpx.Client(base_url=served.base, timeout=ANSWER_SECONDS) as http:
        assert http.get(f"/v2/download_config_specs/{server}.json").status_code == 200
        assert http.get(f"/v1/download_config_specs/{server}.json").status_code == 200
        assert http.get(f"/v1/get_id_lists/{server}.json").status_code == 200
        assert http.post(f"/v1/initialize?k={client}", json={"user": {}}).status_code == 200
        assert http.post(f"/v1/rgstr?k={client}", json={"events": [{}]}).status_code == 202
        keys_of = http.get(f"/console/v1/keys/{console}", headers={"STATSIG-API-KEY": console})
        assert keys_of.status_code == 200
        unknown = server[:-1] + ("A" if server[-1] != "A" else "B")
        bad = http.get(f"/v2/download_config_specs/{unknown}.json")
        assert bad.status_code == 401
    last = f'"GET /v2/download_config_specs/{_public_id(unknown)}{MASK}.json HTTP/1.1" 401'
    log = _wait_for(served.stderr, last, served.process)
    assert last in log
    assert f'"GET /console/v1/keys/{_public_id(console)}{MASK} HTTP/1.1" 200' in log
    assert f'"GET /v2/download_config_specs/{_public_id(server)}{MASK}.json HTTP/1.1" 200' in log
    assert f'"POST /v1/initialize?k={_public_id(client)}{MASK} HTTP/1.1" 200' in log
    assert f"rgstr: skipped 1 of 1 event(s) sent with key {_public_id(client)}" in log
    for key in (server, client, console, unknown):
        assert key[: len(_public_id(key)) + 1] not in log
