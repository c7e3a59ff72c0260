"""Running an ingestion: for each day and source, read that day's rows from the warehouse,
map them to events, and replace what earlier loads of that (source, day) wrote, in one
transaction. A day whose rows are unchanged is not rewritten; a day that fails leaves what
was loaded before (docs/warehouse.md §Ingestions)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson
from sqlalchemy import insert
from sqlalchemy.orm import Session

from lockgate.domains.events import repository as events_repository
from lockgate.domains.ingestions import connections, repository
from lockgate.domains.ingestions.connections import Keys
from lockgate.domains.ingestions.runs import COMPLETE, ENQUEUED, FAILED, STARTED, schedule_due
from lockgate.domains.ingestions.service import DEFAULT_HOUR_PST, mapped_columns
from lockgate.domains.warehouse.adapters import Warehouse, WarehouseError
from lockgate.errors import LockgateError
from lockgate.kit.clock import Clock
from lockgate.kit.db import Database
from lockgate.kit.secretbox import SecretBoxError
from lockgate.storage.models import CustomEvent, IngestionCount, IngestionRun, IngestionStatus

logger = logging.getLogger(__name__)

MAX_ROWS_PER_DAY: Final = 1_000_000
SCHEDULE_EVERY_MS: Final = 60_000
MAX_NAME: Final = 128
MAX_TEXT: Final = 2000
PARTIAL: Final = "partial_failure"
# A unit id type as the SDKs spell it -> the event column that holds it.
USER_ID_TYPES: Final = frozenset({"userID", "user_id", "userid"})
STABLE_ID_TYPES: Final = frozenset({"stableID", "stable_id", "stableid"})
WRITE_ERROR: Final = {
    "Events": "INTERNAL_WRITE_ERROR_EVENTS",
    "Metrics": "INTERNAL_WRITE_ERROR_METRICS",
}


class BadRow(Exception):
    """A warehouse row that cannot become an event; the message names the row and column."""


@dataclass(frozen=True)
class Source:
    """What a load needs of a source, read once so that no session is held while the
    warehouse works."""

    id: str
    project_id: str
    name: str
    type: str
    dataset: str
    query: str
    mapping: Mapping[str, Any]


@dataclass(frozen=True)
class Loaded:
    status: str
    message: str
    rows: int
    metrics: int | None = None


def day_bounds_s(ds: str) -> tuple[int, int]:
    start = dt.datetime.fromisoformat(ds).replace(tzinfo=dt.UTC)
    return int(start.timestamp()), int(start.timestamp()) + 86_400


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


def _text(value: Any, row: int, column: str, limit: int = MAX_TEXT) -> str:
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        raise BadRow(f"row {row}: {column} contains a NUL character")
    return text[:limit]


def _number(value: Any, row: int, column: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadRow(f"row {row}: {column} is not a number ({str(value)[:40]!r})") from None
    if not math.isfinite(number):
        raise BadRow(f"row {row}: {column} is not a finite number")
    return number


def _place_id(units: dict[str, Any], unit_type: str, value: Any, row: int, column: str) -> None:
    if value is None or value == "":
        return
    text = _text(value, row, column, 512)
    if unit_type in USER_ID_TYPES:
        units.setdefault("user_id", text)
    elif unit_type in STABLE_ID_TYPES:
        units.setdefault("stable_id", text)
        units["custom"].setdefault("stableID", text)
    else:
        units["custom"].setdefault(unit_type, text)


def _event(
    project_id: str, key: str, now_ms: int, name: Any, time_ms: int, units: dict[str, Any], row: int
) -> dict[str, Any]:
    if name is None or name == "":
        raise BadRow(f"row {row}: the event or metric name is empty")
    event_name = _text(name, row, "name")
    if len(event_name) >= MAX_NAME:
        raise BadRow(f"row {row}: the name {event_name[:40]!r}... is {MAX_NAME} characters or more")
    if units.get("user_id") is None and units.get("stable_id") is None and not units["custom"]:
        raise BadRow(f"row {row}: no unit id")
    user: dict[str, Any] = {}
    if units.get("user_id") is not None:
        user["userID"] = units["user_id"]
    if units["custom"]:
        user["customIDs"] = dict(units["custom"])
    return {
        "project_id": project_id,
        "event_name": event_name,
        "value_text": None,
        "value_number": None,
        "user_id": units.get("user_id"),
        "stable_id": units.get("stable_id"),
        "custom_ids": dict(units["custom"]) or None,
        "time": time_ms,
        "received_time": now_ms,
        "event_metadata": None,
        "user": user,
        "sdk_type": "ingestion",
        "ingestion": key,
    }


def event_rows(
    source: Source,
    ds: str,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    key: str,
    now_ms: int,
) -> list[dict[str, Any]]:
    """The warehouse rows of one day as ``events`` rows; a row that cannot become one raises
    ``BadRow`` and nothing of the day is written."""
    mapping = source.mapping
    index = {name: i for i, name in enumerate(columns)}
    out = []
    for n, raw in enumerate(rows, start=1):
        value = {name: raw[i] for name, i in index.items()}
        units: dict[str, Any] = {"custom": {}}
        if source.dataset == "Events":
            seconds = _number(value[mapping["timestamp"]], n, mapping["timestamp"])
            if seconds is None:
                raise BadRow(f"row {n}: {mapping['timestamp']} is empty")
            if mapping.get("unit_id"):
                _place_id(units, "userID", value[mapping["unit_id"]], n, mapping["unit_id"])
            for column, unit_type in mapping.get("ids", {}).items():
                _place_id(units, unit_type, value[column], n, column)
            event = _event(
                source.project_id,
                key,
                now_ms,
                value[mapping["event_name"]],
                round(seconds * 1000),
                units,
                n,
            )
            metadata = {
                meta_key: _text(value[column], n, column)
                for column, meta_key in mapping.get("metadata", {}).items()
                if value[column] is not None
            }
            if mapping.get("metadata_object"):
                metadata.update(
                    _unpacked(value[mapping["metadata_object"]], n, mapping["metadata_object"])
                )
            event["event_metadata"] = metadata or None
            if mapping.get("event_value") and value[mapping["event_value"]] is not None:
                raw_value = value[mapping["event_value"]]
                event["value_text"] = _text(raw_value, n, mapping["event_value"])
                try:
                    event["value_number"] = _number(raw_value, n, mapping["event_value"])
                except BadRow:
                    event["value_number"] = None  # a text value
        else:
            unit_type = value[mapping["id_type"]]
            if unit_type in (None, ""):
                raise BadRow(f"row {n}: {mapping['id_type']} is empty")
            _place_id(
                units,
                _text(unit_type, n, mapping["id_type"], 128),
                value[mapping["unit_id"]],
                n,
                mapping["unit_id"],
            )
            start_s, _ = day_bounds_s(ds)
            event = _event(
                source.project_id,
                key,
                now_ms,
                value[mapping["metric_name"]],
                start_s * 1000,
                units,
                n,
            )
            if mapping.get("metric_value"):
                number = _number(value[mapping["metric_value"]], n, mapping["metric_value"])
                event["value_number"] = number
                event["value_text"] = None if number is None else repr(number)
            ratio = {
                part: _number(value[mapping[part]], n, mapping[part])
                for part in ("numerator", "denominator")
                if mapping.get(part)
            }
            if ratio:
                event["event_metadata"] = {
                    k: ("" if v is None else repr(v)) for k, v in ratio.items()
                }
        out.append(event)
    return out


def _unpacked(raw: Any, row: int, column: str) -> dict[str, str]:
    """A JSON object column unpacked one level; nested values become JSON strings."""
    if raw is None or raw == "":
        return {}
    value = raw
    if isinstance(raw, str | bytes):
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BadRow(f"row {row}: {column} is not a JSON object") from None
    if not isinstance(value, dict):
        raise BadRow(f"row {row}: {column} is not a JSON object")
    return {str(k): v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in value.items()}


def digest(events: list[dict[str, Any]]) -> str:
    """A fingerprint of a day's events that ignores row order and load time."""
    lines = sorted(
        orjson.dumps(
            {k: v for k, v in e.items() if k != "received_time"}, option=orjson.OPT_SORT_KEYS
        )
        for e in events
    )
    return hashlib.sha256(b"\n".join(lines)).hexdigest()


