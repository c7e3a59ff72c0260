"""The Warehouse Native pipeline at scale, on the Pulse bench's rows (bench/pulse.py).

The rows the Pulse bench generated are copied into a team's warehouse with one bulk SQL
statement per table: a DuckDB file (from the bench's Parquet files) and a schema of the bench's
throwaway PostgreSQL database (from its ``exposures`` and ``events`` tables), as an assignment
table ``(user_id, ts, experiment, grp)`` and an event table ``(user_id, ts, event, amount)``.
A throwaway Lockgate (SQLite) then defines, through the Console API as the warehouse tests do,
the connection, an assignment source, a metric source, the two metrics the Pulse bench computes
(``sum`` of purchase amounts and ``count`` of views, both winsorized at P99.9, both with the
CUPED week) and an analysis-only experiment bound to the source, and runs ``load_pulse``: the
Pulse worker runs the pipeline (src/lockgate/domains/warehouse/pipeline.py) in the warehouse
and stores the group sums. The time is the load's (``run_pending``), timed on its second run as
the Pulse bench does. The pipeline winsorizes as Pulse does (non-zero unit values above the
P99.9 of the non-zero unit values of all groups replaced by it, zeros left zero, the CUPED
covariate not capped; docs/warehouse.md §Warehouse-native metrics) but stores no tails: its
cumulative view of the last day holds the cap and the capped sums (``cappedSums``). So the
stored units, crossovers, raw sums, caps and capped sums must equal the hand-written DuckDB
query's (its capped sums derived from its raw sums, tails and cap by
``pulse.engine.capped_sums``, as Pulse derives its own) before any time is printed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url

from bench.pulse import (
    EXPERIMENT,
    GROUPS,
    PROJECT,
    GroupSums,
    Measured,
    peak_rss,
)
from lockgate.app import create_app
from lockgate.domains.projects.service import bootstrap
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.migrations import upgrade
from lockgate.storage.models import PulseResult

DATA_SCHEMA = "whn_data"  # where the team's tables are
STAGING_SCHEMA = "lockgate_staging"
DUCKDB_FILE = "team.duckdb"
# The Pulse bench's metric ids, by the names the warehouse-native metrics are given here.
METRICS = {"Revenue": "revenue::sum", "Views": "view::event_count"}


def _exposures_sql(source: str, time_ms: str) -> str:
    rules = " ".join(f"WHEN '{rule}' THEN '{name}'" for rule, name in GROUPS.items())
    return (
        f"SELECT user_id, {time_ms} AS ts, name AS experiment, CASE rule_id {rules} END AS grp "
        f"FROM {source} WHERE project_id = '{PROJECT}' AND kind = 'config'"
    )


def _events_sql(source: str, time_ms: str) -> str:
    return (
        f"SELECT user_id, {time_ms} AS ts, event_name AS event, value_number AS amount "
        f"FROM {source} WHERE project_id = '{PROJECT}'"
    )


def fill_duckdb(directory: Path, exposures: Path, events: Path) -> Path:
    """The team's DuckDB file, its two tables copied from the Pulse bench's Parquet files."""
    import duckdb

    path = directory / DUCKDB_FILE
    millis = "make_timestamp(time * 1000)"  # microseconds since the epoch, exact
    with duckdb.connect(str(path)) as connection:
        connection.execute(f"CREATE SCHEMA {DATA_SCHEMA}")
        connection.execute(
            f"CREATE TABLE {DATA_SCHEMA}.exposures AS "
            + _exposures_sql(f"read_parquet('{exposures}')", millis)
        )
        connection.execute(
            f"CREATE TABLE {DATA_SCHEMA}.events AS "
            + _events_sql(f"read_parquet('{events}')", millis)
        )
        connection.execute("CHECKPOINT")
    return path


def fill_postgresql(database: Database) -> None:
    """The team's schema in the Pulse bench's PostgreSQL database, its two tables copied from
    the bench's ``exposures`` and ``events`` (timestamps without time zone, UTC)."""
    millis = "TIMESTAMP '1970-01-01' + time * INTERVAL '1 millisecond'"
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {DATA_SCHEMA}")
        connection.exec_driver_sql(
            f"CREATE TABLE {DATA_SCHEMA}.exposures AS " + _exposures_sql("public.exposures", millis)
        )
        connection.exec_driver_sql(
            f"CREATE TABLE {DATA_SCHEMA}.events AS " + _events_sql("public.events", millis)
        )
        connection.exec_driver_sql(
            f"VACUUM (ANALYZE) {DATA_SCHEMA}.exposures, {DATA_SCHEMA}.events"
        )
        connection.exec_driver_sql("CHECKPOINT")


def duckdb_connection(path: Path) -> dict[str, Any]:
    return {"duckdb": {"path": path.name, "stagingSchema": STAGING_SCHEMA}}


def postgresql_connection(database: Database) -> dict[str, Any]:
    url = make_url(database.engine.url)
    return {
        "postgresql": {
            "host": url.host or "127.0.0.1",
            "port": url.port or 5432,
            "database": url.database,
            "username": url.username or "postgres",
            "password": url.password or "unused-under-trust",
            "stagingSchema": STAGING_SCHEMA,
        }
    }


