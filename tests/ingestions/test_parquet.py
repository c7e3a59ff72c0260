"""Parquet-folder ingestion sources for real: a folder of Parquet files (one sub-folder per
day, or Hive partitions) read through DuckDB; each day lands once, late rows are picked up by
the scheduled re-check and the day then equals the files exactly, a failing folder keeps what
was loaded before, and Pulse reads the events."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.models import CustomEvent
from tests.contract.client import ContractClient
from tests.ingestions.conftest import (
    DAY1,
    DAY2,
    EVENTS,
    EVENTS_MAPPING,
    METRICS_MAPPING,
    Warehouse,
    events_source,
    plant_exposures,
    pulse_after_day2,
    seconds,
    snapshot,
)
from tests.pulse.helpers import start_experiment

URL = "/console/v1/ingestion"
EVENT_COLUMNS = (
    "uid VARCHAR, device VARCHAR, event VARCHAR, ts BIGINT, price DOUBLE, country VARCHAR, "
    "extra VARCHAR"
)


def write_parquet(path: Path, columns: str, rows: list[tuple[Any, ...]]) -> None:
    """One Parquet file holding ``rows``, written by DuckDB."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as conn:
        conn.execute(f"CREATE TABLE t ({columns})")
        if rows:
            marks = ", ".join("?" for _ in rows[0])
            conn.executemany(f"INSERT INTO t VALUES ({marks})", rows)
        conn.execute(f"COPY t TO '{path}' (FORMAT parquet)")


def day_of(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).date().isoformat()


class Folder:
    """The test's folder of Parquet files, one sub-folder per day (the layout of Statsig's S3
    ingestion), inside the server's warehouse files directory."""

    def __init__(self, files_dir: Path) -> None:
        self.name = f"pq_{uuid.uuid4().hex[:10]}/events"
        self.root = files_dir / self.name
        self.days: dict[str, list[tuple[Any, ...]]] = defaultdict(list)

    def plant(self, rows: list[tuple[Any, ...]]) -> None:
        """Add rows to their days' files (each day's file rewritten whole)."""
        for row in rows:
            self.days[day_of(row[3])].append(row)
        for day in {day_of(row[3]) for row in rows}:
            write_parquet(self.root / day / "part-0.parquet", EVENT_COLUMNS, self.days[day])


@pytest.fixture()
def folder(settings: Settings) -> Folder:
    found = Folder(settings.resolved_warehouse_files_dir)
    found.plant(EVENTS)
    return found


def parquet_source(path: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "parquet",
        "dataset": "Events",
        "source_name": "app events",
        "path": path,
        "column_mapping": EVENTS_MAPPING,
        **fields,
    }


@pytest.fixture()
def source(console: ContractClient, folder: Folder) -> Folder:
    response = console.post(URL, json=parquet_source(folder.name))
    assert response.status_code == 200, response.text
    return folder


def backfill(console: ContractClient, start: str, end: str, **fields: Any) -> str:
    body = {"type": "parquet", "dataset": "Events", "datestamp_start": start, "datestamp_end": end}
    response = console.post(f"{URL}/backfill", json={**body, **fields})
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["runID"])