class IngestionRunner:
    """Runs queued ingestion runs, one at a time, each day and source in its own transaction
    so that progress shows through the Console API while it runs."""

    def __init__(self, database: Database, clock: Clock, keys: Callable[[], Keys]) -> None:
        self._database = database
        self._clock = clock
        self._keys = keys
        self._last_schedule_ms: int | None = None

    def run_pending(self) -> int:
        """Queue the daily runs that are due (at most once a minute), then run every queued
        run; returns how many ran."""
        now = self._clock.now_ms()
        if self._last_schedule_ms is None or now - self._last_schedule_ms >= SCHEDULE_EVERY_MS:
            self._last_schedule_ms = now
            with self._database.transaction(write=True) as session:
                schedule_due(session, now, DEFAULT_HOUR_PST)
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
            run = session.get(IngestionRun, run_id)
            if run is None or run.status != ENQUEUED:
                return False
            self._set_status(run, STARTED)
            days, source_ids = list(run.date_stamps), list(run.source_ids)
            found = repository.sources_by_id(session, source_ids)
            sources = {
                sid: Source(
                    s.id, s.project_id, s.name, s.type, s.dataset, s.query, dict(s.column_mapping)
                )
                for sid, s in found.items()
            }
            project_id = run.project_id
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
                outcomes.append(self.load_day(run_id, source, ds))
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
        session: Session | None = None,
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
        if session is not None:
            session.add(row)
            session.get(IngestionRun, run_id).updated_time = now  # type: ignore[union-attr]
            return
        with self._database.transaction(write=True) as own:
            own.add(row)
            run = own.get(IngestionRun, run_id)
            if run is not None:
                run.updated_time = now

    def load_day(self, run_id: str, source: Source, ds: str) -> bool:
        """Load one (source, day); True when it succeeded (with or without rows)."""

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
                warehouse = connections.open_for(
                    session, source.project_id, source.type, self._keys()
                )
        except (LockgateError, SecretBoxError) as exc:
            status(
                "CONNECTION_CONFIG_ERROR",
                "the source's connection cannot be opened",
                error=str(exc),
            )
            return False
        try:
            warehouse.connect()
        except WarehouseError as exc:
            status("CONNECTION_ERROR", "the warehouse could not be reached", error=str(exc))
            return False
        try:
            try:
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
                status("QUERY_ERROR", "the source's query failed in the warehouse", error=str(exc))
                return False
        finally:
            warehouse.close()
        status(
            "DOWNLOAD_COMPLETED",
            f"{len(result.rows)} rows read from the warehouse",
            rows=len(result.rows),
        )
        key = f"{source.id}/{ds}"
        try:
            events = event_rows(source, ds, result.columns, result.rows, key, self._clock.now_ms())
        except BadRow as exc:
            status(
                WRITE_ERROR[source.dataset],
                "the day's rows could not be loaded; earlier loads of the day are kept",
                error=str(exc),
            )
            return False
        loaded = self._replace_day(run_id, source, ds, key, events)
        status(loaded.status, loaded.message, rows=loaded.rows, metrics=loaded.metrics)
        return True

    def _replace_day(
        self, run_id: str, source: Source, ds: str, key: str, events: list[dict[str, Any]]
    ) -> Loaded:
        fingerprint = digest(events)
        names = Counter(e["event_name"] for e in events)
        metrics = len(names) if source.dataset == "Metrics" else None
        with self._database.transaction(write=True) as session:
            before = repository.day_counts(session, source.project_id, source.id, ds)
            held = repository.count_loaded_events(session, source.project_id, key)
            if before and all(c.digest == fingerprint for c in before) and held == dict(names):
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
                        digest=fingerprint,
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
