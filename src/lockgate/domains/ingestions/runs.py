"""Ingestion runs as the Console API shows them: a backfill queues a run over sources and
days; runs, per-day statuses and the event-count ledger are read back
(docs/warehouse.md §Ingestions)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Any, Final

from sqlalchemy.orm import Session

from lockgate.domains.audit.service import record_audit
from lockgate.domains.ingestions import connections, repository
from lockgate.domains.ingestions.schemas import Backfill
from lockgate.domains.ingestions.service import check_dataset
from lockgate.errors import InvalidInput, Location, NotFound
from lockgate.kit.actor import Actor
from lockgate.storage.models import IngestionRun, IngestionSource, IngestionStatus

MAX_DAYS: Final = 366
# Run-level statuses (lowercase, as Statsig's runs show them).
ENQUEUED, STARTED, COMPLETE, FAILED = "enqueued", "started", "complete", "failed"
# The per-day statuses of the official filter enum.
STATUSES: Final = (
    "IMPORT_SUCCESSFUL",
    "ROWS_INSERTED",
    "LOADED_EMPTY_DATA",
    "IMPORT_SCHEDULED",
    "IMPORT_RESCHEDULED",
    "IMPORT_STARTED",
    "FILE_CREATED",
    "DOWNLOAD_COMPLETED",
    "BACKFILL_REQUESTED",
    "CONNECTION_CONFIG_ERROR",
    "SSH_ERROR",
    "QUERY_CONSTRUCTION_ERROR",
    "INTERNAL_WRITE_ERROR_METRICS",
    "INTERNAL_WRITE_ERROR_EVENTS",
    "INTERNAL_WRITE_ERROR_EXPOSURES",
    "QUERY_ERROR",
    "SETUP_ERROR",
    "AUTHENTICATION_ERROR",
    "CONNECTION_ERROR",
    "BULK_LOAD_ERROR",
    "BULK_LOAD_SUCCESSFUL",
)
OTHER: Final = "%Other"
# has_diff: the warehouse's count and Lockgate's differ by more than this share.
DELTA_THRESHOLD: Final = 0.2


def iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).isoformat(timespec="milliseconds")


def parse_day(name: str, raw: str, location: Location = "body") -> dt.date:
    try:
        if len(raw) != 10:
            raise ValueError
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput.field(
            name,
            f"must be a date as YYYY-MM-DD, got {raw[:40]!r}",
            location=location,
        ) from None


def day_range(
    start_name: str, start_raw: str, end_name: str, end_raw: str, location: Location = "body"
) -> list[str]:
    start = parse_day(start_name, start_raw, location)
    end = parse_day(end_name, end_raw, location)
    if end < start:
        raise InvalidInput.field(end_name, f"must not be before {start_name}", location=location)
    days = (end - start).days + 1
    if days > MAX_DAYS:
        raise InvalidInput.field(
            end_name,
            f"the range covers {days} days; at most {MAX_DAYS}",
            location=location,
        )
    return [(start + dt.timedelta(days=n)).isoformat() for n in range(days)]


def _named_sources(session: Session, project_id: str, body: Backfill) -> list[IngestionSource]:
    every = repository.sources(session, project_id, body.type, body.dataset)
    if body.source is None:
        if not every:
            raise InvalidInput.field(
                "source", f"no {body.dataset} ingestion source of type {body.type} exists"
            )
        return every
    names = [body.source] if isinstance(body.source, str) else list(dict.fromkeys(body.source))
    if not names:
        raise InvalidInput.field("source", "must name at least one source")
    by_name = {row.name: row for row in every}
    for name in names:
        if name not in by_name:
            raise NotFound(f"Ingestion source {name} of type {body.type} not found.")
    return [by_name[name] for name in names]


def backfill(
    session: Session, project_id: str, actor: Actor, now_ms: int, body: Backfill
) -> dict[str, Any]:
    """Queue a run that loads every day of the range for the named sources (all of the
    type and dataset when none is named); each day replaces what earlier loads of it wrote."""
    check_dataset(body.dataset)
    days = day_range("datestamp_start", body.datestamp_start, "datestamp_end", body.datestamp_end)
    if not connections.has_connection(session, project_id, body.type):
        raise connections.not_found(body.type)
    chosen = _named_sources(session, project_id, body)
    run = queue(session, project_id, now_ms, chosen, days, trigger="backfill")
    record_audit(
        session,
        project_id=project_id,
        actor=actor,
        now_ms=now_ms,
        entity_type="ingestion_run",
        entity_id=run.id,
        name=body.dataset,
        action_type="ingestion_backfill",
        change_log="Requested Ingestion Backfill",
        after={
            "runID": run.id,
            "type": body.type,
            "dataset": body.dataset,
            "sources": [row.name for row in chosen],
            "datestamp_start": days[0],
            "datestamp_end": days[-1],
        },
    )
    return {"runID": run.id}


def queue(
    session: Session,
    project_id: str,
    now_ms: int,
    chosen: list[IngestionSource],
    days: list[str],
    *,
    trigger: str,
    rechecks: frozenset[str] = frozenset(),
) -> IngestionRun:
    run = IngestionRun(
        id=str(uuid.uuid4()),
        project_id=project_id,
        trigger=trigger,
        source_ids=[row.id for row in chosen],
        date_stamps=days,
        status=ENQUEUED,
        history=[[now_ms, ENQUEUED]],
        created_time=now_ms,
        updated_time=now_ms,
    )
    repository.add(session, run)
    requested = "BACKFILL_REQUESTED" if trigger == "backfill" else "IMPORT_SCHEDULED"
    session.add_all(
        IngestionStatus(
            project_id=project_id,
            run_id=run.id,
            source_id=row.id,
            source_name=row.name,
            type=row.type,
            dataset=row.dataset,
            ds=day,
            status=requested,
            message=(
                f"re-check of {day} queued ({trigger})"
                if day in rechecks
                else f"{row.dataset} ingestion of {day} queued ({trigger})"
            ),
            time=now_ms,
        )
        for day in days
        for row in chosen
    )
    session.flush()
    return run


PST: Final = dt.timezone(dt.timedelta(hours=-8))  # Statsig's schedules ignore daylight saving


def due_day(now_ms: int, hour_pst: int) -> str | None:
    """The day a dataset's daily run loads at ``now_ms``: yesterday (UTC) once the scheduled
    hour has come in PST, else None."""
    now = dt.datetime.fromtimestamp(now_ms / 1000, tz=dt.UTC)
    if now.astimezone(PST).hour < hour_pst:
        return None
    return (now.date() - dt.timedelta(days=1)).isoformat()


def recheck_window(day: str, recheck_days: int) -> tuple[str, str] | None:
    """The days before ``day`` that its scheduled run re-checks for late data."""
    if recheck_days <= 0:
        return None
    due = dt.date.fromisoformat(day)
    return (
        (due - dt.timedelta(days=recheck_days)).isoformat(),
        (due - dt.timedelta(days=1)).isoformat(),
    )


def schedule_due(
    session: Session, now_ms: int, default_hour: int, recheck_days: int = 0
) -> list[str]:
    """Queue, per project and dataset, a scheduled run of the enabled sources whose due day
    has no scheduled load yet; with them, the ``recheck_days`` days before it that loads of
    each source wrote, to be re-checked for late data. Returns the new runs' ids."""
    hours = repository.schedule_hours(session)
    pending: dict[tuple[str, str, tuple[str, ...]], list[IngestionSource]] = defaultdict(list)
    for row in repository.enabled_sources(session):
        day = due_day(now_ms, hours.get((row.project_id, row.dataset), default_hour))
        if day is None or repository.scheduled_already(session, row.id, day):
            continue
        window = recheck_window(day, recheck_days)
        earlier = [] if window is None else repository.loaded_days(session, row.id, *window)
        pending[(row.project_id, row.dataset, (*earlier, day))].append(row)
    return [
        queue(
            session,
            project_id,
            now_ms,
            chosen,
            list(days),
            trigger="scheduled",
            rechecks=frozenset(days[:-1]),
        ).id
        for (project_id, _, days), chosen in pending.items()
    ]


