"""Running an ingestion: for each day and source, read that day's rows from the warehouse,
map them to events, and replace what earlier loads of that (source, day) wrote, in one
transaction. A day whose rows are unchanged is not rewritten; a day that fails leaves what
was loaded before. A scheduled run first compares each day's fingerprint in the warehouse
(row count and checksum) with the one of its last load, and reloads only the days that
changed (docs/warehouse.md §Ingestions)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import orjson
from sqlalchemy import insert

from lockgate.domains.events import repository as events_repository
from lockgate.domains.ingestions import connections, repository
from lockgate.domains.ingestions.connections import Keys
from lockgate.domains.ingestions.rows import BadRow, Source, day_bounds_s, digest, event_rows
from lockgate.domains.ingestions.runs import (
    COMPLETE,
    ENQUEUED,
    FAILED,
    STARTED,
    iso,
    schedule_due,
)
from lockgate.domains.ingestions.service import DEFAULT_HOUR_PST, mapped_columns
from lockgate.domains.warehouse.adapters import Warehouse, WarehouseError
from lockgate.domains.warehouse.service import scrub
from lockgate.errors import LockgateError
from lockgate.kit.clock import Clock
from lockgate.kit.db import Database
from lockgate.kit.secretbox import SecretBoxError
from lockgate.storage.models import CustomEvent, IngestionCount, IngestionRun, IngestionStatus

logger = logging.getLogger(__name__)

MAX_ROWS_PER_DAY: Final = 1_000_000
SCHEDULE_EVERY_MS: Final = 60_000
# How many days before a scheduled run's day it re-checks, unless the settings say otherwise.
DEFAULT_RECHECK_DAYS: Final = 3
PARTIAL: Final = "partial_failure"
WRITE_ERROR: Final = {
    "Events": "INTERNAL_WRITE_ERROR_EVENTS",
    "Metrics": "INTERNAL_WRITE_ERROR_METRICS",
}


@dataclass(frozen=True)
class Loaded:
    status: str
    message: str
    rows: int
    metrics: int | None = None


def select_day(warehouse: Warehouse, source: Source, ds: str) -> str:
    """The source's query restricted to one day (UTC), selecting the mapped columns."""
    quote = warehouse.dialect.quote
    wanted = list(dict.fromkeys(mapped_columns(source.mapping)))
    columns = ", ".join(f"q.{quote(c)}" for c in wanted)
    if source.dataset == "Events":
        start, end = day_bounds_s(ds)
        ts = f"q.{quote(source.mapping['timestamp'])}"
        where = f"{ts} >= {start} AND {ts} < {end}"
    else:
        day = warehouse.dialect.date_literal(dt.date.fromisoformat(ds))
        dateid = "q." + quote(source.mapping["dateid"])
        where = f"{warehouse.dialect.days_between(dateid, day)} = 0"
    return f"SELECT {columns} FROM ({source.query}) AS q WHERE {where}"


def select_fingerprint(warehouse: Warehouse, source: Source, ds: str) -> str:
    """One row: the day's row count and a checksum of its mapped columns, computed in the
    warehouse, so that a re-check downloads no rows."""
    quote = warehouse.dialect.quote
    columns = [f"d.{quote(c)}" for c in dict.fromkeys(mapped_columns(source.mapping))]
    checksum = warehouse.dialect.row_checksum(columns)
    return (
        f"SELECT COUNT(*) AS lockgate_rows, {checksum} AS lockgate_checksum "
        f"FROM ({select_day(warehouse, source, ds)}) AS d"
    )


