"""An acknowledged write is on disk: SQLite syncs every commit unless told otherwise, Lockgate
never turns PostgreSQL's synchronous commits off, and ``lockgate db backup`` copies a SQLite
database that is being written to."""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from tests.conftest import new_database_url
from tests.processes import PROBE_VALUES, cli, environment, probe_batch, serving

on_sqlite = pytest.mark.sqlite_only  # a SQLite setting
on_postgresql = pytest.mark.postgresql_only  # a PostgreSQL setting

SQLITE_SYNCHRONOUS = {0: "off", 1: "normal", 2: "full", 3: "extra"}


@on_sqlite
@pytest.mark.parametrize(
    ("given", "expected"), [({}, "full"), ({"sqlite_synchronous": "normal"}, "normal")]
)
def test_sqlite__synchronous_setting__every_connection_uses_it(
    tmp_path: Path, given: dict[str, str], expected: str
) -> None:
    database = Database(Settings(data_dir=tmp_path, **given))  # type: ignore[arg-type]
    try:
        for write in (False, True):
            with database.transaction(write=write) as session:
                mode = session.execute(text("PRAGMA synchronous")).scalar_one()
                assert SQLITE_SYNCHRONOUS[mode] == expected
    finally:
        database.dispose()


@on_postgresql
def test_postgresql__reading_and_writing_sessions__synchronous_commit_as_the_server_has_it(
    tmp_path: Path,
) -> None:
    # (a database of its own: the suite's databases commit without waiting for the disk)
    with new_database_url(tmp_path, "postgresql", fast_commits=False) as url:
        db = Database(Settings(database_url=url, data_dir=tmp_path))
        try:
            plain = create_engine(db.settings.resolved_database_url)
            with plain.connect() as connection:
                server_default = connection.execute(text("SHOW synchronous_commit")).scalar_one()
            plain.dispose()
            assert server_default != "off"
            for write in (False, True):
                with db.transaction(write=write) as session:
                    ours = session.execute(text("SHOW synchronous_commit")).scalar_one()
                    assert ours == server_default
        finally:
            db.dispose()


@pytest.fixture()
def env(empty_database_url: str, tmp_path: Path) -> dict[str, str]:
    return environment(empty_database_url, tmp_path / "data")


@on_sqlite
def test_db_backup__server_writing_meanwhile__copy_is_whole_and_has_every_acknowledged_batch(
    env: dict[str, str], tmp_path: Path
) -> None:
    # Given a server acknowledging event batches one after another
    with serving(env, tmp_path, 1) as (server,):
        key = cli(env, "keys", "create", "--type", "server")
        assert key.returncode == 0, key.stderr
        acknowledged: list[str] = []
        stop = threading.Event()

        def send() -> None:
            with httpx.Client(base_url=server.base, timeout=60) as client:
                for n in itertools.count():
                    if stop.is_set():
                        return
                    response = client.post(
                        "/v1/rgstr",
                        json=probe_batch(f"b{n}", 50),
                        headers={"STATSIG-API-KEY": key.stdout.strip()},
                    )
                    assert response.status_code == 202, response.text
                    acknowledged.append(f"b{n}")

        sender = threading.Thread(target=send)
        sender.start()
        try:
            while len(acknowledged) < 20:
                assert sender.is_alive()
                time.sleep(0.05)
            # When the database is backed up while batches keep coming
            before = list(acknowledged)
            copy = tmp_path / "backup" / "copy.db"
            copy.parent.mkdir()
            backed_up = cli(env, "db", "backup", str(copy))
            while len(acknowledged) < len(before) + 20:  # writing went on during and after
                assert sender.is_alive()
                time.sleep(0.05)
        finally:
            stop.set()
            sender.join()

    # Then the copy is a whole database holding every batch acknowledged before the backup
    # began, each event once
    assert backed_up.returncode == 0, backed_up.stderr
    with closing(sqlite3.connect(copy)) as copied:
        assert copied.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        values = Counter(value for (value,) in copied.execute(PROBE_VALUES))
    expected = {f"{tag}/{i}" for tag in before for i in range(50)}
    assert expected <= set(values)
    assert set(values.values()) == {1}


@on_postgresql
def test_db_backup__postgresql__refused_pointing_to_pg_dump(db: Database, tmp_path: Path) -> None:
    env = environment(db.settings.resolved_database_url, tmp_path)
    result = cli(env, "db", "backup", str(tmp_path / "copy.db"))
    assert result.returncode != 0
    assert "pg_dump" in result.stderr
    assert not (tmp_path / "copy.db").exists()
