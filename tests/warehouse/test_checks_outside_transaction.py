"""Checks in the warehouse hold no transaction of Lockgate's database: while a connection test
(PATCH /wh_connections) or an ingestion source's query check (POST /ingestion) waits in a
real PostgreSQL warehouse, an SDK event batch is written and answered, and another connection
change is stored; the slow request then finds the connection changed and stores nothing."""

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
    """A Console request running in a thread of its own, its check held inside PostgreSQL: the
    table it reads or replaces is locked by another session until ``release``."""

    def __init__(
        self, app: FastAPI, key: str, schema: str, table: str, blocker: Connection
    ) -> None:
        self.schema, self.table = schema, table
        self._blocker = blocker
        self._app, self._key = app, key
        self.response: httpx.Response | None = None
        self._send: tuple[str, str, dict[str, Any]] = ("PATCH", URL, postgresql(schema))
        self._thread = threading.Thread(target=self._request, daemon=True)

    def _request(self) -> None:
        method, url, body = self._send
        with ContractClient(self._app, self._key) as client:
            self.response = client.request(method, url, json=body)

    def start(self, method: str = "PATCH", url: str = URL, body: Any = None) -> None:
        """Send the request (by default the connection to the schema); return once
        PostgreSQL shows its check waiting for the lock."""
        if body is not None:
            self._send = (method, url, body)
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
        pytest.fail(f"the check never reached the locked table {self.table}")

    def _probe_waiting(self, conn: Connection) -> bool:
        found = conn.execute(
            text(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE NOT l.granted AND c.relname = :t AND n.nspname = :s"
            ),
            {"t": self.table, "s": self.schema},
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


def blocked(app: FastAPI, project: Bootstrap, table: str, columns: str) -> Iterator[SlowTest]:
    """A scratch schema holding ``table``, locked by another session while the test runs."""
    schema = scratch_name()
    engine = create_engine(PG_SERVER_URL)
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(text(f'CREATE TABLE "{schema}".{table} ({columns})'))
        conn.commit()
    blocker = engine.connect()
    blocker.execute(text(f'LOCK TABLE "{schema}".{table} IN ACCESS EXCLUSIVE MODE'))
    test = SlowTest(app, project.console_key, schema, table, blocker)
    try:
        yield test
    finally:
        blocker.rollback()
        blocker.close()
        engine.dispose()
        drop_pg_schema(schema)


@pytest.fixture()
def slow(app: FastAPI, project: Bootstrap) -> Iterator[SlowTest]:
    """The connection test's probe table locked: its DROP TABLE waits."""
    yield from blocked(app, project, PROBE, "ok INTEGER")


@pytest.fixture()
def slow_source(app: FastAPI, project: Bootstrap) -> Iterator[SlowTest]:
    """A source table locked: a query over it waits."""
    yield from blocked(app, project, "app_events", "uid TEXT, event TEXT, ts BIGINT")


def stored(db: Database) -> WarehouseConnection | None:
    with db.transaction(write=False) as session:
        return session.scalars(select(WarehouseConnection)).first()


EVENTS: dict[str, Any] = {
    "events": [{"eventName": "purchase", "user": {"userID": "u1"}, "value": 3.5, "time": 1}],
    "statsigMetadata": {"sdkType": "py-server"},
}


def write_batch(app: FastAPI, project: Bootstrap, db: Database) -> None:
    """An SDK event batch, answered and stored."""
    with ContractClient(app) as sdk:
        response = sdk.post(
            "/v1/rgstr", json=EVENTS, headers={"STATSIG-API-KEY": project.server_key}
        )
    assert response.status_code == 202, response.text
    settle(db)
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(CustomEvent)) == 1


def test_patch__slow_connection_test__event_batch_written_meanwhile(
    app: FastAPI, project: Bootstrap, db: Database, slow: SlowTest
) -> None:
    slow.start()

    write_batch(app, project, db)
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


def test_create_ingestion__slow_query_check__event_batch_written_meanwhile(
    app: FastAPI,
    console: ContractClient,
    project: Bootstrap,
    db: Database,
    slow_source: SlowTest,
) -> None:
    schema = slow_source.schema
    assert console.patch(URL, json=postgresql(schema)).status_code == 200
    source = {
        "type": "postgresql",
        "dataset": "Events",
        "source_name": "app events",
        "query": f'SELECT * FROM "{schema}".app_events',
        "column_mapping": {"unit_id": "uid", "event_name": "event", "timestamp": "ts"},
    }
    slow_source.start("POST", "/console/v1/ingestion", source)

    write_batch(app, project, db)
    assert slow_source.running  # the LIMIT 0 query is still waiting in the warehouse

    done = slow_source.release()

    assert done.status_code == 200, done.text
    assert done.json()["data"]["data"]["query"] == source["query"]


