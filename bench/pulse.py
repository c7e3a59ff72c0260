"""Pulse sums at scale: the product's push-down SQL on SQLite and PostgreSQL, against DuckDB.

One deterministic data set (numpy, seeded) is loaded into a throwaway SQLite file database and a
throwaway PostgreSQL database, both built by the project's migrations, and written to Parquet.
Each engine then computes the same group sums: units per group, crossovers, the per-group
sums of a sum metric and a count metric with the CUPED pre-period, and the winsorization Pulse
applies to both (the P99.9 cap of their non-zero unit values and each group's units above it).
SQLite and PostgreSQL run ``pulse.engine.compute_group_sums`` exactly as a Pulse job does; DuckDB
runs one hand-written query over the Parquet files. The same rows are then copied into a DuckDB
file and a PostgreSQL schema, where the Warehouse Native pipeline computes them
(bench/warehouse.py). All the answers must agree before any time is printed. Each engine runs
twice and is timed on its second run (``warm``); the first run's time is printed beside it.

Size: 1,000,000 exposed units and 10 events per unit by default; ``--quick`` or
``LOCKGATE_BENCH_PULSE_UNITS`` makes it smaller. ``LOCKGATE_BENCH_PG_URL`` names the PostgreSQL
server (an admin database URL); an unreachable server is skipped with a notice.

    python -m bench.pulse [--quick | --units N] [--no-postgresql] [--no-warehouse] [--whn-only]

``--no-postgresql --no-warehouse`` times SQLite against DuckDB alone (with SQLite's daily and
incremental figures), the ratio the embedded default is held to (``TARGET_RATIO``).
``--whn-only`` times the Warehouse Native pipeline on DuckDB against the hand-written DuckDB
query alone (no SQLite, no PostgreSQL), the ratio the pipeline is held to
(``WAREHOUSE_TARGET_RATIO``): a standard load (every day's views) and, on the same DuckDB
file, a turbo load (the last day's cumulative view alone, what the hand-written query
computes; docs/warehouse.md §Turbo mode).
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from lockgate.domains.pulse.engine import (
    capped_sums,
    compute_group_sums,
    experiment_assignment,
)
from lockgate.domains.pulse.incremental.kept import StateKey
from lockgate.domains.pulse.incremental.load import load_group_sums
from lockgate.domains.pulse.sql import CUPED_WINDOW_MS
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.migrations import upgrade
from lockgate.storage.models import Metric

UNITS = 1_000_000
QUICK_UNITS = 20_000
EVENTS_PER_UNIT = 10
UNITS_ENV = "LOCKGATE_BENCH_PULSE_UNITS"
PG_URL_ENV = "LOCKGATE_BENCH_PG_URL"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGET_RATIO = 3.0  # the embedded default should stay within this factor of DuckDB
WAREHOUSE_TARGET_RATIO = 2.0  # the WHN pipeline on DuckDB, against the hand-written query
TURBO_ENGINE = "WHN DuckDB turbo"  # the same pipeline in turbo mode
PAIRED_ROUNDS = 3  # turbo and the hand-written query, alternating (``paired``)

PROJECT = "pulsebench"
EXPERIMENT = "pulse_bench"
GROUPS = {"rule_control": "Control", "rule_test": "Test"}
DAY_MS = 86_400_000
T0 = 1_780_000_000_000
END_MS = T0 + 60 * DAY_MS  # after every generated row
CROSSOVER_EVERY = 200  # every 200th unit is also exposed to the other group
NEVER_EXPOSED_SHARE = 0.2  # of event rows, as in docs/statistics.md §Benchmark data
EVENT_NAMES = np.array(["purchase", "view", "click"], dtype=object)
EVENT_WEIGHTS = [0.3, 0.5, 0.2]
SUM_METRIC = {"name": "revenue", "type": "sum"}  # sums purchase values
COUNT_METRIC = {"name": "view", "type": "event_count"}  # an automatic metric: counts views
SUM_FIELDS = ("n", "sx", "sxx", "sxp", "sxpxp", "sxxp", "with_pre")
ENTRY_KEYS = {"metricID", "metricName", "type", "directionality", "role", "ratio", "sums"}
# winsorization: both metrics are capped at P99.9 of their non-zero unit values
# (docs/statistics.md §Winsorization); the cap and each group's units above it are compared across
# engines; cappedSums follow from them and the raw sums.
COMPARED_KEYS = ENTRY_KEYS | {"winsorization", "cappedSums"}
TAIL_FIELDS = ("n", "sx", "sxx", "sxp", "sxxp")
LOAD_CHUNK = 1_000_000

Echo = Callable[[str], None]


def _print(line: str) -> None:
    print(line, flush=True)  # progress must show when stdout is a file or a pipe


@dataclass
class Rows:
    """The generated rows as columns; unit ids index ``unit_names``."""

    unit_names: np.ndarray[Any, Any]  # object array of "u<i>"
    exposure_unit: np.ndarray[Any, Any]
    exposure_rule: np.ndarray[Any, Any]  # object array of rule ids
    exposure_time: np.ndarray[Any, Any]
    event_unit: np.ndarray[Any, Any]
    event_name: np.ndarray[Any, Any]  # indexes EVENT_NAMES
    event_time: np.ndarray[Any, Any]
    event_value: np.ndarray[Any, Any]  # only purchases carry a value; others are NULL

    @property
    def exposures(self) -> int:
        return len(self.exposure_unit)

    @property
    def events(self) -> int:
        return len(self.event_unit)

    def event_chunks(self) -> Iterator[list[tuple[Any, ...]]]:
        """(project_id, event_name, user_id, time, received_time, value_number) tuples."""
        for start in range(0, self.events, LOAD_CHUNK):
            part = slice(start, start + LOAD_CHUNK)
            names = EVENT_NAMES[self.event_name[part]]
            values = self.event_value[part].astype(object)
            values[self.event_name[part] != 0] = None
            times = self.event_time[part].tolist()
            yield list(
                zip(
                    repeat(PROJECT),
                    names.tolist(),
                    self.unit_names[self.event_unit[part]].tolist(),
                    times,
                    times,
                    values.tolist(),
                    strict=False,
                )
            )

    def exposure_rows(self) -> list[tuple[Any, ...]]:
        """(project_id, kind, name, rule_id, user_id, time, received_time) tuples."""
        times = self.exposure_time.tolist()
        return list(
            zip(
                repeat(PROJECT),
                repeat("config"),
                repeat(EXPERIMENT),
                self.exposure_rule.tolist(),
                self.unit_names[self.exposure_unit].tolist(),
                times,
                times,
                strict=False,
            )
        )


EVENT_COLUMNS = ("project_id", "event_name", "user_id", "time", "received_time", "value_number")
EXPOSURE_COLUMNS = ("project_id", "kind", "name", "rule_id", "user_id", "time", "received_time")


def generate(units: int, seed: int = 20240601) -> Rows:
    """Exposures: one per unit (two for crossovers) over 14 days. Events: 10 per exposed unit,
    a fifth of them from never-exposed units, spread from 7 days before the first exposure to
    7 days after the last, so both the post period and the CUPED pre-period are populated."""
    rng = np.random.default_rng(seed)
    pool = int(units / (1 - NEVER_EXPOSED_SHARE))
    unit_names = np.array([f"u{i}" for i in range(pool)], dtype=object)
    rules = np.array(list(GROUPS), dtype=object)
    arm = rng.integers(0, 2, units)
    first = T0 + rng.integers(0, 14 * DAY_MS, units)
    crossed = np.arange(0, units, CROSSOVER_EVERY)
    exposure_unit = np.concatenate([np.arange(units), crossed])
    exposure_rule = rules[np.concatenate([arm, 1 - arm[crossed]])]
    exposure_time = np.concatenate([first, first[crossed] + DAY_MS])
    count = units * EVENTS_PER_UNIT
    return Rows(
        unit_names=unit_names,
        exposure_unit=exposure_unit,
        exposure_rule=exposure_rule,
        exposure_time=exposure_time,
        event_unit=rng.integers(0, pool, count),
        event_name=rng.choice(len(EVENT_NAMES), count, p=EVENT_WEIGHTS).astype(np.int8),
        event_time=T0 - 7 * DAY_MS + rng.integers(0, 28 * DAY_MS, count),
        event_value=np.round(rng.exponential(10.0, count), 2),
    )


# -- peak memory ------------------------------------------------------------------------------


def _status_kb(field_name: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class Memory:
    """Peak RSS of this process during one step, and its growth over the RSS at the start.

    Linux lets a process reset its RSS high-water mark (``/proc/self/clear_refs``), so the peak
    is the step's own. Elsewhere the lifetime peak (``getrusage``) is the only figure, and it is
    reported as such.
    """

    peak_mb: float = 0.0
    growth_mb: float = 0.0
    exact: bool = True


@contextmanager
def peak_rss() -> Iterator[Memory]:
    memory = Memory()
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        before = _status_kb("VmRSS")
    except OSError:
        before = None
    yield memory
    peak = _status_kb("VmHWM") if before is not None else None
    if peak is None or before is None:
        memory.exact = False
        memory.peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return
    memory.peak_mb = peak / 1024
    memory.growth_mb = (peak - before) / 1024


# -- loading ----------------------------------------------------------------------------------


def _indexes(connection: Connection, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the table's secondary indexes."""
    if connection.dialect.name == "postgresql":
        found = connection.execute(
            text(
                "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i"
                " JOIN pg_class c ON c.oid = i.indexrelid"
                " WHERE i.indrelid = CAST(:t AS regclass) AND NOT i.indisprimary"
            ),
            {"t": table},
        )
    else:
        found = connection.execute(
            text(
                "SELECT name, sql FROM sqlite_master"
                " WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"
            ),
            {"t": table},
        )
    return [(str(name), str(ddl)) for name, ddl in found]


