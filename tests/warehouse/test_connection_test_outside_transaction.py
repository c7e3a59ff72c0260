"""PATCH /wh_connections tests the connection holding no transaction of Lockgate's database:
while a slow test waits in a real PostgreSQL warehouse, an SDK event batch is written and
answered, and another connection change is stored; the slow request then finds the
connection changed and stores nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Connection, create_engine, func, select, text

from lockgate.domains.events.incoming import settle
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.db import Database
from lockgate.storage.models import CustomEvent, WarehouseConnection
from tests.conftest import PG_SERVER_URL
from tests.contract.client import ContractClient
from tests.warehouse.conftest import drop_pg_schema, scratch_name
from tests.warehouse.test_connections_api import postgresql

URL = "/console/v1/wh_connections"
PROBE = "lockgate_connection_probe"
# How long to wait for the warehouse to show the test blocked, before failing (not a timing
# assertion: the wait ends as soon as PostgreSQL shows the waiting lock).
WAIT_S = 60.0


class SlowTest:
    """A PATCH running in a thread of its own, its connection test held inside PostgreSQL: the
    test's probe table is locked by another session until ``release``."""

    def __init__(self, app: FastAPI, key: str, schema: str, blocker: Connection) -> None:
        self.schema = schema
        self._blocker = blocker
        self._app, self._key = app, key
        self.response: httpx.Response | None = None
        self._thread = threading.Thread(target=self._patch, daemon=True)

    def _patch(self) -> None:
        with ContractClient(self._app, self._key) as client:
            self.response = client.patch(URL, json=postgresql(self.schema))

    def start(self) -> None:
        """Start the PATCH; return once PostgreSQL shows its test waiting for the lock."""
        self._thread.start()
        engine = create_engine(PG_SERVER_URL)
        deadline = time.monotonic() + WAIT_S
        try:
            with engine.connect() as conn:
                while self._thread.is_alive() and time.monotonic() < deadline:
                    if self._probe_waiting(conn):
                        return
                    time.sleep(0.05)
        finally:
            engine.dispose()
        pytest.fail("the connection test never reached the locked probe table")

    def _probe_waiting(self, conn: Connection) -> bool:
        found = conn.execute(
            text(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE NOT l.granted AND c.relname = :t AND n.nspname = :s"
            ),
            {"t": PROBE, "s": self.schema},
        ).scalar()
        conn.commit()
        return bool(found)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def release(self) -> httpx.Response:
        self._blocker.rollback()
        self._thread.join(WAIT_S)
        assert not self._thread.is_alive() and self.response is not None
        return self.response


@pytest.fixture()
def slow(app: FastAPI, project: Bootstrap) -> Iterator[SlowTest]:
    schema = scratch_name()
    engine = create_engine(PG_SERVER_URL)
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(text(f'CREATE TABLE "{schema}".{PROBE} (ok INTEGER)'))
        conn.commit()
    blocker = engine.connect()
    blocker.execute(text(f'LOCK TABLE "{schema}".{PROBE} IN ACCESS EXCLUSIVE MODE'))
    test = SlowTest(app, project.console_key, schema, blocker)
    try:
        yield test
    finally:
        blocker.rollback()
        blocker.close()
        engine.dispose()
        drop_pg_schema(schema)


def stored(db: Database) -> WarehouseConnection | None:
    with db.transaction(write=False) as session:
        return session.scalars(select(WarehouseConnection)).first()


EVENTS: dict[str, Any] = {
    "events": [{"eventName": "purchase", "user": {"userID": "u1"}, "value": 3.5, "time": 1}],
    "statsigMetadata": {"sdkType": "py-server"},
}


def test_patch__slow_connection_test__event_batch_written_meanwhile(
    app: FastAPI, project: Bootstrap, db: Database, slow: SlowTest
) -> None:
    slow.start()

    with ContractClient(app) as sdk:
        response = sdk.post(
            "/v1/rgstr", json=EVENTS, headers={"STATSIG-API-KEY": project.server_key}
        )
    assert response.status_code == 202, response.text
    settle(db)
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(CustomEvent)) == 1
    assert slow.running  # the connection test is still waiting in the warehouse

    done = slow.release()

    assert done.status_code == 200, done.text
    row = stored(db)
    assert row is not None and row.settings["stagingSchema"] == slow.schema


def test_patch__connection_changed_during_the_test__slow_one_stores_nothing(
    app: FastAPI, console: ContractClient, db: Database, slow: SlowTest
) -> None:
    slow.start()
    other = scratch_name()
    try:
        quick = console.patch(URL, json=postgresql(other))
        assert quick.status_code == 200, quick.text

        done = slow.release()
    finally:
        drop_pg_schema(other)

    assert done.status_code == 400
    assert "changed by another request while this one was being tested" in (done.json()["message"])
    row = stored(db)
    assert row is not None and row.settings["stagingSchema"] == other