def test_update_ingestion__source_changed_during_the_check__slow_one_stores_nothing(
    console: ContractClient, slow_source: SlowTest
) -> None:
    schema = slow_source.schema
    assert console.patch(URL, json=postgresql(schema)).status_code == 200
    engine = create_engine(PG_SERVER_URL)
    with engine.connect() as conn:
        for table in ("first_events", "other_events"):
            conn.execute(text(f'CREATE TABLE "{schema}".{table} (uid TEXT, event TEXT, ts BIGINT)'))
        conn.commit()
    engine.dispose()
    names = {"type": "postgresql", "dataset": "Events"}
    created = console.post(
        "/console/v1/ingestion",
        json={
            **names,
            "source_name": "app events",
            "query": f'SELECT * FROM "{schema}".first_events',
            "column_mapping": {"unit_id": "uid", "event_name": "event", "timestamp": "ts"},
        },
    )
    assert created.status_code == 200, created.text
    slow_source.start(
        "PATCH", "/console/v1/ingestion", {**names, "query": f'SELECT * FROM "{schema}".app_events'}
    )
    other = f'SELECT * FROM "{schema}".other_events'
    quick = console.patch("/console/v1/ingestion", json={**names, "query": other})
    assert quick.status_code == 200, quick.text

    done = slow_source.release()

    assert done.status_code == 400
    assert done.json() == {
        "status": 400,
        "message": "The ingestion source was changed by another request while this one was "
        "being checked in the warehouse; nothing was stored. Send the request again.",
    }
    read = console.get("/console/v1/ingestion", params=names)
    assert read.json()["data"]["data"]["query"] == other


# -- warehouse-native sources: the LIMIT 0 check of their query --------------------------------

SOURCE_PATHS = {
    "assignment": "/console/v1/experiments/assignment_sources",
    "entity_property": "/console/v1/experiments/entity_properties",
    "qualifying_event": "/console/v1/experiments/qualifying_events",
    "metric": "/console/v1/metrics/metric_source",
}


def source_body(kind: str, schema: str, table: str = "app_events") -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "app events",
        "sql": f'SELECT * FROM "{schema}".{table}',
        "timestampColumn": "ts",
        "idTypeMapping": [{"statsigUnitID": "userID", "column": "uid"}],
    }
    if kind == "assignment":
        body.update(experimentIDColumn="event", groupIDColumn="event")
    return body


def open_lockgate_transactions(db: Database) -> int:
    """On PostgreSQL, how many sessions of Lockgate's database sit inside a transaction."""
    engine = create_engine(PG_SERVER_URL)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = :d "
                        "AND state LIKE 'idle in transaction%'"
                    ),
                    {"d": db.engine.url.database},
                ).scalar()
                or 0
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", sorted(SOURCE_PATHS))
def test_create_source__slow_query_check__no_transaction_held_and_batch_written_meanwhile(
    app: FastAPI,
    console: ContractClient,
    project: Bootstrap,
    db: Database,
    slow_source: SlowTest,
    kind: str,
) -> None:
    # Given: the project's warehouse, whose source table is locked by another session
    schema = slow_source.schema
    assert console.patch(URL, json=postgresql(schema)).status_code == 200
    # When: a source over that table is created, its check waiting in the warehouse
    slow_source.start("POST", SOURCE_PATHS[kind], source_body(kind, schema))
    # Then: Lockgate's database is free meanwhile: no transaction of it is open, and an SDK
    # event batch is written and answered (on SQLite it would wait for the write lock)
    if db.engine.dialect.name == "postgresql":
        assert open_lockgate_transactions(db) == 0
    write_batch(app, project, db)
    assert slow_source.running  # the LIMIT 0 query is still waiting in the warehouse
    # And: once the warehouse answers, the source is stored
    done = slow_source.release()
    assert done.status_code == 201, done.text
    assert done.json()["data"]["sql"] == f'SELECT * FROM "{schema}".app_events'


def test_replace_source__changed_during_the_check__slow_one_stores_nothing(
    console: ContractClient, db: Database, slow_source: SlowTest
) -> None:
    # Given: a metric source over one table of the project's warehouse
    schema = slow_source.schema
    assert console.patch(URL, json=postgresql(schema)).status_code == 200
    engine = create_engine(PG_SERVER_URL)
    with engine.connect() as conn:
        conn.execute(
            text(f'CREATE TABLE "{schema}".first_events (uid TEXT, event TEXT, ts BIGINT)')
        )
        conn.commit()
    engine.dispose()
    path = SOURCE_PATHS["metric"]
    created = console.post(path, json=source_body("metric", schema, "first_events"))
    assert created.status_code == 201, created.text
    # When: a query change waits in the warehouse while another request changes the source
    slow_source.start("POST", f"{path}/app events", source_body("metric", schema))
    if db.engine.dialect.name == "postgresql":
        assert open_lockgate_transactions(db) == 0  # else the quick request waits for its lock
    quick = console.post(
        f"{path}/app events",
        json={**source_body("metric", schema, "first_events"), "description": "quick"},
    )
    assert quick.status_code == 200, quick.text
    done = slow_source.release()
    # Then: the slow one is refused and stores nothing; the quick one's change stands
    assert done.status_code == 400
    assert done.json() == {
        "status": 400,
        "message": "The metric source was changed by another request while this one was being "
        "checked in the warehouse; nothing was stored. Send the request again.",
    }
    read = console.get(f"{path}/app events").json()["data"]
    assert read["description"] == "quick"
    assert read["sql"] == f'SELECT * FROM "{schema}".first_events'
