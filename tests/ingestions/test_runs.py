"""Ingestion runs for real: a backfill from a DuckDB file (and a PostgreSQL schema) lands each
day's rows once in the event table; a re-run changes nothing, a changed day is replaced
exactly, a failing day keeps what was loaded before; runs, statuses and the ledgers show it,
and Pulse reads the ingested events."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, select, text

from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.warehouse.adapters import ChdbWarehouse
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.storage.models import CustomEvent, WarehouseConnection
from tests.conftest import PG_SERVER_URL
from tests.contract.client import ContractClient
from tests.ingestions.conftest import (
    DAY1,
    DAY2,
    EVENTS,
    Warehouse,
    events_source,
    metrics_source,
    plant_exposures,
    pulse_after_day2,
    seconds,
    snapshot,
)
from tests.pulse.helpers import start_experiment
from tests.warehouse.conftest import CHDB_DIR

URL = "/console/v1/ingestion"


def backfill(console: ContractClient, start: str, end: str, **fields: Any) -> str:
    body = {"type": "duckdb", "dataset": "Events", "datestamp_start": start, "datestamp_end": end}
    response = console.post(f"{URL}/backfill", json={**body, **fields})
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "Ingestion backfilled successfully."
    return str(response.json()["data"]["runID"])


def stored_events(db: Database) -> list[tuple[Any, ...]]:
    with db.transaction(write=False) as session:
        rows = session.execute(
            select(
                CustomEvent.event_name,
                CustomEvent.user_id,
                CustomEvent.stable_id,
                CustomEvent.time,
                CustomEvent.value_number,
                CustomEvent.ingestion,
            ).order_by(CustomEvent.time, CustomEvent.seq)
        ).all()
    return [tuple(r) for r in rows]


def run_of(console: ContractClient, run_id: str) -> dict[str, Any]:
    response = console.get(f"{URL}/runs/{run_id}")
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "Ingestion Run Read Successfully"
    return response.json()["data"]  # type: ignore[no-any-return]


@pytest.fixture()
def source(console: ContractClient, warehouse: Warehouse) -> Warehouse:
    """An Events source, not enabled: only backfills load it, the daily schedule does not."""
    assert console.post(URL, json=events_source()).status_code == 200
    return warehouse


def test_backfill__two_days__queued_then_loaded_once_with_progress(
    app: FastAPI, console: ContractClient, db: Database, source: Warehouse
) -> None:
    run_id = backfill(console, DAY1, DAY2)

    queued = run_of(console, run_id)
    assert (queued["latestStatus"], queued["trigger"]) == ("enqueued", "backfill")
    assert queued["dateStamps"] == [DAY1, DAY2] and queued["sources"] == ["app events"]
    assert stored_events(db) == []

    assert app.state.ingestion_runner.run_pending() == 1

    done = run_of(console, run_id)
    assert done["latestStatus"] == "complete"
    assert [h["status"] for h in done["runHistory"]] == ["complete", "started", "enqueued"]
    (granular,) = done["granularHistory"]
    assert granular["latestSourceStatus"] == "IMPORT_SUCCESSFUL"
    day1 = granular["statusByDate"][0]
    assert day1["dateStamp"] == DAY1
    assert [s["status"] for s in day1["statuses"]] == [
        "IMPORT_SUCCESSFUL",
        "DOWNLOAD_COMPLETED",
        "IMPORT_STARTED",
        "BACKFILL_REQUESTED",
    ]
    events = stored_events(db)
    assert len(events) == len(EVENTS)
    first = events[0]
    assert first[:5] == ("purchase", "u1", "d1", seconds(DAY1, 1) * 1000, 10.0)
    assert first[5].endswith(f"/{DAY1}")
    anonymous = [e for e in events if e[1] is None]
    assert [(e[0], e[2]) for e in anonymous] == [("visit", "d5")]


def test_backfill__metadata_and_value__mapped_as_sdk_events_are(
    app: FastAPI, console: ContractClient, db: Database, source: Warehouse
) -> None:
    backfill(console, DAY1, DAY1)
    app.state.ingestion_runner.run_pending()

    with db.transaction(write=False) as session:
        row = session.scalars(select(CustomEvent).order_by(CustomEvent.time)).first()
        assert row is not None
        assert row.event_metadata == {"country": "NZ", "plan": "pro", "n": '{"a":1}'}
        assert (row.value_text, row.value_number) == ("10.0", 10.0)
        assert row.custom_ids == {"stableID": "d1"}
        assert row.user == {"userID": "u1", "customIDs": {"stableID": "d1"}}


def test_backfill__run_again__nothing_duplicated_nothing_rewritten(
    app: FastAPI, console: ContractClient, db: Database, source: Warehouse
) -> None:
    backfill(console, DAY1, DAY2)
    app.state.ingestion_runner.run_pending()
    first = stored_events(db)
    with db.transaction(write=False) as session:
        seqs = list(session.scalars(select(CustomEvent.seq).order_by(CustomEvent.seq)))

    again = backfill(console, DAY1, DAY2)
    app.state.ingestion_runner.run_pending()

    assert stored_events(db) == first
    with db.transaction(write=False) as session:
        assert list(session.scalars(select(CustomEvent.seq).order_by(CustomEvent.seq))) == seqs
    statuses = console.get(
        f"{URL}/status", params={"startDate": DAY1, "endDate": DAY2, "status": "IMPORT_SUCCESSFUL"}
    ).json()["data"]
    unchanged = [s for s in statuses if "unchanged" in s["message"]]
    assert len(unchanged) == 2
    assert run_of(console, again)["latestStatus"] == "complete"


def test_backfill__day_changed_in_warehouse__that_day_replaced_exactly(
    app: FastAPI, console: ContractClient, db: Database, source: Warehouse
) -> None:
    backfill(console, DAY1, DAY2)
    app.state.ingestion_runner.run_pending()
    source.sql("DELETE FROM app_events WHERE event = 'visit' AND ts < ?", [(seconds(DAY2, 0),)])
    source.sql(
        "INSERT INTO app_events VALUES (?, ?, ?, ?, ?, ?, ?)",
        [("u9", None, "refund", seconds(DAY1, 4), -3.0, None, None)],
    )

    backfill(console, DAY1, DAY1)
    app.state.ingestion_runner.run_pending()

    events = stored_events(db)
    day1 = sorted(e[0] for e in events if e[5].endswith(DAY1))
    assert day1 == ["purchase", "purchase", "refund"]
    assert len([e for e in events if e[5].endswith(DAY2)]) == 3


def test_backfill__source_query_fails__day_failed_earlier_load_kept(
    app: FastAPI, console: ContractClient, db: Database, source: Warehouse
) -> None:
    backfill(console, DAY1, DAY2)
    app.state.ingestion_runner.run_pending()
    loaded = stored_events(db)
    source.sql("DROP TABLE app_events")

    run_id = backfill(console, DAY1, DAY2)
    app.state.ingestion_runner.run_pending()

    assert stored_events(db) == loaded
    run = run_of(console, run_id)
    assert run["latestStatus"] == "failed"
    assert run["granularHistory"][0]["latestSourceStatus"] == "QUERY_ERROR"
    errors = console.get(
        f"{URL}/status", params={"startDate": DAY1, "endDate": DAY2, "status": "QUERY_ERROR"}
    ).json()["data"]
    assert len(errors) == 2 and "app_events" in errors[0]["error_message"]


def test_backfill__bad_row__day_refused_whole_with_row_named(
    app: FastAPI, console: ContractClient, db: Database, source: Warehouse
) -> None:
    source.sql(
        "INSERT INTO app_events VALUES (?, ?, ?, ?, ?, ?, ?)",
        [("u7", None, None, seconds(DAY1, 2), None, None, None)],
    )

    run_id = backfill(console, DAY1, DAY2)
    app.state.ingestion_runner.run_pending()

    assert {e[5][-10:] for e in stored_events(db)} == {DAY2}
    assert run_of(console, run_id)["latestStatus"] == "partial_failure"
    (bad,) = console.get(
        f"{URL}/status",
        params={"startDate": DAY1, "endDate": DAY1, "statuses[]": "INTERNAL_WRITE_ERROR_EVENTS"},
    ).json()["data"]
    assert re.fullmatch(r"row \d: the event or metric name is empty", bad["error_message"])


def test_metrics_source__backfill__one_event_per_unit_day_with_value(
    app: FastAPI, console: ContractClient, db: Database, warehouse: Warehouse
) -> None:
    assert console.post(URL, json=metrics_source()).status_code == 200

    backfill(console, DAY1, DAY2, dataset="Metrics")
    app.state.ingestion_runner.run_pending()

    with db.transaction(write=False) as session:
        rows = session.execute(
            select(
                CustomEvent.event_name,
                CustomEvent.user_id,
                CustomEvent.custom_ids,
                CustomEvent.time,
                CustomEvent.value_number,
            ).order_by(CustomEvent.time, CustomEvent.event_name, CustomEvent.user_id)
        ).all()
    midnight = seconds(DAY1, 0) * 1000
    assert [tuple(r) for r in rows] == [
        ("revenue_usd", "u1", None, midnight, 12.5),
        ("revenue_usd", "u2", None, midnight, 3.0),
        ("seats", None, {"companyID": "org1"}, midnight, 4.0),
        ("revenue_usd", "u1", None, seconds(DAY2, 0) * 1000, 1.0),
    ]
    (status,) = console.get(
        f"{URL}/status",
        params={
            "startDate": DAY1,
            "endDate": DAY1,
            "dataset": "Metrics",
            "status": "IMPORT_SUCCESSFUL",
        },
    ).json()["data"]
    assert (status["rowCount"], status["metricCount"]) == (3, 2)


def test_runs_status_and_ledgers__after_a_load__official_shapes(
    app: FastAPI, console: ContractClient, source: Warehouse
) -> None:
    run_id = backfill(console, DAY1, DAY2)
    app.state.ingestion_runner.run_pending()

    listed = console.get(f"{URL}/runs").json()
    assert listed["message"] == "Ingestion Runs Listed Successfully."
    assert [r["runID"] for r in listed["data"]] == [run_id]
    statuses = console.get(f"{URL}/status", params={"startDate": DAY1, "endDate": DAY2}).json()
    assert statuses["pagination"]["totalItems"] == 8  # 4 statuses of each of 2 days
    assert {s["ingestion_dataset"] for s in statuses["data"]} == {"events"}
    assert {s["ingestion_source"] for s in statuses["data"]} == {"duckdb"}
    other = console.get(
        f"{URL}/status", params={"startDate": DAY1, "endDate": DAY2, "status": "%Other"}
    ).json()["data"]
    assert other == []

    grouped = console.get(
        f"{URL}/events/count", params={"start_date": DAY1, "end_date": DAY2}
    ).json()
    assert grouped["message"] == "Event count read successfully."
    by_day = {d["date"]: {e["event"]: e["count"] for e in d["events"]} for d in grouped["data"]}
    assert by_day == {DAY1: {"purchase": 2, "visit": 2}, DAY2: {"purchase": 2, "visit": 1}}
    flat = console.get(
        f"{URL}/events/count",
        params={"start_date": DAY1, "end_date": DAY2, "event_name": "visit"},
    ).json()["data"]
    assert [(f["date"], f["count"]) for f in flat] == [(DAY1, 2), (DAY2, 1)]

    delta = console.get(
        f"{URL}/events/delta",
        params={"start_date": DAY1, "end_date": DAY1, "event_name": "purchase"},
    ).json()
    assert delta["message"] == "Event delta read successfully."
    (entry,) = delta["data"]
    assert (entry["source"], entry["internal_count"], entry["external_count"]) == (
        "app events",
        2,
        2,
    )
    assert entry["has_diff"] is False
    grouped_delta = console.get(
        f"{URL}/events/delta", params={"start_date": DAY1, "end_date": DAY2}
    ).json()["data"]
    assert [d["date"] for d in grouped_delta] == [DAY1, DAY2]


BAD_BACKFILLS: list[tuple[str, dict[str, Any], int, str]] = [
    ("start not a date", {"datestamp_start": "2026-13-01"}, 400, "datestamp_start: must be a date"),
    ("start not ISO", {"datestamp_start": "26/05/2026"}, 400, "datestamp_start"),
    ("end before start", {"datestamp_end": "2026-05-01"}, 400, "datestamp_end: must not be before"),
    ("range too long", {"datestamp_start": "2024-01-01"}, 400, "at most 366"),
    ("unknown source", {"source": "absent"}, 404, "Ingestion source absent"),
    ("source list with unknown", {"source": ["app events", "absent"]}, 404, "absent"),
    ("empty source list", {"source": []}, 400, "source: must name at least one source"),
    ("source not text", {"source": 7}, 400, "source"),
    ("source name too long", {"source": "s" * 201}, 400, "source"),
    ("too many sources", {"source": [f"s{i}" for i in range(101)]}, 400, "source"),
    ("no connection", {"type": "snowflake-v2"}, 404, "Ingestion of type snowflake-v2 not found."),
    ("dataset not loadable", {"dataset": "entity_properties"}, 400, "dataset"),
    ("no such dataset", {"dataset": "Logs"}, 400, "dataset"),
    ("missing end", {"datestamp_end": None}, 400, "datestamp_end"),
]


@pytest.mark.parametrize(
    ("change", "status", "says"), [c[1:] for c in BAD_BACKFILLS], ids=[c[0] for c in BAD_BACKFILLS]
)
def test_backfill__bad_input__envelope_error_and_nothing_queued(
    console: ContractClient,
    db: Database,
    source: Warehouse,
    change: dict[str, Any],
    status: int,
    says: str,
) -> None:
    before = snapshot(db)
    body = {"type": "duckdb", "dataset": "Events", "datestamp_start": DAY1, "datestamp_end": DAY2}
    body = {k: v for k, v in {**body, **change}.items() if v is not None}

    response = console.post(f"{URL}/backfill", json=body)

    assert response.status_code == status, response.text
    assert response.json()["status"] == status and says in response.json()["message"]
    assert snapshot(db) == before


def test_backfill__no_source_of_the_type__400(
    console: ContractClient, db: Database, warehouse: Warehouse
) -> None:
    before = snapshot(db)
    body = {"type": "duckdb", "dataset": "Events", "datestamp_start": DAY1, "datestamp_end": DAY1}

    response = console.post(f"{URL}/backfill", json=body)

    assert response.status_code == 400
    assert "no Events ingestion source of type duckdb exists" in response.json()["message"]
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("url", "params", "status", "says"),
    [
        (f"{URL}/runs/not-a-run", {}, 404, "runID not-a-run not found"),
        (f"{URL}/runs", {"page": "zero"}, 400, "page"),
        (f"{URL}/status", {"startDate": DAY1}, 400, "endDate"),
        (f"{URL}/status", {"startDate": "yesterday", "endDate": DAY1}, 400, "startDate"),
        (f"{URL}/status", {"startDate": DAY1, "endDate": DAY2, "status": "DONE"}, 400, "status"),
        (f"{URL}/status", {"startDate": DAY1, "endDate": DAY2, "dataset": "x"}, 400, "dataset"),
        (f"{URL}/events/count", {"start_date": DAY2, "end_date": DAY1}, 400, "end_date"),
        (f"{URL}/events/count", {"end_date": DAY1}, 400, "start_date"),
        (f"{URL}/events/delta", {"start_date": "2026-02-30", "end_date": DAY1}, 400, "start_date"),
        (
            f"{URL}/events/delta",
            {"start_date": DAY1, "end_date": DAY1, "source_name": "s" * 201},
            400,
            "source_name",
        ),
    ],
)
def test_reads__bad_query__envelope_error(
    console: ContractClient, db: Database, url: str, params: dict[str, str], status: int, says: str
) -> None:
    before = snapshot(db)

    response = console.get(url, params=params)

    assert response.status_code == status, response.text
    assert says in response.json()["message"]
    assert snapshot(db) == before


def test_schedule__hour_passed_in_pst__yesterday_loaded_once(
    app: FastAPI, console: ContractClient, db: Database, clock: ManualClock, source: Warehouse
) -> None:
    enable = {"type": "duckdb", "dataset": "Events", "enabled": True}
    assert console.patch(URL, json=enable).status_code == 200
    assert (
        console.post(
            f"{URL}/schedule", json={"dataset": "Events", "scheduled_hour_pst": 3}
        ).status_code
        == 200
    )
    # 10:00 UTC on DAY2 + 1 is 02:00 PST: not yet; 11:00 UTC is 03:00 PST: DAY2 is due.
    next_day = dt.datetime.fromisoformat(DAY2).replace(tzinfo=dt.UTC) + dt.timedelta(days=1)
    clock.advance(int((next_day + dt.timedelta(hours=10)).timestamp() * 1000) - clock.now_ms())
    assert app.state.ingestion_runner.run_pending() == 0
    clock.advance(3_600_000)

    assert app.state.ingestion_runner.run_pending() == 1
    clock.advance(120_000)
    assert app.state.ingestion_runner.run_pending() == 0

    (run,) = console.get(f"{URL}/runs").json()["data"]
    assert (run["trigger"], run["dateStamps"], run["latestStatus"]) == (
        "scheduled",
        [DAY2],
        "complete",
    )
    assert {e[5][-10:] for e in stored_events(db)} == {DAY2}


def test_ingested_events__pulse_reads_them(
    app: FastAPI,
    console: ContractClient,
    db: Database,
    clock: ManualClock,
    project: Bootstrap,
    source: Warehouse,
) -> None:
    revenue = {
        "name": "Revenue",
        "type": "sum",
        "metricEvents": [{"name": "purchase", "type": "value"}],
    }
    assert console.post("/console/v1/metrics", json=revenue).status_code == 201
    groups = start_experiment(console)
    plant_exposures(db, project.project.id, groups)
    backfill(console, DAY1, DAY2)
    app.state.ingestion_runner.run_pending()
    (metric,) = pulse_after_day2(app, console, clock, groups)["data"]["primaryMetrics"]
    assert (metric["controlUnits"], metric["testUnits"]) == (2, 2)
    # u1 bought 10.0 and u3 nothing; u2 20.0 + 5.5 and u4 7.0: (25.5 + 7.0) / 2.
    # Pulse winsorizes sums at the 99.9th percentile by default, pulling 25.5 in slightly.
    assert metric["controlMean"] == 5.0
    assert metric["testMean"] == pytest.approx(16.25, abs=0.05)


@pytest.fixture()
def pg_table() -> Iterator[str]:
    schema = f"ingest_{uuid.uuid4().hex[:10]}"
    engine = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(
            text(
                f'CREATE TABLE "{schema}".app_events (uid TEXT, device TEXT, event TEXT, '
                "ts BIGINT, price DOUBLE PRECISION, country TEXT, extra TEXT)"
            )
        )
        for row in EVENTS:
            conn.execute(
                text(
                    f'INSERT INTO "{schema}".app_events VALUES '
                    "(:uid, :device, :event, :ts, :price, :country, :extra)"
                ),
                dict(
                    zip(
                        ["uid", "device", "event", "ts", "price", "country", "extra"],
                        row,
                        strict=True,
                    )
                ),
            )
    try:
        yield schema
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def test_postgresql_source__backfill_twice__rows_landed_once(
    app: FastAPI, console: ContractClient, db: Database, pg_table: str
) -> None:
    connection = {
        "postgresql": {
            "host": "127.0.0.1",
            "port": 5432,
            "database": "postgres",
            "username": "postgres",
            "stagingSchema": pg_table,
        }
    }
    assert console.patch("/console/v1/wh_connections", json=connection).status_code == 200
    body = events_source(type="postgresql", query=f'SELECT * FROM "{pg_table}".app_events')
    assert console.post(URL, json=body).status_code == 200, body

    for _ in range(2):
        backfill(console, DAY1, DAY2, type="postgresql")
        app.state.ingestion_runner.run_pending()

    events = stored_events(db)
    assert len(events) == len(EVENTS)
    assert sorted(e[0] for e in events) == sorted(row[2] for row in EVENTS)


def test_backfill__thirty_days__every_day_reported(
    app: FastAPI, console: ContractClient, source: Warehouse
) -> None:
    start = dt.date.fromisoformat(DAY1) - dt.timedelta(days=28)
    run_id = backfill(console, start.isoformat(), DAY2)

    app.state.ingestion_runner.run_pending()

    run = run_of(console, run_id)
    (granular,) = run["granularHistory"]
    finals = {d["dateStamp"]: d["statuses"][0]["status"] for d in granular["statusByDate"]}
    assert len(run["dateStamps"]) == len(finals) == 30
    assert {day for day, status in finals.items() if status == "IMPORT_SUCCESSFUL"} == {
        DAY1,
        DAY2,
    }
    assert {s for day, s in finals.items() if day not in (DAY1, DAY2)} == {"LOADED_EMPTY_DATA"}
    empty = console.get(
        f"{URL}/status",
        params={"startDate": start.isoformat(), "endDate": DAY2, "status": "LOADED_EMPTY_DATA"},
    ).json()["pagination"]["totalItems"]
    assert empty == 28


def test_clickhouse_source_through_chdb__backfill_twice__rows_landed_once(
    app: FastAPI, console: ContractClient, db: Database, chdb_path: Path
) -> None:
    database = f"ingest_{uuid.uuid4().hex[:10]}"
    chdb = ChdbWarehouse(chdb_path, staging_schema="default")
    with chdb:
        chdb.run(f"CREATE DATABASE {database}")
        chdb.run(
            f"CREATE TABLE {database}.app_events (uid Nullable(String), device Nullable(String), "
            "event Nullable(String), ts Int64, price Nullable(Float64), "
            "country Nullable(String), extra Nullable(String)) ENGINE = MergeTree ORDER BY ts"
        )
        values = ", ".join(
            "(" + ", ".join("NULL" if v is None else repr(v) for v in row) + ")" for row in EVENTS
        )
        chdb.run(f"INSERT INTO {database}.app_events VALUES {values}")
    try:
        body = {"clickhouse": {"path": CHDB_DIR, "stagingDatabase": database}}
        assert console.patch("/console/v1/wh_connections", json=body).status_code == 200
        created = events_source(type="clickhouse", query=f"SELECT * FROM {database}.app_events")
        assert console.post(URL, json=created).status_code == 200

        for _ in range(2):
            backfill(console, DAY1, DAY2, type="clickhouse")
            app.state.ingestion_runner.run_pending()

        events = stored_events(db)
        assert len(events) == len(EVENTS)
        assert sorted(e[0] for e in events) == sorted(row[2] for row in EVENTS)
    finally:
        with chdb:
            chdb.run(f"DROP DATABASE IF EXISTS {database}")


def test_postgresql_source__warehouse_unreachable__connection_error_without_password(
    app: FastAPI, console: ContractClient, db: Database, pg_table: str
) -> None:
    connection = {
        "postgresql": {
            "host": "127.0.0.1",
            "port": 5432,
            "database": "postgres",
            "username": "postgres",
            "password": "pg-Secret-b71c",
            "stagingSchema": pg_table,
        }
    }
    assert console.patch("/console/v1/wh_connections", json=connection).status_code == 200
    body = events_source(type="postgresql", query=f'SELECT * FROM "{pg_table}".app_events')
    assert console.post(URL, json=body).status_code == 200
    with db.transaction() as session:
        row = session.scalars(select(WarehouseConnection)).one()
        row.settings = {**row.settings, "port": 1}

    run_id = backfill(console, DAY1, DAY1, type="postgresql")
    app.state.ingestion_runner.run_pending()

    assert run_of(console, run_id)["latestStatus"] == "failed"
    (failed,) = console.get(
        f"{URL}/status", params={"startDate": DAY1, "endDate": DAY1, "status": "CONNECTION_ERROR"}
    ).json()["data"]
    assert failed["error_message"] and "pg-Secret-b71c" not in failed["error_message"]
    assert stored_events(db) == []
    assert "ingestion_backfill" in console.get("/console/v1/audit_logs").text
