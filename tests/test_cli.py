"""The ``lockgate`` command, run as a real process against a real data directory."""

from __future__ import annotations

import os
import re
import select
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from lockgate.domains.projects.service import bootstrap
from lockgate.kit.clock import SystemClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.migrations import upgrade
from tests.conftest import PG_SERVER_URL, TEST_DB, new_database_url
from tests.processes import ANSWER_SECONDS, stop

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


LISTENING = re.compile(r"^Lockgate listening on (http://\S+)\n", re.M)  # the whole line


@pytest.fixture()
def served(env: dict[str, str], clean_db: object) -> Iterator[tuple[str, dict[str, str]]]:
    """``lockgate serve`` started on a fresh data directory: its URL and the keys it printed."""
    yield from _serve(env)


@pytest.fixture(scope="module")
def shared_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A data directory and a database of their own for the module's shared server."""
    directory = tmp_path_factory.mktemp("cli-shared")
    with new_database_url(directory) as url:
        yield {**os.environ, "LOCKGATE_DATA_DIR": str(directory), "LOCKGATE_DATABASE_URL": url}


@pytest.fixture(scope="module")
def shared_served(shared_env: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    """One server for the tests that only add to what it serves (a cold start takes seconds):
    each names the members, keys and entities it makes, and none counts the others'."""
    yield from _serve(shared_env)


def _serve(env: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    # Port 0: the system picks a free port, and the server says which once it accepts.
    process = subprocess.Popen(
        [str(LOCKGATE), "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    # Raw reads of the pipe: a buffered readline could take in several lines at once and
    # leave the last ones, which select no longer reports, unread.
    pipe, output = process.stdout.fileno(), ""
    deadline = time.monotonic() + 60
    while not LISTENING.search(output) and time.monotonic() < deadline:
        ready, _, _ = select.select([pipe], [], [], 0.5)
        chunk = os.read(pipe, 65536) if ready else b""
        if ready and not chunk:
            break  # the process ended
        output += chunk.decode()
    try:
        listening = LISTENING.search(output)
        assert listening, output
        keys = dict(
            re.findall(
                r"^\s+(console API key|server secret|client key|email|password):\s+(\S+)",
                output,
                re.M,
            )
        )
        assert keys, output
        yield listening.group(1), keys
    finally:
        stop(process)
        process.stdout.close()


def test_serve__fresh_data_dir__prints_keys_and_serves(served: tuple[str, dict[str, str]]) -> None:
    base, keys = served
    assert base.startswith("http://127.0.0.1:") and not base.endswith(":0")
    # Said only once the server accepts: the first request right after it is answered.
    assert httpx.get(f"{base}/health", timeout=ANSWER_SECONDS).status_code == 200
    assert keys["console API key"].startswith("console-")
    assert keys["server secret"].startswith("secret-")
    assert keys["client key"].startswith("client-")
    ok = httpx.get(
        f"{base}/console/v1/keys",
        headers={"STATSIG-API-KEY": keys["console API key"]},
        timeout=ANSWER_SECONDS,
    )
    assert ok.status_code == 200 and ok.json()["pagination"]["totalItems"] == 3
    bad = httpx.get(
        f"{base}/console/v1/keys",
        headers={"STATSIG-API-KEY": "console-wrong"},
        timeout=ANSWER_SECONDS,
    )
    assert bad.status_code == 401
    assert bad.json()["message"].startswith("This endpoint only accepts an active CONSOLE key")
    # The first Owner: the default email, and a one-time password for the web console.
    assert keys["email"] == "owner@lockgate.local" and len(keys["password"]) >= 16
    users = httpx.get(
        f"{base}/console/v1/users",
        headers={"STATSIG-API-KEY": keys["console API key"]},
        timeout=ANSWER_SECONDS,
    ).json()["data"]
    assert users == [
        {"email": "owner@lockgate.local", "firstName": "", "lastName": "", "role": "Owner"}
    ]


def test_users_create__then_list_and_personal_key__acts_as_user(
    shared_served: tuple[str, dict[str, str]], shared_env: dict[str, str]
) -> None:
    base, _ = shared_served
    env = shared_env
    created = _run(
        env, "users", "create", "--email", "Ann@Example.com", "--role", "member",
        "--first-name", "Ann",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert len(created.stdout.strip()) >= 16  # the generated sign-in password, once
    listed = _run(env, "users", "list")
    assert "Ann@Example.com\tMember\tAnn\t" in listed.stdout
    key = _run(
        env, "keys", "create", "--type", "console", "--scope", "personal_read_write",
        "--user", "ann@example.com",
    )  # fmt: skip
    assert key.returncode == 0, key.stderr
    headers = {"STATSIG-API-KEY": key.stdout.strip()}
    gate = httpx.post(
        f"{base}/console/v1/gates",
        headers=headers,
        json={"name": "by ann"},
        timeout=ANSWER_SECONDS,
    )
    assert gate.status_code == 201 and gate.json()["data"]["creatorName"] == "Ann"
    refused = httpx.post(
        f"{base}/console/v1/roles", headers=headers, json={"name": "x"}, timeout=ANSWER_SECONDS
    )
    assert refused.status_code == 403
    unknown = _run(env, "keys", "create", "--type", "console", "--user", "nobody@example.com")
    assert unknown.returncode != 0 and "no member" in unknown.stderr


@pytest.fixture()
def bootstrapped(env: dict[str, str], clean_db: object) -> None:
    """The CLI's database as ``lockgate serve`` leaves it at its first start (migrated, the
    default project, its keys and Owner), made in process: for the commands that need a project
    but no server answering, without a server's cold start."""
    settings = Settings(
        database_url=env["LOCKGATE_DATABASE_URL"], data_dir=Path(env["LOCKGATE_DATA_DIR"])
    )
    database = Database(settings)
    try:
        upgrade(database.engine)
        with database.transaction() as session:
            created = bootstrap(session, SystemClock().now_ms(), owner_email=settings.owner_email)
        assert created is not None
    finally:
        database.dispose()


def test_users_create__password_from_stdin__not_printed(
    bootstrapped: None, env: dict[str, str]
) -> None:
    result = subprocess.run(
        [str(LOCKGATE), "users", "create", "--email", "b@example.com", "--role", "Admin",
         "--password-stdin"],
        env=env, input="s3cret-passw0rd\n", capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and "s3cret" not in result.stderr
    owner = _run(env, "users", "create", "--email", "c@example.com", "--role", "Owner")
    assert owner.returncode != 0 and "Owner" in owner.stderr


def test_users_set_password__printed_once_or_read__unknown_member_fails(
    bootstrapped: None, env: dict[str, str]
) -> None:
    assert (
        _run(env, "users", "create", "--email", "d@example.com", "--role", "Member").returncode == 0
    )
    generated = _run(env, "users", "set-password", "--email", "D@example.com")
    assert generated.returncode == 0, generated.stderr
    assert len(generated.stdout.strip()) >= 16 and generated.stdout.strip() not in generated.stderr
    chosen = subprocess.run(
        [str(LOCKGATE), "users", "set-password", "--email", "d@example.com", "--password-stdin"],
        env=env, input="an0ther-passw0rd\n", capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert chosen.returncode == 0 and chosen.stdout == "" and "an0ther" not in chosen.stderr
    unknown = _run(env, "users", "set-password", "--email", "nobody@example.com")
    assert unknown.returncode != 0 and unknown.stdout == ""


def test_keys_create__console__prints_only_the_key(
    shared_served: tuple[str, dict[str, str]], shared_env: dict[str, str]
) -> None:
    base, _ = shared_served
    env = shared_env
    result = _run(env, "keys", "create", "--type", "console", "--scope", "omni_read_write")
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert re.fullmatch(r"console-[0-9A-Za-z]{44}", key)
    response = httpx.post(
        f"{base}/console/v1/tags",
        headers={"STATSIG-API-KEY": key},
        json={"name": "from_cli", "description": ""},
        timeout=ANSWER_SECONDS,
    )
    assert response.status_code == 200
    listed = _run(env, "keys", "list")
    assert key[:20] in listed.stdout and key not in listed.stdout


def test_keys_create__bad_scope_for_type__fails_with_message(
    bootstrapped: None, env: dict[str, str]
) -> None:
    result = _run(env, "keys", "create", "--type", "server", "--scope", "omni_read_write")
    assert result.returncode != 0 and "does not apply to SERVER" in result.stderr


def test_keys_create__no_project_yet__tells_to_serve(env: dict[str, str], clean_db: object) -> None:
    result = _run(env, "keys", "create", "--type", "server")
    assert result.returncode != 0 and "lockgate serve" in result.stderr


def test_serve__port_busy__fails_with_reason_and_creates_no_key(
    env: dict[str, str], clean_db: object
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = _run(env, "serve", "--port", str(port))
    assert result.returncode == 1
    assert f"Error: cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "Created the default project" not in result.stdout + result.stderr
    assert not re.search(r"(console|secret|client)-[0-9A-Za-z]{12}", result.stdout + result.stderr)
    assert "listening on" not in result.stderr
    # Nothing was bootstrapped, so the next start that binds will create and print the keys.
    listed = _run(env, "keys", "list")
    assert listed.returncode != 0 and "no project yet" in listed.stderr


@pytest.fixture()
def fresh_env(env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    """The CLI's environment on a database no migration has touched."""
    if TEST_DB == "sqlite":
        yield {**env, "LOCKGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
        return
    name = f"lockgate_fresh_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield {**env, "LOCKGATE_DATABASE_URL": PG_SERVER_URL.rsplit("/", 1)[0] + f"/{name}"}
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_db_upgrade__fresh_then_again__lists_applied_migrations_then_says_current(
    fresh_env: dict[str, str],
) -> None:
    first = _run(fresh_env, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "applied migration 0001 initial schema"
    assert "applied migration 0003 events" in lines
    head = lines[-1].removeprefix("database upgraded to revision ")
    assert head != lines[-1] and lines[-2].startswith(f"applied migration {head} ")
    second = _run(fresh_env, "db", "upgrade")
    assert second.returncode == 0, second.stderr
    assert second.stdout == f"database is current (revision {head}); nothing to apply\n"