@contextmanager
def _indexes_built_after(connection: Connection, tables: tuple[str, ...]) -> Iterator[None]:
    """Drop the migrations' secondary indexes, load, and create them again from their own
    definitions: the schema ends up identical, and one sort per index is much faster than
    updating three random-key B-trees per inserted row."""
    saved = [entry for table in tables for entry in _indexes(connection, table)]
    for name, _ in saved:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    for _, ddl in saved:
        connection.exec_driver_sql(ddl)


def _metric_row() -> Metric:
    document = {
        "id": "revenue::sum",
        "name": "revenue",
        "type": "sum",
        "directionality": "increase",
        "metricEvents": [{"name": "purchase", "type": "value"}],
    }
    return Metric(
        project_id=PROJECT,
        id="revenue::sum",
        name="revenue",
        metric_type="sum",
        created_time=T0,
        last_modified_time=T0,
        document=document,
        tags=[],
    )


def _insert_sql(table: str, columns: tuple[str, ...], marks: str) -> str:
    quoted = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({quoted}) VALUES ({", ".join(repeat(marks, len(columns)))})'


def load_sqlite(database: Database, rows: Rows, echo: Echo) -> None:
    """One transaction, ``executemany`` of ready tuples per million rows (the same driver path
    as ``events.repository.insert_rows``, minus building a dict per row)."""
    start = time.perf_counter()
    with database.transaction() as session:
        session.add(_metric_row())
        connection = session.connection()
        with _indexes_built_after(connection, ("exposures", "events")):
            connection.exec_driver_sql(
                _insert_sql("exposures", EXPOSURE_COLUMNS, "?"), rows.exposure_rows()
            )
            done = 0
            for chunk in rows.event_chunks():
                connection.exec_driver_sql(_insert_sql("events", EVENT_COLUMNS, "?"), chunk)
                done += len(chunk)
                echo(_progress("SQLite", done, rows.events, start))
            echo(f"  SQLite: building indexes ({time.perf_counter() - start:.1f} s so far)")
    with database.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _copy(
    connection: Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """``COPY table (columns) FROM STDIN`` of ``rows`` through psycopg."""
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load_postgresql(database: Database, rows: Rows, echo: Echo) -> None:
    """One transaction, ``COPY ... FROM STDIN`` through psycopg."""
    start = time.perf_counter()
    with database.transaction() as session:
        session.add(_metric_row())
        connection = session.connection()
        # Index builds only (the default 64 MB makes them spill); queries keep the defaults.
        connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")
        with _indexes_built_after(connection, ("exposures", "events")):
            _copy(connection, "exposures", EXPOSURE_COLUMNS, rows.exposure_rows())
            done = 0
            for chunk in rows.event_chunks():
                _copy(connection, "events", EVENT_COLUMNS, chunk)
                done += len(chunk)
                echo(_progress("PostgreSQL", done, rows.events, start))
            echo(f"  PostgreSQL: building indexes ({time.perf_counter() - start:.1f} s so far)")
    # What autovacuum would otherwise start on the fresh 10M rows while the engines are timed
    # (it competes for the second core), done now: the tables are measured at rest.
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM (ANALYZE) exposures, events")
        connection.exec_driver_sql("CHECKPOINT")


def write_parquet(rows: Rows, directory: Path) -> tuple[Path, Path]:
    """The same rows, with the columns the query reads, as Parquet files."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    exposures = pa.table(
        {
            "project_id": pa.array(np.full(rows.exposures, PROJECT, dtype=object)),
            "kind": pa.array(np.full(rows.exposures, "config", dtype=object)),
            "name": pa.array(np.full(rows.exposures, EXPERIMENT, dtype=object)),
            "rule_id": pa.array(rows.exposure_rule),
            "user_id": pa.array(rows.unit_names[rows.exposure_unit]),
            "time": pa.array(rows.exposure_time),
        }
    )
    exposures_path = directory / "exposures.parquet"
    pq.write_table(exposures, exposures_path)
    events_path = directory / "events.parquet"
    schema = pa.schema(
        [
            ("project_id", pa.string()),
            ("event_name", pa.string()),
            ("user_id", pa.string()),
            ("time", pa.int64()),
            ("value_number", pa.float64()),
        ]
    )
    with pq.ParquetWriter(events_path, schema) as writer:
        for start in range(0, rows.events, LOAD_CHUNK):
            part = slice(start, start + LOAD_CHUNK)
            names = rows.event_name[part]
            size = len(names)
            writer.write_table(
                pa.table(
                    {
                        "project_id": pa.array(np.full(size, PROJECT, dtype=object)),
                        "event_name": pa.array(EVENT_NAMES[names]),
                        "user_id": pa.array(rows.unit_names[rows.event_unit[part]]),
                        "time": pa.array(rows.event_time[part]),
                        "value_number": pa.array(rows.event_value[part], mask=names != 0),
                    },
                    schema=schema,
                )
            )
    return exposures_path, events_path


def _progress(engine: str, done: int, total: int, start: float) -> str:
    seconds = time.perf_counter() - start
    return (
        f"  {engine}: {done:,}/{total:,} events loaded ({seconds:.1f} s, {done / seconds:,.0f}/s)"
    )


# -- computing --------------------------------------------------------------------------------


@dataclass
class GroupSums:
    """What every engine must produce: units per group, crossovers, per-metric group sums."""

    units: dict[str, int]
    crossovers: int
    sums: dict[str, dict[str, dict[str, float]]]  # metric id -> group -> field -> value
    caps: dict[str, float | None] = field(default_factory=dict)  # winsorization cap per metric
    # each group's units above the cap; None: not reported (the warehouse pipeline stores none)
    tails: dict[str, dict[str, dict[str, float]]] | None = field(default_factory=dict)
    capped: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # cappedSums


@dataclass
class Measured:
    engine: str
    seconds: float
    memory: Memory
    group_sums: GroupSums
    steps: list[tuple[str, float]] = field(default_factory=list)
    note: str = ""
    cold_seconds: float | None = None  # the first run, before the second (timed) one
    load_average: tuple[float, float, float] | None = None  # os.getloadavg() after the timed run
    # this process's CPU time over the run, every thread's (DuckDB's workers included)
    cpu_seconds: float | None = None
    # the hand-written DuckDB query's time and then its own in rounds run one right after the
    # other (``paired``); None: not measured so
    paired_seconds: list[tuple[float, float]] | None = None


def warm(measure: Callable[[], Measured]) -> Measured:
    """The second of two runs, with the first one's time as ``cold_seconds``.

    This VM's memory reclaimer pages out whatever nobody touched for a minute, the page cache
    included, so a first run reads a part of its files from disk, more for a bigger file (the
    SQLite database is 13 times the Parquet files). Every engine is timed on its second run,
    from the page cache; the first run's time is reported beside it."""
    cold = measure()
    timed = measure()
    timed.cold_seconds = cold.seconds
    timed.load_average = os.getloadavg()
    return timed


def paired(
    timed: Measured,
    measure: Callable[[], Measured],
    baseline: Callable[[], Measured],
    rounds: int = PAIRED_ROUNDS,
) -> Measured:
    """``timed`` with ``paired_seconds``: in each of ``rounds`` rounds the baseline runs and then
    ``measure``, one right after the other, so that what else the machine does in that minute
    weighs on both alike; the round's ratio is the second's time over the first's. On this
    shared VM a run's time moves by 10-20 % from one minute to the next, more than the gap a
    ratio near its target is judged on."""
    pairs = []
    for _ in range(rounds):
        base = baseline().seconds
        pairs.append((base, measure().seconds))
    timed.paired_seconds = pairs
    return timed


SPEC = experiment_assignment(
    {
        "id": EXPERIMENT,
        "idType": "userID",
        "groups": [{"id": r, "name": g} for r, g in GROUPS.items()],
    },
    END_MS,
)
REFS = [("primary", SUM_METRIC), ("primary", COUNT_METRIC)]
LAST_EVENT_DAY_MS = T0 + 20 * DAY_MS  # the generated events end 21 days after T0


def product_group_sums(database: Database) -> Measured:
    """``compute_group_sums`` as a Pulse job runs it, with the time of each of its steps."""
    marks: list[tuple[str, float]] = []
    with peak_rss() as memory:
        start = time.perf_counter()
        result = _compute_group_sums(
            database, lambda _p, message: marks.append((message, time.perf_counter()))
        )
        seconds = time.perf_counter() - start
    steps, previous, label = [], start, "units and crossovers"
    for message, at in [*marks, ("", start + seconds)]:
        steps.append((label, at - previous))
        previous, label = at, message
    sums, caps, tails, capped = {}, {}, {}, {}
    extras = set()
    for metric in result["metrics"]:
        assert "sums" in metric, f"{metric['metricID']}: {metric.get('unsupported')}"
        sums[metric["metricID"]] = metric["sums"]
        winsorization = metric.get("winsorization") or {}
        caps[metric["metricID"]] = winsorization.get("cap")
        tails[metric["metricID"]] = winsorization.get("tails") or {}
        if "cappedSums" in metric:
            capped[metric["metricID"]] = metric["cappedSums"]
        extras |= {key for key in metric if key not in COMPARED_KEYS}
    group_sums = GroupSums(result["units"], result["crossoverUnits"], sums, caps, tails, capped)
    name = "SQLite" if database.is_sqlite else "PostgreSQL"
    # Anything compute_group_sums computes beyond the raw sums (e.g. winsorization) is in its time
    # but not in DuckDB's query; say so rather than hide it.
    note = f"also computed: {', '.join(sorted(extras))}" if extras else ""
    return Measured(name, seconds, memory, group_sums, steps, note)


def _marker(marks: dict[str, float]) -> Callable[[int, str], None]:
    """A progress callback that notes when each step was first reported."""

    def mark(_percent: int, message: str) -> None:
        marks.setdefault(message, time.perf_counter())

    return mark


def daily_views(database: Database, from_ms: int) -> tuple[int, float]:
    """The daily views a load computes from ``from_ms`` on (0: a full reload, every day): how
    many days, and the seconds of that step alone (timed by its progress mark)."""
    marks: dict[str, float] = {}
    result = _compute_group_sums(
        database,
        _marker(marks),
        daily_from_ms=from_ms,
    )
    return len(result["daily"]), time.perf_counter() - marks["daily values"]


def new_rows(units: int, hours: int, seed: int) -> tuple[list[Any], list[Any]]:
    """``hours`` of new rows after the generated ones (a day's worth: a 28th of the events):
    exposures of 1% more units per day (from the never-exposed pool), and events of any
    units."""
    rng = np.random.default_rng(seed)
    pool = int(units / (1 - NEVER_EXPOSED_SHARE))
    day = LAST_EVENT_DAY_MS + DAY_MS + seed % 7 * DAY_MS  # each seed its own day
    share = hours / 24
    new_units = rng.choice(np.arange(units, pool), max(1, int(units / 100 * share)), replace=False)
    rules = np.array(list(GROUPS), dtype=object)[rng.integers(0, 2, len(new_units))]
    times = (day + rng.integers(0, DAY_MS * hours // 24, len(new_units))).tolist()
    exposures = [
        (PROJECT, "config", EXPERIMENT, rule, f"u{unit}", ts, ts)
        for unit, rule, ts in zip(new_units.tolist(), rules.tolist(), times, strict=True)
    ]
    count = int(units * EVENTS_PER_UNIT / 28 * share)
    names = EVENT_NAMES[rng.choice(len(EVENT_NAMES), count, p=EVENT_WEIGHTS)].tolist()
    event_units = rng.integers(0, pool, count).tolist()
    event_times = (day + rng.integers(0, DAY_MS * hours // 24, count)).tolist()
    amounts = np.round(rng.exponential(10.0, count), 2).tolist()
    events = [
        (PROJECT, name, f"u{unit}", ts, ts, amount if name == "purchase" else None)
        for name, unit, ts, amount in zip(names, event_units, event_times, amounts, strict=True)
    ]
    return exposures, events


def _append(database: Database, exposures: list[Any], events: list[Any]) -> None:
    with database.transaction() as session:
        connection = session.connection()
        if database.is_sqlite:
            connection.exec_driver_sql(_insert_sql("exposures", EXPOSURE_COLUMNS, "?"), exposures)
            connection.exec_driver_sql(_insert_sql("events", EVENT_COLUMNS, "?"), events)
            return
        _copy(connection, "exposures", EXPOSURE_COLUMNS, exposures)
        _copy(connection, "events", EVENT_COLUMNS, events)


def incremental_loads(database: Database, units: int) -> str:
    """A load that keeps its per-unit values; then a day of new rows and an incremental load;
    then an hour of new rows and another. Each incremental load is checked against
    ``compute_group_sums`` over every raw row, timed too as its baseline."""
    key = StateKey(PROJECT, "experiment", EXPERIMENT)
    marks: dict[str, float] = {}

    def load(incremental: bool) -> tuple[dict[str, Any], float, float]:
        """The result, its seconds, and the seconds since its last progress mark."""
        marks.clear()
        start = time.perf_counter()
        found = load_group_sums(
            database.engine,
            key,
            SPEC,
            REFS,
            _marker(marks),
            incremental=incremental,
            job_id="bench",
            now_ms=END_MS,
        )
        end = time.perf_counter()
        return found, end - start, end - max(marks.values())

    _, full, keeping = load(incremental=False)
    parts = [f"a full load keeping its per-unit values {full:.2f} s (keeping them {keeping:.2f} s)"]
    for hours, seed in ((24, 1), (1, 2)):
        exposures, events = new_rows(units, hours, seed)
        _append(database, exposures, events)
        found, incremental, _ = load(incremental=True)
        recomputing = next(m for m in marks if m.startswith("recomputing"))
        start = time.perf_counter()
        expected = _compute_group_sums(database, lambda _p, _m: None)
        raw = time.perf_counter() - start
        assert found["units"] == expected["units"]
        for got, want in zip(found["metrics"], expected["metrics"], strict=True):
            for group, sums in want["sums"].items():
                for name, value in sums.items():
                    assert math.isclose(got["sums"][group][name], value, rel_tol=1e-9), name
        parts.append(
            f"then {hours} h of new rows ({len(exposures):,} exposures, {len(events):,} events),"
            f" an incremental load {recomputing.split(' with')[0]} {incremental:.2f} s against"
            f" {raw:.2f} s from every raw row ({raw / incremental:.1f}x; same sums)"
        )
    return "; ".join(parts)


def _compute_group_sums(
    database: Database, progress: Callable[[int, str], None], daily_from_ms: int | None = None
) -> dict[str, Any]:
    with database.transaction(write=False) as session:
        return compute_group_sums(
            session, PROJECT, SPEC, REFS, progress, daily_from_ms=daily_from_ms
        )


def _duckdb_query(exposures: Path, events: Path) -> str:
    group = " ".join(f"WHEN '{rule}' THEN '{name}'" for rule, name in GROUPS.items())
    rules = ", ".join(f"'{rule}'" for rule in GROUPS)
    per_metric = []
    for metric, quantity in (("revenue", "coalesce(e.value_number, 0.0)"), ("view", "1.0")):
        event = "purchase" if metric == "revenue" else "view"
        for period, condition in (("x", "e.time >= a.first_ts"), ("xp", "e.time < a.first_ts")):
            per_metric.append(
                f"coalesce(sum({quantity}) FILTER (WHERE e.event_name = '{event}'"
                f" AND {condition}), 0.0) AS {metric}_{period}"
            )
    sums = []
    for metric in ("revenue", "view"):
        x, xp = f"{metric}_x", f"{metric}_xp"
        sums += [
            f"sum({x}) AS {metric}__sx",
            f"sum({x} * {x}) AS {metric}__sxx",
            f"sum({xp}) AS {metric}__sxp",
            f"sum({xp} * {xp}) AS {metric}__sxpxp",
            f"sum({x} * {xp}) AS {metric}__sxxp",
            f"count(*) FILTER (WHERE {xp} != 0) AS {metric}__with_pre",
        ]
    tails = []
    for metric in ("revenue", "view"):
        x, xp, above = f"{metric}_x", f"{metric}_xp", f"{metric}_x > {metric}_cap"
        tails += [
            f"any_value({metric}_cap) AS {metric}__cap",
            f"count(*) FILTER (WHERE {above}) AS {metric}__tail_n",
            f"coalesce(sum({x}) FILTER (WHERE {above}), 0) AS {metric}__tail_sx",
            f"coalesce(sum({x} * {x}) FILTER (WHERE {above}), 0) AS {metric}__tail_sxx",
            f"coalesce(sum({xp}) FILTER (WHERE {above}), 0) AS {metric}__tail_sxp",
            f"coalesce(sum({x} * {xp}) FILTER (WHERE {above}), 0) AS {metric}__tail_sxxp",
        ]
    return f"""
    WITH per_unit AS (
        SELECT user_id AS unit, min(CASE rule_id {group} END) AS grp,
               min(time) AS first_ts, count(DISTINCT CASE rule_id {group} END) AS groups
        FROM read_parquet('{exposures}')
        WHERE project_id = '{PROJECT}' AND kind = 'config' AND name = '{EXPERIMENT}'
          AND rule_id IN ({rules}) AND user_id IS NOT NULL AND user_id != ''
          AND time < {END_MS}
        GROUP BY user_id
    ),
    assignment AS (SELECT unit, grp, first_ts FROM per_unit WHERE groups = 1),
    unit_values AS (
        SELECT a.grp, {", ".join(per_metric)}
        FROM assignment a
        LEFT JOIN read_parquet('{events}') e
          ON e.user_id = a.unit AND e.project_id = '{PROJECT}'
         AND e.event_name IN ('purchase', 'view') AND e.time >= a.first_ts - {CUPED_WINDOW_MS}
        GROUP BY a.unit, a.grp
    ),
    caps AS (
        SELECT quantile_cont(revenue_x, 0.999) FILTER (WHERE revenue_x != 0) AS revenue_cap,
               quantile_cont(view_x, 0.999) FILTER (WHERE view_x != 0) AS view_cap
        FROM unit_values
    )
    SELECT grp, count(*) AS n, {", ".join(sums)}, {", ".join(tails)},
           (SELECT count(*) FROM per_unit WHERE groups > 1) AS crossovers
    FROM unit_values CROSS JOIN caps GROUP BY grp
    """


def duckdb_group_sums(exposures: Path, events: Path) -> Measured:
    """Both metrics in one pass over the events, as one would write it for DuckDB."""
    import duckdb

    with peak_rss() as memory:
        start, cpu = time.perf_counter(), time.process_time()
        connection = duckdb.connect()
        connection.execute("SET enable_progress_bar = false")  # it would write to stdout
        cursor = connection.execute(_duckdb_query(exposures, events))
        columns = [d[0] for d in cursor.description]
        found = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        connection.close()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    units = {str(row["grp"]): int(row["n"]) for row in found}
    sums: dict[str, dict[str, dict[str, float]]] = {}
    for metric, metric_id in (("revenue", "revenue::sum"), ("view", "view::event_count")):
        sums[metric_id] = {
            str(row["grp"]): {
                "n": float(row["n"]),
                **{key: float(row[f"{metric}__{key}"]) for key in SUM_FIELDS if key != "n"},
            }
            for row in found
        }
    caps: dict[str, float | None] = {}
    tails: dict[str, dict[str, dict[str, float]]] = {}
    for metric, metric_id in (("revenue", "revenue::sum"), ("view", "view::event_count")):
        cap = found[0][f"{metric}__cap"] if found else None
        caps[metric_id] = None if cap is None else float(cap)
        tails[metric_id] = {
            str(row["grp"]): {key: float(row[f"{metric}__tail_{key}"]) for key in TAIL_FIELDS}
            for row in found
            if row[f"{metric}__tail_n"]
        }
    # as Pulse derives its capped sums from the raw sums, the tails and the cap
    capped = {
        metric_id: capped_sums(sums[metric_id], tails[metric_id], cap)
        for metric_id, cap in caps.items()
        if cap is not None
    }
    crossovers = int(found[0]["crossovers"]) if found else 0
    threads = duckdb.connect().execute("SELECT current_setting('threads')").fetchone()
    note = f"{threads[0] if threads else '?'} threads"
    group_sums = GroupSums(units, crossovers, sums, caps, tails, capped)
    return Measured("DuckDB", seconds, memory, group_sums, note=note, cpu_seconds=cpu)


def check_agreement(results: list[Measured], rel_tol: float = 1e-9) -> None:
    """Every engine's group sums equal the first one's (sums within float tolerance)."""
    reference = results[0]
    for other in results[1:]:
        pair = f"{other.engine} vs {reference.engine}"
        assert other.group_sums.units == reference.group_sums.units, (
            f"{pair}: units {other.group_sums.units} != {reference.group_sums.units}"
        )
        assert other.group_sums.crossovers == reference.group_sums.crossovers, f"{pair}: crossovers"
        assert set(other.group_sums.sums) == set(reference.group_sums.sums), f"{pair}: metrics"
        for metric, groups in reference.group_sums.sums.items():
            assert set(other.group_sums.sums[metric]) == set(groups), f"{pair}: {metric} groups"
            for group, values in groups.items():
                for key in SUM_FIELDS:
                    ours, theirs = other.group_sums.sums[metric][group][key], values[key]
                    assert math.isclose(ours, theirs, rel_tol=rel_tol, abs_tol=1e-6), (
                        f"{pair}: {metric} {group} {key}: {ours!r} != {theirs!r}"
                    )
            cap, theirs_cap = (
                other.group_sums.caps.get(metric),
                reference.group_sums.caps.get(metric),
            )
            assert (cap is None) == (theirs_cap is None), f"{pair}: {metric} cap"
            if cap is not None and theirs_cap is not None:
                assert math.isclose(cap, theirs_cap, rel_tol=rel_tol), f"{pair}: {metric} cap"
            assert (metric in other.group_sums.capped) == (metric in reference.group_sums.capped), (
                f"{pair}: {metric} capped sums"
            )
            for group, values in reference.group_sums.capped.get(metric, {}).items():
                for key in SUM_FIELDS:
                    ours, theirs = other.group_sums.capped[metric][group][key], values[key]
                    assert math.isclose(ours, theirs, rel_tol=rel_tol, abs_tol=1e-6), (
                        f"{pair}: {metric} capped {group} {key}: {ours!r} != {theirs!r}"
                    )
            ours_tails, reference_tails = other.group_sums.tails, reference.group_sums.tails
            if ours_tails is None or reference_tails is None:
                continue  # an engine that reports no tails is checked by its capped sums
            tails = reference_tails.get(metric, {})
            assert set(ours_tails.get(metric, {})) == set(tails), f"{pair}: tails"
            for group, values in tails.items():
                for key in TAIL_FIELDS:
                    ours, theirs = ours_tails[metric][group][key], values[key]
                    assert math.isclose(ours, theirs, rel_tol=rel_tol, abs_tol=1e-6), (
                        f"{pair}: {metric} tail {group} {key}: {ours!r} != {theirs!r}"
                    )


# -- the run ----------------------------------------------------------------------------------


def _postgres_admin_url(url: str) -> str | None:
    """The URL if it parses and the server answers, else None."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    try:
        psycopg.connect(
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 5432,
            user=parsed.username or "postgres",
            dbname=parsed.database or "postgres",
            connect_timeout=3,
        ).close()
    except psycopg.OperationalError:
        return None
    return url


@contextmanager
def throwaway_postgresql(admin_url: str, data_dir: Path) -> Iterator[Database]:
    name = f"lockgate_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    database = None
    try:
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        database = Database(Settings(database_url=url, data_dir=data_dir))
        upgrade(database.engine)
        yield database
    finally:
        if database is not None:
            database.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20


def run(
    units: int | None = None,
    *,
    postgres_url: str | None = PG_URL,
    echo: Echo = _print,
    with_warehouse: bool = True,
    whn_only: bool = False,
) -> list[Measured]:
    """Generate, load, compute on every engine, check they agree, print the comparison.

    ``postgres_url`` None skips PostgreSQL; DuckDB is skipped (with a notice) if not installed.
    ``with_warehouse`` also runs the Warehouse Native pipeline on the same rows copied into a
    DuckDB file and a PostgreSQL schema (bench/warehouse.py); it needs DuckDB.
    ``whn_only`` runs the hand-written DuckDB query and the pipeline on DuckDB alone.
    """
    if units is None:
        units = int(os.environ.get(UNITS_ENV) or UNITS)
    try:
        import duckdb  # noqa: F401
        import pyarrow  # noqa: F401

        has_duckdb = True
    except ImportError:
        has_duckdb = False
    admin_url = _postgres_admin_url(postgres_url) if postgres_url else None
    started = time.perf_counter()
    rows = generate(units)
    rows_events = rows.events
    echo(
        f"Pulse sums: {units:,} exposed units ({rows.exposures:,} exposures,"
        f" {len(range(0, units, CROSSOVER_EVERY)):,} crossovers), {rows.events:,} events;"
        f" 2 groups; revenue::sum and view::event_count, both with the CUPED pre-period"
    )
    echo(f"  generated in {time.perf_counter() - started:.1f} s (numpy, seeded)")
    results: list[Measured] = []
    notices: list[str] = []
    if whn_only:
        return _whn_only(rows, units, echo, started)
    with tempfile.TemporaryDirectory(prefix="lockgate-pulse-bench-") as tmp:
        directory = Path(tmp)
        sqlite = Database(Settings(data_dir=directory / "sqlite"))
        upgrade(sqlite.engine)
        start = time.perf_counter()
        load_sqlite(sqlite, rows, echo)
        sqlite_db = directory / "sqlite" / "lockgate.db"
        echo(f"  SQLite loaded in {time.perf_counter() - start:.1f} s ({_mb(sqlite_db):,.0f} MB)")
        paths = None
        if has_duckdb:
            start = time.perf_counter()
            paths = write_parquet(rows, directory)
            sizes = " + ".join(f"{p.stat().st_size / 2**20:,.0f} MB" for p in paths)
            echo(f"  Parquet written in {time.perf_counter() - start:.1f} s ({sizes})")
        else:
            notices.append("DuckDB skipped: install the bench extras (pip install -e '.[bench]')")
        # The in-process engines are timed before PostgreSQL is loaded, so that server's
        # background work after a bulk load (checkpoints, autovacuum) cannot take their core.
        gc.collect()
        echo("  computing on DuckDB and SQLite ...")
        if paths is not None:
            results.append(warm(lambda: duckdb_group_sums(*paths)))
        results.append(warm(lambda: product_group_sums(sqlite)))
        pipelines: list[Measured] = []
        if paths is not None and with_warehouse:
            pipelines += _warehouse_duckdb(directory / "whn-duckdb", paths, echo)
        dailies = [("SQLite", sqlite)]
        with _postgresql_if_reachable(admin_url, directory) as postgres:
            if postgres is not None:
                start = time.perf_counter()
                load_postgresql(postgres, rows, echo)
                echo(f"  PostgreSQL loaded in {time.perf_counter() - start:.1f} s (COPY)")
                del rows
                gc.collect()
                echo("  computing on PostgreSQL ...")
                results.append(warm(lambda: product_group_sums(postgres)))
                dailies.append(("PostgreSQL", postgres))
                if paths is not None and with_warehouse:
                    pipelines.append(
                        _warehouse_postgresql(directory / "whn-postgresql", postgres, echo)
                    )
            elif postgres_url:
                notices.append(f"PostgreSQL skipped: no server answers at {postgres_url}")
            else:
                notices.append("PostgreSQL skipped (not requested)")
            for engine, database in dailies:
                days, full = daily_views(database, 0)
                _, last = daily_views(database, LAST_EVENT_DAY_MS)
                notices.append(
                    f"daily views on {engine}: a full reload's {days} days {full:.2f} s;"
                    f" an incremental load's last day {last:.2f} s (besides the cumulative view)"
                )
                notices.append(f"incremental on {engine}: {incremental_loads(database, units)}")
        sqlite.dispose()
    check_agreement(results + pipelines)
    _report(results, notices, echo)
    if pipelines:
        _report_pipelines(results[0], pipelines, units, rows_events, echo)
    echo(f"  total bench time {time.perf_counter() - started:.0f} s")
    return results


def _whn_only(rows: Rows, units: int, echo: Echo, started: float) -> list[Measured]:
    """The hand-written DuckDB query and the Warehouse Native pipeline on DuckDB, alone."""
    with tempfile.TemporaryDirectory(prefix="lockgate-pulse-bench-") as tmp:
        directory = Path(tmp)
        paths = write_parquet(rows, directory)
        gc.collect()
        duck = warm(lambda: duckdb_group_sums(*paths))
        pipelines = _warehouse_duckdb(directory / "whn-duckdb", paths, echo)
    check_agreement([duck, *pipelines])
    _report_pipelines(duck, pipelines, units, rows.events, echo)
    echo(f"  total bench time {time.perf_counter() - started:.0f} s")
    return [duck]


def _warehouse_duckdb(directory: Path, paths: tuple[Path, Path], echo: Echo) -> list[Measured]:
    """The Warehouse Native pipeline on a DuckDB file holding the Parquet files' rows: a
    standard load (every day's views) and a turbo one (the last day's cumulative view alone,
    what the hand-written query computes)."""
    from bench import warehouse  # imports this module

    directory.mkdir()
    start = time.perf_counter()
    path = warehouse.fill_duckdb(directory, *paths)
    echo(
        f"  WHN DuckDB warehouse filled in {time.perf_counter() - start:.1f} s"
        f" ({path.stat().st_size / 2**20:,.0f} MB; CREATE TABLE AS from the Parquet files)"
    )
    echo("  computing with the Warehouse Native pipeline on DuckDB ...")
    with warehouse.bound_experiment(directory, END_MS, warehouse.duckdb_connection(path)) as load:
        standard = warm(lambda: load("WHN DuckDB", False))
        turbo = warm(lambda: load(TURBO_ENGINE, True))
        paired(turbo, lambda: load(TURBO_ENGINE, True), lambda: duckdb_group_sums(*paths))
    return [standard, turbo]


def _warehouse_postgresql(directory: Path, postgres: Database, echo: Echo) -> Measured:
    """The Warehouse Native pipeline on a schema of the bench's PostgreSQL database."""
    from bench import warehouse  # imports this module

    directory.mkdir()
    start = time.perf_counter()
    warehouse.fill_postgresql(postgres)
    echo(
        f"  WHN PostgreSQL warehouse filled in {time.perf_counter() - start:.1f} s"
        " (CREATE TABLE AS from the bench's tables, then VACUUM ANALYZE)"
    )
    echo("  computing with the Warehouse Native pipeline on PostgreSQL ...")
    connection = warehouse.postgresql_connection(postgres)
    with warehouse.bound_experiment(directory, END_MS, connection) as load:
        return warm(lambda: load("WHN PostgreSQL", False))


def _load(measured: Measured) -> str:
    if measured.load_average is None:
        return "-"
    return " ".join(f"{value:.2f}" for value in measured.load_average)


def _cpu(result: Measured, duck: Measured) -> str:
    if result.cpu_seconds is None or not duck.cpu_seconds:
        return f"{'-':>8s} {'-':>10s}"
    return f"{result.cpu_seconds:7.2f}s {result.cpu_seconds / duck.cpu_seconds:9.1f}x"


def _report_pipelines(
    duck: Measured, pipelines: list[Measured], units: int, events: int, echo: Echo
) -> None:
    assert duck.engine == "DuckDB"
    echo(
        f"  Warehouse Native pipeline, load_pulse of a bound experiment ({units:,} units,"
        f" {events:,} events in the warehouse; the same two metrics, CUPED and winsorization),"
        " against the hand-written DuckDB query above"
    )
    echo(
        f"  {'engine':34s} {'time':>9s} {'vs DuckDB':>10s} {'CPU':>8s} {'vs DuckDB':>10s}"
        f" {'1st run':>8s}   load average (1, 5, 15 min) after the timed run"
    )
    for result in [duck, *pipelines]:
        name = "hand-written DuckDB query" if result is duck else result.engine + " pipeline"
        cold = f"{result.cold_seconds:7.2f}s" if result.cold_seconds is not None else "      -"
        echo(
            f"  {name:34s} {result.seconds:8.2f}s {result.seconds / duck.seconds:9.1f}x"
            f" {_cpu(result, duck)} {cold}   {_load(result)}"
        )
    echo(
        "  CPU: this process's CPU time over the timed run, every thread's (DuckDB runs each"
        " statement on all its threads, so CPU above the time means it used more than one"
        " core; PostgreSQL's server processes are not counted)"
    )
    engines = ", ".join(r.engine for r in pipelines)
    echo(
        f"  same units, crossovers, per-group sums, winsorization caps and capped sums as the"
        f" hand-written query on: {engines} (rel. tolerance 1e-9; the pipeline stores no tails)"
    )
    computes = {
        "WHN DuckDB": "every earlier day's cumulative view, the daily and rolling views",
        TURBO_ENGINE: "the last day's cumulative view alone, as the query (turbo mode)",
    }
    for engine, what in computes.items():
        on_duckdb = next((r for r in pipelines if r.engine == engine), None)
        if on_duckdb is None:
            continue
        factor = on_duckdb.seconds / duck.seconds
        cpu = ""
        if on_duckdb.cpu_seconds is not None and duck.cpu_seconds:
            cpu = f", CPU {on_duckdb.cpu_seconds / duck.cpu_seconds:.1f}x"
        judged = f"time {factor:.1f}x{cpu}"
        if on_duckdb.paired_seconds:
            pairs = on_duckdb.paired_seconds
            factor = statistics.median(mine / query for query, mine in pairs)
            rounds = ", ".join(
                f"{mine / query:.2f}x = {mine:.2f} / {query:.2f} s" for query, mine in pairs
            )
            judged = (
                f"median {factor:.2f}x over {len(pairs)} rounds each right after the query"
                f" ({rounds}); the timed run above: {judged}"
            )
        verdict = "yes" if factor <= WAREHOUSE_TARGET_RATIO else "NO"
        echo(
            f"  {engine} pipeline within {WAREHOUSE_TARGET_RATIO:.0f}x of the hand-written"
            f" query: {verdict} ({judged}; the query reads Parquet, the"
            " pipeline DuckDB tables; the load's time includes the job, its staging tables,"
            f" {what}, and storing them)"
        )


@contextmanager
def _postgresql_if_reachable(admin_url: str | None, data_dir: Path) -> Iterator[Database | None]:
    if admin_url is None:
        yield None
        return
    with throwaway_postgresql(admin_url, data_dir) as database:
        yield database


def _report(results: list[Measured], notices: list[str], echo: Echo) -> None:
    duck = next((r for r in results if r.engine == "DuckDB"), None)
    echo(
        f"  {'engine':34s} {'time':>9s} {'vs DuckDB':>10s} {'1st run':>8s} {'vs DuckDB':>10s}"
        "   peak RSS of this process"
    )
    for result in results:
        label = {
            "DuckDB": f"DuckDB over Parquet ({result.note})",
            "SQLite": "SQLite, pulse.engine.compute_group_sums",
            "PostgreSQL": "PostgreSQL, compute_group_sums",
        }[result.engine]
        ratio = f"{result.seconds / duck.seconds:9.1f}x" if duck else f"{'-':>10s}"
        cold = result.cold_seconds
        first = f"{cold:7.2f}s" if cold is not None else f"{'-':>8s}"
        cold_ratio = (
            f"{cold / duck.cold_seconds:9.1f}x"
            if duck and cold is not None and duck.cold_seconds
            else f"{'-':>10s}"
        )
        memory = result.memory
        if not memory.exact:
            rss = f"lifetime peak {memory.peak_mb:,.0f} MB (no per-step figure on this OS)"
        elif result.engine == "PostgreSQL":
            rss = f"client {memory.peak_mb:,.0f} MB (+{memory.growth_mb:,.0f}); server not measured"
        else:
            rss = f"{memory.peak_mb:,.0f} MB (+{memory.growth_mb:,.0f} MB during the step)"
        echo(
            f"  {label:34s} {result.seconds:8.2f}s {ratio} {first} {cold_ratio}   {rss};"
            f" load average {_load(result)}"
        )
        if result.steps:
            steps = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in result.steps)
            echo(f"  {'':34s} steps: {steps}")
        if result.note and result.engine != "DuckDB":
            echo(f"  {'':34s} {result.note} (not in the DuckDB query)")
    sqlite = next(r for r in results if r.engine == "SQLite")
    if duck is not None:
        factor = sqlite.seconds / duck.seconds
        verdict = "yes" if factor <= TARGET_RATIO else "NO"
        echo(
            f"  SQLite (embedded default) within {TARGET_RATIO:.0f}x of DuckDB: {verdict}"
            f" ({factor:.2f}x, target <= {TARGET_RATIO:.0f}x; both timed on their second run, from"
            " the OS page cache, and the ratio is only meaningful within one run; the first runs,"
            " which read what the VM had paged out, are in the 1st-run columns)"
        )
    engines = ", ".join(r.engine for r in results)
    echo(
        f"  same units, crossovers, per-group sums, winsorization caps, tails and capped sums on:"
        f" {engines} (rel. tolerance 1e-9)"
    )
    echo(
        "  peak RSS: VmHWM of this process during the step, reset before it; it includes"
        " in-process engines (SQLite, DuckDB) but not the OS page cache; PostgreSQL computes"
        " in its server processes, whose memory is not measured here"
    )
    for notice in notices:
        echo(f"  {notice}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pulse",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help=f"{QUICK_UNITS:,} units")
    size.add_argument("--units", type=int, help=f"exposed units (default {UNITS:,})")
    parser.add_argument(
        "--no-postgresql", action="store_true", help="skip PostgreSQL (and its WHN pipeline)"
    )
    parser.add_argument(
        "--no-warehouse", action="store_true", help="skip the Warehouse Native pipelines"
    )
    parser.add_argument(
        "--whn-only",
        action="store_true",
        help="only the Warehouse Native pipeline on DuckDB and the hand-written DuckDB query",
    )
    args = parser.parse_args(argv)
    if args.whn_only and args.no_warehouse:
        parser.error("--whn-only and --no-warehouse exclude each other")
    units = QUICK_UNITS if args.quick else args.units
    postgres_url = None if args.no_postgresql else os.environ.get(PG_URL_ENV) or PG_URL
    run(
        units,
        postgres_url=postgres_url,
        with_warehouse=not args.no_warehouse,
        whn_only=args.whn_only,
    )


if __name__ == "__main__":
    main()
