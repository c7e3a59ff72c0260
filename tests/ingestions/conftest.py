"""A DuckDB file in the server's warehouse files directory, holding the tables the ingestion
tests read, and the project's warehouse connection to it; and the exposures and Pulse load
of the tests in which Pulse reads ingested events."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from lockgate.domains.events.repository import insert_rows
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.models import (
    AuditLog,
    CustomEvent,
    IngestionConnection,
    IngestionRun,
    IngestionSchedule,
    IngestionSource,
    IngestionStatus,
)
from tests.contract.client import ContractClient
from tests.warehouse.conftest import CHDB_DIR

# Days after the test clock's start (2026-05-28 20:26 UTC), so experiments started then see them.
DAY1, DAY2 = "2026-05-29", "2026-05-30"


def seconds(day: str, hour: int) -> int:
    return int(dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.UTC).timestamp())


# (uid, device, event, ts, price, country, extra)
EVENTS: list[tuple[Any, ...]] = [
    ("u1", "d1", "purchase", seconds(DAY1, 1), 10.0, "NZ", '{"plan": "pro", "n": {"a": 1}}'),
    ("u2", "d2", "purchase", seconds(DAY1, 5), 20.0, "FR", None),
    ("u3", None, "visit", seconds(DAY1, 9), None, None, None),
    ("u1", "d1", "visit", seconds(DAY1, 23), None, "NZ", None),
    ("u2", "d2", "purchase", seconds(DAY2, 0), 5.5, "FR", None),
    ("u4", "d4", "purchase", seconds(DAY2, 12), 7.0, None, None),
    (None, "d5", "visit", seconds(DAY2, 13), None, None, None),
]
# (unit, id_type, ds, metric, value)
METRICS: list[tuple[Any, ...]] = [
    ("u1", "userID", DAY1, "revenue_usd", 12.5),
    ("u2", "userID", DAY1, "revenue_usd", 3.0),
    ("org1", "companyID", DAY1, "seats", 4.0),
    ("u1", "userID", DAY2, "revenue_usd", 1.0),
]

EVENTS_MAPPING = {
    "unit_id": "uid",
    "event_name": "event",
    "timestamp": "ts",
    "ids": {"device": "stableID"},
    "metadata": {"country": "country"},
    "metadata_object": "extra",
    "event_value": "price",
}
METRICS_MAPPING = {
    "unit_id": "unit",
    "id_type": "id_type",
    "dateid": "ds",
    "metric_name": "metric",
    "metric_value": "value",
}


def events_source(**fields: Any) -> dict[str, Any]:
    return {
        "type": "duckdb",
        "dataset": "Events",
        "source_name": "app events",
        "query": "SELECT * FROM app_events",
        "column_mapping": EVENTS_MAPPING,
        **fields,
    }


def metrics_source(**fields: Any) -> dict[str, Any]:
    return {
        "type": "duckdb",
        "dataset": "Metrics",
        "source_name": "daily metrics",
        "query": "SELECT * FROM daily_metrics",
        "column_mapping": METRICS_MAPPING,
        **fields,
    }


@pytest.fixture(scope="session")
def chdb_path(base_settings: Settings) -> Path:
    """chDB's one data directory of this process (the one tests/warehouse uses too)."""
    return base_settings.resolved_warehouse_files_dir / CHDB_DIR


class Warehouse:
    """The test's DuckDB file: fill and change its tables between loads."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def sql(self, statement: str, rows: list[tuple[Any, ...]] | None = None) -> None:
        with duckdb.connect(str(self.path)) as conn:
            if rows is None:
                conn.execute(statement)
            else:
                conn.executemany(statement, rows)


@pytest.fixture()
def warehouse(console: ContractClient, settings: Settings) -> Warehouse:
    name = f"ingest_{uuid.uuid4().hex[:10]}.duckdb"
    path = settings.resolved_warehouse_files_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    found = Warehouse(path)
    found.sql(
        "CREATE TABLE app_events (uid VARCHAR, device VARCHAR, event VARCHAR, ts BIGINT, "
        "price DOUBLE, country VARCHAR, extra VARCHAR)"
    )
    found.sql("INSERT INTO app_events VALUES (?, ?, ?, ?, ?, ?, ?)", EVENTS)
    found.sql(
        "CREATE TABLE daily_metrics (unit VARCHAR, id_type VARCHAR, ds DATE, metric VARCHAR, "
        "value DOUBLE)"
    )
    found.sql("INSERT INTO daily_metrics VALUES (?, ?, ?, ?, ?)", METRICS)
    body = {"duckdb": {"path": name, "stagingSchema": "lockgate_staging"}}
    response = console.patch("/console/v1/wh_connections", json=body)
    assert response.status_code == 200, response.text
    return found


TABLES = (
    IngestionSource,
    IngestionRun,
    IngestionStatus,
    IngestionSchedule,
    IngestionConnection,
    CustomEvent,
    AuditLog,
)


def snapshot(db: Database) -> dict[str, int]:
    """Row counts of every table an ingestion operation may write."""
    with db.transaction(write=False) as session:
        return {
            t.__tablename__: int(session.scalar(select(func.count()).select_from(t)) or 0)
            for t in TABLES
        }


Snapshot = Callable[[Database], dict[str, int]]


def plant_exposures(db: Database, project_id: str, groups: dict[str, str]) -> None:
    """Units u1 and u3 exposed to Control and u2 and u4 to Test of experiment ``exp``, an hour
    before DAY1."""
    exposed = seconds(DAY1, 0) * 1000 - 3_600_000
    exposures = [
        {
            "project_id": project_id,
            "user_id": unit,
            "time": exposed,
            "received_time": exposed,
            "kind": "config",
            "name": "exp",
            "rule_id": groups[group],
        }
        for unit, group in (("u1", "Control"), ("u3", "Control"), ("u2", "Test"), ("u4", "Test"))
    ]
    with db.transaction() as session:
        insert_rows(session.connection(), "exposures", exposures)


def pulse_after_day2(
    app: FastAPI, console: ContractClient, clock: ManualClock, groups: dict[str, str]
) -> dict[str, Any]:
    """Experiment ``exp``'s Pulse loaded at noon the day after DAY2, without CUPED."""
    end = dt.datetime.fromisoformat(DAY2).replace(tzinfo=dt.UTC) + dt.timedelta(days=1, hours=12)
    clock.advance(int(end.timestamp() * 1000) - clock.now_ms())
    assert console.post("/console/v1/experiments/exp/load_pulse", json={}).status_code == 200
    assert app.state.pulse_runner.run_pending() == 1
    params = {"control": groups["Control"], "test": groups["Test"], "cuped": "false"}
    return dict(console.get("/console/v1/experiments/exp/pulse_results", params=params).json())