def run_dto(session: Session, run: IngestionRun) -> dict[str, Any]:
    """``IngestionRunDataContractDto``: histories newest first, as Statsig's examples."""
    rows = repository.run_statuses(session, run.id)
    names: dict[str, str] = {}
    by_source: dict[str, dict[str, list[IngestionStatus]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        names[row.source_id] = row.source_name
        by_source[row.source_id][row.ds].append(row)
    granular = []
    for source_id, days in by_source.items():
        latest = max((s for day in days.values() for s in day), key=lambda s: s.seq)
        granular.append(
            {
                "source": names[source_id],
                "latestSourceStatus": latest.status,
                "statusByDate": [
                    {
                        "dateStamp": ds,
                        "statuses": [
                            {"statusTimestamp": iso(s.time), "status": s.status}
                            for s in reversed(day)
                        ],
                    }
                    for ds, day in sorted(days.items())
                ],
            }
        )
    return {
        "runID": run.id,
        "latestStatus": run.status,
        "lastUpdatedAt": iso(run.updated_time),
        "createdAt": iso(run.created_time),
        "trigger": run.trigger,
        "sources": [names.get(s, s) for s in run.source_ids],
        "dateStamps": list(run.date_stamps),
        "runHistory": [
            {"statusTimestamp": iso(int(t)), "status": str(s)} for t, s in reversed(run.history)
        ],
        "granularHistory": granular,
    }


def list_runs(
    session: Session, project_id: str, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    found, total = repository.runs(session, project_id, offset, limit)
    return [run_dto(session, run) for run in found], total


def read_run(session: Session, project_id: str, run_id: str) -> dict[str, Any]:
    run = repository.run(session, project_id, run_id)
    if run is None:
        raise NotFound(f"runID {run_id} not found")
    return run_dto(session, run)


def status_dto(row: IngestionStatus) -> dict[str, Any]:
    """``IngestionStatusDto``: ``ingestion_source`` is the source's type, as Statsig's."""
    shown: dict[str, Any] = {
        "ds": f"{row.ds}T00:00:00.000Z",
        "ingestion_dataset": row.dataset.lower(),
        "ingestion_source": row.type,
        "source_name": row.source_name,
        "message": row.message,
        "status": row.status,
        "timestamp": iso(row.time),
    }
    if row.error_message is not None:
        shown["error_message"] = row.error_message
    if row.row_count is not None:
        shown["rowCount"] = row.row_count
    if row.metric_count is not None:
        shown["metricCount"] = row.metric_count
    return shown


def list_statuses(
    session: Session,
    project_id: str,
    start_raw: str,
    end_raw: str,
    *,
    source: str | None,
    dataset: str | None,
    wanted: list[str],
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    days = day_range("startDate", start_raw, "endDate", end_raw, "query")
    for value in wanted:
        if value not in STATUSES and value != OTHER:
            raise InvalidInput.field(
                "status", f"{value[:60]!r} is not an ingestion status", location="query"
            )
    rows, total = repository.statuses(
        session,
        project_id,
        days[0],
        days[-1],
        source_name=source,
        dataset=dataset,
        status_in=[s for s in wanted if s != OTHER],
        other_than=STATUSES if OTHER in wanted else None,
        offset=offset,
        limit=limit,
    )
    return [status_dto(row) for row in rows], total


def event_counts(
    session: Session,
    project_id: str,
    start_raw: str,
    end_raw: str,
    source_name: str | None,
    event_name: str | None,
) -> list[dict[str, Any]]:
    """Events Lockgate holds per day and event name from ingestions: flat when one event is
    named, grouped by day otherwise; summed over sources unless one is named."""
    days = day_range("start_date", start_raw, "end_date", end_raw, "query")
    rows = repository.counts(session, project_id, days[0], days[-1], source_name, event_name)
    summed: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        entry = summed.setdefault((row.ds, row.event_name), [0, 0])
        entry[0] += row.internal_count
        entry[1] = max(entry[1], row.updated_time)
    flat = [
        {"date": ds, "event": event, "count": count, "last_updated_time": iso(updated)}
        for (ds, event), (count, updated) in sorted(summed.items())
    ]
    if event_name is not None:
        return flat
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in flat:
        grouped[str(item["date"])].append({k: v for k, v in item.items() if k != "date"})
    return [{"date": ds, "events": events} for ds, events in grouped.items()]


def event_deltas(
    session: Session,
    project_id: str,
    start_raw: str,
    end_raw: str,
    source_name: str | None,
    event_name: str | None,
) -> list[dict[str, Any]]:
    """The reconciliation ledger: per day, source and event, the rows the warehouse returned
    at the last load against the events Lockgate holds."""
    days = day_range("start_date", start_raw, "end_date", end_raw, "query")
    rows = repository.counts(session, project_id, days[0], days[-1], source_name, event_name)
    flat = [
        {
            "date": row.ds,
            "source": row.source_name,
            "event": row.event_name,
            "internal_count": row.internal_count,
            "external_count": row.external_count,
            "has_diff": abs(row.external_count - row.internal_count)
            > DELTA_THRESHOLD * max(row.internal_count, 1),
            "threshold": DELTA_THRESHOLD,
            "last_updated_time": iso(row.updated_time),
        }
        for row in rows
    ]
    if event_name is not None:
        return flat
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in flat:
        grouped[str(item["date"])].append({k: v for k, v in item.items() if k != "date"})
    return [{"date": ds, "events": events} for ds, events in grouped.items()]