class Lockgate:
    """A throwaway Lockgate (SQLite) whose clock stands at ``now_ms``, driven through the
    Console API in process."""

    def __init__(self, directory: Path, now_ms: int) -> None:
        import httpx
        from anyio.from_thread import start_blocking_portal

        self._stack = start_blocking_portal()
        self.portal = self._stack.__enter__()
        self.settings = Settings(
            data_dir=directory,
            warehouse_files_dir=directory,
            rate_limit_per_10s=0,
            rate_limit_per_15min=0,
        )
        self.database = Database(self.settings)
        upgrade(self.database.engine)
        with self.database.transaction() as session:
            created = bootstrap(session, now_ms)
        assert created is not None
        self.app = create_app(self.settings, clock=ManualClock(now_ms), database=self.database)
        self.headers = {"STATSIG-API-KEY": created.console_key}
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://bench"
        )

    def call(self, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        client, headers = self.client, self.headers

        async def send() -> Any:
            return await client.request(method, url, headers=headers, json=body)

        response = self.portal.call(send)
        assert response.status_code < 300, f"{method} {url}: {response.text}"
        return response.json()

    def close(self) -> None:
        self.portal.call(self.client.aclose)
        self._stack.__exit__(None, None, None)
        self.database.dispose()


def define(lockgate: Lockgate, connection: dict[str, Any], schema: str) -> None:
    """The connection, sources, metrics and the bound experiment."""
    lockgate.call("PATCH", "/console/v1/wh_connections", connection)
    mapping = [{"statsigUnitID": "userID", "column": "user_id"}]
    lockgate.call(
        "POST",
        "/console/v1/experiments/assignment_sources",
        {
            "name": "exposures",
            "sql": f"SELECT * FROM {schema}.exposures",
            "timestampColumn": "ts",
            "experimentIDColumn": "experiment",
            "groupIDColumn": "grp",
            "idTypeMapping": mapping,
        },
    )
    lockgate.call(
        "POST",
        "/console/v1/metrics/metric_source",
        {
            "name": "events",
            "sql": f"SELECT * FROM {schema}.events",
            "timestampColumn": "ts",
            "idTypeMapping": mapping,
        },
    )
    for name, event, definition in (
        ("Revenue", "purchase", {"aggregation": "sum", "valueColumn": "amount"}),
        ("Views", "view", {"aggregation": "count"}),
    ):
        criteria = [{"type": "metadata", "column": "event", "condition": "in", "values": [event]}]
        lockgate.call(
            "POST",
            "/console/v1/metrics",
            {
                "name": name,
                "type": "user_warehouse",
                "warehouseNative": {
                    "metricSourceName": "events",
                    "criteria": criteria,
                    "winsorizationHigh": 0.999,
                    **definition,
                },
            },
        )
    lockgate.call(
        "POST",
        "/console/v1/experiments",
        {
            "name": "whn_bench",
            "idType": "userID",
            "isAnalysisOnly": True,
            "assignmentSourceName": "exposures",
            "assignmentSourceExperimentName": EXPERIMENT,
            "groups": [
                {"name": name, "size": 50, "parameterValues": {}} for name in GROUPS.values()
            ],
            "primaryMetrics": [{"name": name, "type": "user_warehouse"} for name in METRICS],
        },
    )


def _stored_group_sums(database: Database) -> GroupSums:
    """The units, crossovers, raw sums, caps and capped sums of the load's cumulative view of
    its last day (the only winsorized one; the pipeline stores no tails)."""
    with database.transaction(write=False) as session:
        document = session.scalars(
            select(PulseResult.document)
            .where(PulseResult.view == "cumulative")
            .order_by(PulseResult.ds.desc())
            .limit(1)
        ).one()
    sums, caps, capped = {}, {}, {}
    for metric in document["metrics"]:
        assert "sums" in metric, f"{metric['metricID']}: {metric.get('unsupported')}"
        metric_id = METRICS[metric["metricName"]]
        sums[metric_id] = metric["sums"]
        winsorization = metric.get("winsorization") or {}
        assert winsorization.get("lowCap") is None, f"{metric_id}: only a high cap was asked"
        caps[metric_id] = winsorization.get("cap")
        if "cappedSums" in metric:
            capped[metric_id] = metric["cappedSums"]
    return GroupSums(
        document["units"], document["crossoverUnits"], sums, caps, tails=None, capped=capped
    )


def load(lockgate: Lockgate, engine: str, *, turbo: bool = False) -> Measured:
    """One full ``load_pulse`` of the bound experiment, run by the Pulse worker; ``turbo``: in
    turbo mode (the last day's cumulative view alone, docs/warehouse.md §Turbo mode)."""
    with peak_rss() as memory:
        start, cpu = time.perf_counter(), time.process_time()
        lockgate.call(
            "POST",
            "/console/v1/experiments/whn_bench/load_pulse",
            {"refresh": "full", "turboMode": turbo},
        )
        ran = lockgate.app.state.pulse_runner.run_pending()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert ran == 1, ran
    history = lockgate.call("GET", "/console/v1/experiments/whn_bench/pulse_load_history")
    last = history["data"][0]
    assert last["finishedState"] == "success", last
    assert last["turboMode"] is turbo, last
    return Measured(engine, seconds, memory, _stored_group_sums(lockgate.database), cpu_seconds=cpu)


@contextmanager
def bound_experiment(
    directory: Path, now_ms: int, connection: dict[str, Any]
) -> Iterator[Callable[[str, bool], Measured]]:
    """A Lockgate whose project is connected to the warehouse and has the bound experiment;
    answers a function running one load (named by its engine; in turbo mode or not)."""
    lockgate = Lockgate(directory, now_ms)
    try:
        define(lockgate, connection, DATA_SCHEMA)
        yield lambda engine, turbo: load(lockgate, engine, turbo=turbo)
    finally:
        lockgate.close()