def _order(row: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple("" if v is None else str(v) for v in row)


def stored(db: Database, day: str | None = None) -> list[tuple[Any, ...]]:
    """The ingested events (of one day) as the planted rows' (uid, device, event, ts, price)."""
    with db.transaction(write=False) as session:
        rows = session.execute(
            select(
                CustomEvent.user_id,
                CustomEvent.stable_id,
                CustomEvent.event_name,
                CustomEvent.time,
                CustomEvent.value_number,
                CustomEvent.ingestion,
            )
        ).all()
    return sorted(
        (
            (uid, device, event, time // 1000, price)
            for uid, device, event, time, price, key in rows
            if day is None or key.endswith(f"/{day}")
        ),
        key=_order,
    )


def planted(rows: list[tuple[Any, ...]], day: str | None = None) -> list[tuple[Any, ...]]:
    return sorted((r[:5] for r in rows if day is None or day_of(r[3]) == day), key=_order)


def statuses(console: ContractClient, start: str, end: str, **params: str) -> list[Any]:
    response = console.get(f"{URL}/status", params={"startDate": start, "endDate": end, **params})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def test_parquet_source__created__read_back_with_its_folder(
    console: ContractClient, source: Folder
) -> None:
    response = console.get(URL, params={"type": "parquet", "dataset": "Events"})

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["type"] == "parquet"
    assert (data["data"]["path"], data["data"]["query"]) == (source.name, None)
    assert data["data"]["columnMappings"]["event_name"] == "event"


def test_parquet_source__backfill_twice__planted_events_landed_once(
    app: FastAPI, console: ContractClient, db: Database, source: Folder
) -> None:
    for _ in range(2):
        backfill(console, DAY1, DAY2)
        app.state.ingestion_runner.run_pending()

    assert stored(db) == planted(EVENTS)
    unchanged = [
        s
        for s in statuses(console, DAY1, DAY2, status="IMPORT_SUCCESSFUL")
        if "unchanged" in s["message"]
    ]
    assert len(unchanged) == 2


def test_parquet_source__hive_partitions__metrics_dated_by_the_partition(
    app: FastAPI, console: ContractClient, db: Database, settings: Settings
) -> None:
    name = f"pq_{uuid.uuid4().hex[:10]}/metrics"
    root = settings.resolved_warehouse_files_dir / name
    columns = "unit VARCHAR, id_type VARCHAR, metric VARCHAR, value DOUBLE"
    write_parquet(root / f"ds={DAY1}" / "m.parquet", columns, [("u1", "userID", "rev", 2.5)])
    write_parquet(root / f"ds={DAY2}" / "m.parquet", columns, [("u2", "userID", "rev", 4.0)])
    body = {
        "type": "parquet",
        "dataset": "Metrics",
        "source_name": "daily metrics",
        "path": name,
        "column_mapping": METRICS_MAPPING,
    }
    assert console.post(URL, json=body).status_code == 200

    backfill(console, DAY1, DAY2, dataset="Metrics")
    app.state.ingestion_runner.run_pending()

    with db.transaction(write=False) as session:
        rows = session.execute(
            select(CustomEvent.user_id, CustomEvent.time, CustomEvent.value_number).order_by(
                CustomEvent.time
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("u1", seconds(DAY1, 0) * 1000, 2.5),
        ("u2", seconds(DAY2, 0) * 1000, 4.0),
    ]


def test_scheduled_run__late_rows_in_a_recent_day__that_day_reloaded_to_equal_the_files(
    app: FastAPI, console: ContractClient, db: Database, clock: ManualClock, source: Folder
) -> None:
    enable = {"type": "parquet", "dataset": "Events", "enabled": True}
    assert console.patch(URL, json=enable).status_code == 200
    backfill(console, DAY1, DAY2)
    app.state.ingestion_runner.run_pending()
    with db.transaction(write=False) as session:
        day2_seqs = set(
            session.scalars(select(CustomEvent.seq).where(CustomEvent.ingestion.like(f"%/{DAY2}")))
        )
    # Late rows land in DAY1's file (one more purchase, one visit gone): rewritten whole.
    source.days[DAY1] = [r for r in source.days[DAY1] if r[0] != "u3"]
    source.plant([("u8", None, "purchase", seconds(DAY1, 22), 3.25, "DE", None)])
    # The next day at 11:00 PST: DAY2 + 1 is due, and DAY1 and DAY2 are re-checked.
    day3 = dt.date.fromisoformat(DAY2) + dt.timedelta(days=1)
    due = dt.datetime.combine(day3 + dt.timedelta(days=1), dt.time(19), tzinfo=dt.UTC)
    clock.advance(int(due.timestamp() * 1000) - clock.now_ms())

    assert app.state.ingestion_runner.run_pending() == 1

    assert stored(db, DAY1) == planted([r for d in source.days.values() for r in d], DAY1)
    assert stored(db) == planted([r for d in source.days.values() for r in d])
    with db.transaction(write=False) as session:
        assert day2_seqs == set(
            session.scalars(select(CustomEvent.seq).where(CustomEvent.ingestion.like(f"%/{DAY2}")))
        )
    run = console.get(f"{URL}/runs").json()["data"][0]
    assert (run["trigger"], run["dateStamps"]) == ("scheduled", [DAY1, DAY2, day3.isoformat()])
    by_day = {
        d["dateStamp"]: [s["status"] for s in d["statuses"]]
        for d in run["granularHistory"][0]["statusByDate"]
    }
    assert by_day[DAY1] == [
        "IMPORT_SUCCESSFUL",
        "DOWNLOAD_COMPLETED",
        "IMPORT_RESCHEDULED",
        "IMPORT_STARTED",
        "IMPORT_SCHEDULED",
    ]
    assert by_day[DAY2] == ["IMPORT_SUCCESSFUL", "IMPORT_STARTED", "IMPORT_SCHEDULED"]
    assert by_day[day3.isoformat()][0] == "LOADED_EMPTY_DATA"
    (changed,) = statuses(console, DAY1, DAY2, status="IMPORT_RESCHEDULED")
    assert changed["message"].startswith(f"{DAY1} re-checked: changed")
    assert changed["rowCount"] == 4
    (kept,) = [
        s
        for s in statuses(console, DAY2, DAY2, status="IMPORT_SUCCESSFUL")
        if "re-checked" in s["message"]
    ]
    assert "unchanged" in kept["message"] and kept["rowCount"] == 3


def test_scheduled_run__recheck_days_zero__earlier_days_not_rechecked(
    app: FastAPI, console: ContractClient, clock: ManualClock, source: Folder
) -> None:
    app.state.ingestion_runner._recheck_days = 0  # the setting LOCKGATE_INGESTION_RECHECK_DAYS
    enable = {"type": "parquet", "dataset": "Events", "enabled": True}
    assert console.patch(URL, json=enable).status_code == 200
    backfill(console, DAY1, DAY2)
    app.state.ingestion_runner.run_pending()
    day3 = dt.date.fromisoformat(DAY2) + dt.timedelta(days=1)
    due = dt.datetime.combine(day3 + dt.timedelta(days=1), dt.time(19), tzinfo=dt.UTC)
    clock.advance(int(due.timestamp() * 1000) - clock.now_ms())

    app.state.ingestion_runner.run_pending()

    run = console.get(f"{URL}/runs").json()["data"][0]
    assert run["dateStamps"] == [day3.isoformat()]


def test_parquet_source__folder_fails__earlier_days_intact(
    app: FastAPI, console: ContractClient, db: Database, source: Folder
) -> None:
    backfill(console, DAY1, DAY2)
    app.state.ingestion_runner.run_pending()
    (source.root / DAY2 / "part-0.parquet").write_bytes(b"not parquet at all")

    run_id = backfill(console, DAY1, DAY2)
    app.state.ingestion_runner.run_pending()

    assert stored(db) == planted(EVENTS)
    run = console.get(f"{URL}/runs/{run_id}").json()["data"]
    assert run["latestStatus"] == "failed"
    errors = statuses(console, DAY1, DAY2, status="QUERY_ERROR")
    assert len(errors) == 2 and "part-0.parquet" in errors[0]["error_message"]


def _bad_folder(files_dir: Path, kind: str) -> str:
    """A folder name (under the files directory) that is wrong in the way ``kind`` says."""
    name = f"pq_{uuid.uuid4().hex[:10]}"
    root = files_dir / name
    if kind == "file":
        root.parent.mkdir(parents=True, exist_ok=True)
        root.write_bytes(b"x")
    elif kind == "empty":
        (root / DAY1).mkdir(parents=True)
        (root / DAY1 / "notes.csv").write_text("a,b\n")
    elif kind == "corrupt":
        (root / DAY1).mkdir(parents=True)
        (root / DAY1 / "part-0.parquet").write_bytes(b"PAR1 garbage")
    elif kind == "columns":
        write_parquet(root / "part-0.parquet", "uid VARCHAR, ts BIGINT", [("u1", 1)])
    return name


BAD_SOURCES: list[tuple[str, str, dict[str, Any], str]] = [
    ("missing folder", "missing", {}, "path: folder 'pq_"),
    ("a file", "file", {}, "is a file, not a folder"),
    ("no parquet files", "empty", {}, "holds no Parquet files"),
    ("corrupt file", "corrupt", {}, "cannot be read"),
    ("mapped column absent", "columns", {}, "column 'event' is not in the Parquet files"),
    ("outside the files dir", "", {"path": "../../etc"}, "path: must name a folder inside"),
    ("no path", "", {"path": None}, "path: is required"),
    ("a glob", "", {"path": "pq_*"}, "path: must not contain the characters"),
    ("a query too", "columns", {"query": "SELECT 1"}, "query: a parquet source"),
]


@pytest.mark.parametrize(
    ("kind", "change", "says"), [c[1:] for c in BAD_SOURCES], ids=[c[0] for c in BAD_SOURCES]
)
def test_parquet_source__bad_folder__precise_400_nothing_stored(
    console: ContractClient,
    db: Database,
    settings: Settings,
    kind: str,
    change: dict[str, Any],
    says: str,
) -> None:
    name = _bad_folder(settings.resolved_warehouse_files_dir, kind)
    body = {k: v for k, v in {**parquet_source(name), **change}.items() if v is not None}
    before = snapshot(db)

    response = console.post(URL, json=body)

    assert response.status_code == 400, response.text
    assert says in response.json()["message"], response.json()["message"]
    assert snapshot(db) == before


def test_warehouse_source__path_given__400_nothing_stored(
    console: ContractClient, db: Database, warehouse: Warehouse
) -> None:
    body = {**events_source(), "path": "events"}
    before = snapshot(db)

    response = console.post(URL, json=body)

    assert response.status_code == 400, response.text
    assert "path: only parquet sources read a folder" in response.json()["message"]
    assert snapshot(db) == before


def test_parquet_source__path_updated__new_folder_checked(
    console: ContractClient, settings: Settings, source: Folder
) -> None:
    bad = _bad_folder(settings.resolved_warehouse_files_dir, "empty")
    moved = Folder(settings.resolved_warehouse_files_dir)
    moved.plant(EVENTS[:2])
    body = {"type": "parquet", "dataset": "Events"}

    refused = console.patch(URL, json={**body, "path": bad})
    accepted = console.patch(URL, json={**body, "path": moved.name})

    assert refused.status_code == 400 and "holds no Parquet files" in refused.json()["message"]
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["data"]["data"]["path"] == moved.name
    shutil.rmtree(moved.root)


def test_parquet_events__pulse_reads_them(
    app: FastAPI,
    console: ContractClient,
    db: Database,
    clock: ManualClock,
    project: Bootstrap,
    source: Folder,
) -> None:
    revenue = {"name": "Revenue", "type": "sum", "metricEvents": [{"name": "purchase"}]}
    revenue["metricEvents"][0]["type"] = "value"  # type: ignore[index]
    assert console.post("/console/v1/metrics", json=revenue).status_code == 201
    groups = start_experiment(console)
    plant_exposures(db, project.project.id, groups)
    backfill(console, DAY1, DAY2)
    app.state.ingestion_runner.run_pending()
    results = pulse_after_day2(app, console, clock, groups)

    # u1 bought 10.0 and u3 nothing: the control mean is 5.0.
    assert results["data"]["primaryMetrics"][0]["controlMean"] == 5.0