def definition(source: Source) -> str:
    """A short hash of what the source reads and how it maps it: a changed definition makes
    every day's fingerprint differ from its last load's."""
    text = orjson.dumps(
        {"query": source.query, "mapping": source.mapping}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(text).hexdigest()[:16]


@dataclass(frozen=True)
class Fingerprint:
    rows: int
    text: str


class IngestionRunner:
    """Runs queued ingestion runs, one at a time, each day and source in its own transaction
    so that progress shows through the Console API while it runs."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        keys: Callable[[], Keys],
        recheck_days: int = DEFAULT_RECHECK_DAYS,
    ) -> None:
        self._database = database
        self._clock = clock
        self._keys = keys
        self._recheck_days = recheck_days
        self._last_schedule_ms: int | None = None

    def run_pending(self) -> int:
        """Queue the daily runs that are due (at most once a minute), then run every queued
        run; returns how many ran."""
        now = self._clock.now_ms()
        if self._last_schedule_ms is None or now - self._last_schedule_ms >= SCHEDULE_EVERY_MS:
            self._last_schedule_ms = now
            with self._database.transaction(write=True) as session:
                schedule_due(session, now, DEFAULT_HOUR_PST, self._recheck_days)
        with self._database.transaction(write=False) as session:
            queued = repository.queued_run_ids(session)
        done = 0
        for run_id in queued:
            if self.run(run_id):
                done += 1
        return done

    def run(self, run_id: str) -> bool:
        """Run one queued run; False when another worker took it first."""
        with self._database.transaction(write=True) as session:
            # Locked, so that of two workers reading the queue one runs it (PostgreSQL; SQLite
            # has one writer anyway).
            run = session.get(IngestionRun, run_id, with_for_update=True)
            if run is None or run.status != ENQUEUED:
                return False
            self._set_status(run, STARTED)
            days, source_ids = list(run.date_stamps), list(run.source_ids)
            found = repository.sources_by_id(session, source_ids)
            sources = {
                sid: Source(
                    s.id,
                    s.project_id,
                    s.name,
                    s.type,
                    s.dataset,
                    s.query,
                    dict(s.column_mapping),
                    s.path,
                )
                for sid, s in found.items()
            }
            project_id = run.project_id
            # A scheduled run reloads only the days whose fingerprint changed; a backfill
            # downloads every day it names.
            recheck = run.trigger == "scheduled"
        outcomes: list[bool] = []
        for ds in days:
            for sid in source_ids:
                source = sources.get(sid)
                if source is None:
                    self._status(
                        run_id,
                        project_id,
                        sid,
                        "(deleted)",
                        "",
                        "",
                        ds,
                        "SETUP_ERROR",
                        "the source was deleted before its day was loaded",
                        error="source deleted",
                    )
                    outcomes.append(False)
                    continue
                outcomes.append(self.load_day(run_id, source, ds, recheck=recheck))
        final = COMPLETE if all(outcomes) else FAILED if not any(outcomes) else PARTIAL
        with self._database.transaction(write=True) as session:
            run = session.get(IngestionRun, run_id)
            if run is not None:
                self._set_status(run, final)
        return True

    def _set_status(self, run: IngestionRun, status: str) -> None:
        now = self._clock.now_ms()
        run.status, run.updated_time = status, now
        run.history = [*run.history, [now, status]]

    def _status(
        self,
        run_id: str,
        project_id: str,
        source_id: str,
        source_name: str,
        source_type: str,
        dataset: str,
        ds: str,
        status: str,
        message: str,
        *,
        error: str | None = None,
        rows: int | None = None,
        metrics: int | None = None,
    ) -> None:
        now = self._clock.now_ms()
        row = IngestionStatus(
            project_id=project_id,
            run_id=run_id,
            source_id=source_id,
            source_name=source_name,
            type=source_type,
            dataset=dataset,
            ds=ds,
            status=status,
            message=message,
            error_message=error,
            row_count=rows,
            metric_count=metrics,
            time=now,
        )
        with self._database.transaction(write=True) as own:
            own.add(row)
            run = own.get(IngestionRun, run_id)
            if run is not None:
                run.updated_time = now

    def load_day(self, run_id: str, source: Source, ds: str, *, recheck: bool = False) -> bool:
        """Load one (source, day); True when it succeeded (with or without rows). With
        ``recheck``, a day whose fingerprint equals its last load's is left as it is."""

        def status(code: str, message: str, **extra: Any) -> None:
            self._status(
                run_id,
                source.project_id,
                source.id,
                source.name,
                source.type,
                source.dataset,
                ds,
                code,
                message,
                **extra,
            )

        status("IMPORT_STARTED", f"{source.dataset} ingestion of {ds} started")
        try:
            with self._database.transaction(write=False) as session:
                keys = self._keys()
                warehouse = connections.open_for(session, source.project_id, source.type, keys)
                secrets = connections.secret_values(session, source.project_id, source.type, keys)
            if source.path is not None:
                query = connections.parquet_query(keys.files_dir, source.path)
                source = dataclasses.replace(source, query=query)
        except (LockgateError, SecretBoxError) as exc:
            status(
                "CONNECTION_CONFIG_ERROR",
                "the source's connection cannot be opened",
                error=exc.message
                if isinstance(exc, LockgateError)
                else "the credentials cannot be opened",
            )
            return False
        try:
            warehouse.connect()
        except WarehouseError as exc:
            error = scrub(str(exc), secrets)
            status("CONNECTION_ERROR", "the warehouse could not be reached", error=error)
            return False
        key = f"{source.id}/{ds}"
        try:
            try:
                fingerprint = self._fingerprint(warehouse, source, ds)
                if recheck and self._unchanged(source, ds, key, fingerprint, status):
                    return True
                result = warehouse.fetch(
                    select_day(warehouse, source, ds), max_rows=MAX_ROWS_PER_DAY
                )
            except LockgateError as exc:  # a column name the dialect refuses
                status(
                    "QUERY_CONSTRUCTION_ERROR",
                    "the day's query could not be built",
                    error=exc.message,
                )
                return False
            except WarehouseError as exc:
                error = scrub(str(exc), secrets)
                status("QUERY_ERROR", "the source's query failed in the warehouse", error=error)
                return False
        finally:
            warehouse.close()
        status(
            "DOWNLOAD_COMPLETED",
            f"{len(result.rows)} rows read from the warehouse",
            rows=len(result.rows),
        )
        try:
            events = event_rows(source, ds, result.columns, result.rows, key, self._clock.now_ms())
        except BadRow as exc:
            status(
                WRITE_ERROR[source.dataset],
                "the day's rows could not be loaded; earlier loads of the day are kept",
                error=str(exc),
            )
            logger.warning("ingestion %s of %s: %s", source.name, ds, exc)
            return False
        loaded = self._replace_day(source, ds, key, events, fingerprint)
        status(loaded.status, loaded.message, rows=loaded.rows, metrics=loaded.metrics)
        return True

    def _fingerprint(self, warehouse: Warehouse, source: Source, ds: str) -> Fingerprint:
        found = warehouse.fetch(select_fingerprint(warehouse, source, ds), max_rows=1)
        ((rows, checksum),) = found.rows
        shown = "" if checksum is None else str(checksum)
        return Fingerprint(int(rows), f"{definition(source)}:{int(rows)}:{shown}")

    def _unchanged(
        self,
        source: Source,
        ds: str,
        key: str,
        fingerprint: Fingerprint,
        status: Callable[..., None],
    ) -> bool:
        """Whether a re-checked day is as its last load left it (in the warehouse and in
        the event table); reports the outcome either way."""
        with self._database.transaction(write=False) as session:
            last = repository.loaded_day(session, source.project_id, source.id, ds)
            held = sum(repository.count_loaded_events(session, source.project_id, key).values())
        if last is None:
            return False
        if last.fingerprint == fingerprint.text and held == last.row_count:
            status(
                "IMPORT_SUCCESSFUL",
                f"{ds} re-checked: unchanged since its load at {iso(last.loaded_time)}; "
                "not reloaded",
                rows=last.row_count,
            )
            return True
        status(
            "IMPORT_RESCHEDULED",
            f"{ds} re-checked: changed since its last load ({last.row_count} rows then, "
            f"{fingerprint.rows} now); reloading the day",
            rows=fingerprint.rows,
        )
        return False

    def _replace_day(
        self,
        source: Source,
        ds: str,
        key: str,
        events: list[dict[str, Any]],
        fingerprint: Fingerprint,
    ) -> Loaded:
        digested = digest(events)
        names = Counter(e["event_name"] for e in events)
        metrics = len(names) if source.dataset == "Metrics" else None
        with self._database.transaction(write=True) as session:
            before = repository.day_counts(session, source.project_id, source.id, ds)
            held = repository.count_loaded_events(session, source.project_id, key)
            repository.set_loaded_day(
                session,
                source.project_id,
                source.id,
                ds,
                fingerprint.text,
                len(events),
                self._clock.now_ms(),
            )
            if before and all(c.digest == digested for c in before) and held == dict(names):
                return Loaded(
                    "IMPORT_SUCCESSFUL",
                    f"{ds} unchanged since its last load; nothing rewritten",
                    len(events),
                    metrics,
                )
            # Ingested rows take sequence numbers in commit order, as moved SDK rows do.
            events_repository.lock_moves(session.connection())
            repository.delete_loaded_events(session, source.project_id, key)
            if events:
                session.execute(insert(CustomEvent), events)
            now = self._clock.now_ms()
            repository.replace_day_counts(
                session,
                source.project_id,
                source.id,
                ds,
                [
                    IngestionCount(
                        project_id=source.project_id,
                        source_id=source.id,
                        ds=ds,
                        event_name=name,
                        source_name=source.name,
                        internal_count=count,
                        external_count=count,
                        digest=digested,
                        updated_time=now,
                    )
                    for name, count in names.items()
                ],
            )
        if not events:
            return Loaded("LOADED_EMPTY_DATA", f"the source returned no rows for {ds}", 0, metrics)
        return Loaded(
            "IMPORT_SUCCESSFUL", f"{len(events)} rows of {ds} loaded", len(events), metrics
        )
