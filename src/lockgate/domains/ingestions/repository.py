"""Queries over ingestion sources, runs, statuses and the event-count ledger."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session

from lockgate.storage.models import (
    CustomEvent,
    IngestionCount,
    IngestionDay,
    IngestionRun,
    IngestionSchedule,
    IngestionSource,
    IngestionStatus,
)


def source(
    session: Session, project_id: str, source_type: str, dataset: str, name: str
) -> IngestionSource | None:
    query = select(IngestionSource).where(
        IngestionSource.project_id == project_id,
        IngestionSource.type == source_type,
        IngestionSource.dataset == dataset,
        IngestionSource.name == name,
    )
    return session.scalars(query).first()


def sources(
    session: Session, project_id: str, source_type: str, dataset: str
) -> list[IngestionSource]:
    query = (
        select(IngestionSource)
        .where(
            IngestionSource.project_id == project_id,
            IngestionSource.type == source_type,
            IngestionSource.dataset == dataset,
        )
        .order_by(IngestionSource.created_time, IngestionSource.id)
    )
    return list(session.scalars(query))


def sources_by_id(session: Session, ids: Sequence[str]) -> dict[str, IngestionSource]:
    if not ids:
        return {}
    rows = session.scalars(select(IngestionSource).where(IngestionSource.id.in_(ids)))
    return {row.id: row for row in rows}


def add(session: Session, row: object) -> None:
    session.add(row)
    session.flush()


def runs(
    session: Session, project_id: str, offset: int, limit: int
) -> tuple[list[IngestionRun], int]:
    where = IngestionRun.project_id == project_id
    total = session.scalar(select(func.count()).select_from(IngestionRun).where(where)) or 0
    query = (
        select(IngestionRun)
        .where(where)
        .order_by(IngestionRun.created_time.desc(), IngestionRun.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(session.scalars(query)), int(total)


def run(session: Session, project_id: str, run_id: str) -> IngestionRun | None:
    row = session.get(IngestionRun, run_id)
    return row if row is not None and row.project_id == project_id else None


def queued_run_ids(session: Session) -> list[str]:
    query = (
        select(IngestionRun.id)
        .where(IngestionRun.status == "enqueued")
        .order_by(IngestionRun.created_time, IngestionRun.id)
    )
    return list(session.scalars(query))


def run_statuses(session: Session, run_id: str) -> list[IngestionStatus]:
    query = (
        select(IngestionStatus)
        .where(IngestionStatus.run_id == run_id)
        .order_by(IngestionStatus.seq)
    )
    return list(session.scalars(query))


def statuses(
    session: Session,
    project_id: str,
    start: str,
    end: str,
    *,
    source_name: str | None,
    dataset: str | None,
    status_in: Sequence[str],
    other_than: Sequence[str] | None,
    offset: int,
    limit: int,
) -> tuple[list[IngestionStatus], int]:
    """Status rows of days ``start``..``end``, newest first; ``status_in`` keeps those
    statuses, and ``other_than`` (when given) also keeps every status outside it."""
    conditions: list[ColumnElement[bool]] = [
        IngestionStatus.project_id == project_id,
        IngestionStatus.ds >= start,
        IngestionStatus.ds <= end,
    ]
    if source_name is not None:
        conditions.append(IngestionStatus.source_name == source_name)
    if dataset is not None:
        conditions.append(IngestionStatus.dataset == dataset)
    if status_in or other_than is not None:
        kept = [IngestionStatus.status.in_(list(status_in))]
        if other_than is not None:
            kept.append(IngestionStatus.status.not_in(list(other_than)))
        conditions.append(or_(*kept))
    total = session.scalar(select(func.count()).select_from(IngestionStatus).where(*conditions))
    query = (
        select(IngestionStatus)
        .where(*conditions)
        .order_by(IngestionStatus.seq.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(session.scalars(query)), int(total or 0)


def counts(
    session: Session,
    project_id: str,
    start: str,
    end: str,
    source_name: str | None,
    event_name: str | None,
) -> list[IngestionCount]:
    conditions = [
        IngestionCount.project_id == project_id,
        IngestionCount.ds >= start,
        IngestionCount.ds <= end,
    ]
    if source_name is not None:
        conditions.append(IngestionCount.source_name == source_name)
    if event_name is not None:
        conditions.append(IngestionCount.event_name == event_name)
    query = (
        select(IngestionCount)
        .where(*conditions)
        .order_by(IngestionCount.ds, IngestionCount.source_name, IngestionCount.event_name)
    )
    return list(session.scalars(query))


def day_counts(session: Session, project_id: str, source_id: str, ds: str) -> list[IngestionCount]:
    query = select(IngestionCount).where(
        IngestionCount.project_id == project_id,
        IngestionCount.source_id == source_id,
        IngestionCount.ds == ds,
    )
    return list(session.scalars(query))


def replace_day_counts(
    session: Session, project_id: str, source_id: str, ds: str, rows: list[IngestionCount]
) -> None:
    session.execute(
        delete(IngestionCount).where(
            IngestionCount.project_id == project_id,
            IngestionCount.source_id == source_id,
            IngestionCount.ds == ds,
        )
    )
    session.add_all(rows)
    session.flush()


def delete_loaded_events(session: Session, project_id: str, key: str) -> int:
    result = session.execute(
        delete(CustomEvent).where(
            CustomEvent.project_id == project_id, CustomEvent.ingestion == key
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def count_loaded_events(session: Session, project_id: str, key: str) -> dict[str, int]:
    query = (
        select(CustomEvent.event_name, func.count())
        .where(CustomEvent.project_id == project_id, CustomEvent.ingestion == key)
        .group_by(CustomEvent.event_name)
    )
    return {name: int(n) for name, n in session.execute(query).all()}


def enabled_sources(session: Session) -> list[IngestionSource]:
    query = (
        select(IngestionSource)
        .where(IngestionSource.enabled.is_(True))
        .order_by(IngestionSource.project_id, IngestionSource.created_time, IngestionSource.id)
    )
    return list(session.scalars(query))


def scheduled_already(session: Session, source_id: str, ds: str) -> bool:
    query = select(IngestionStatus.seq).where(
        IngestionStatus.source_id == source_id,
        IngestionStatus.ds == ds,
        IngestionStatus.status == "IMPORT_SCHEDULED",
    )
    return session.scalars(query.limit(1)).first() is not None


def schedule_hours(session: Session) -> dict[tuple[str, str], int]:
    rows = session.execute(
        select(
            IngestionSchedule.project_id,
            IngestionSchedule.dataset,
            IngestionSchedule.scheduled_hour_pst,
        )
    ).all()
    return {(project, dataset): hour for project, dataset, hour in rows}


def loaded_day(session: Session, project_id: str, source_id: str, ds: str) -> IngestionDay | None:
    return session.get(IngestionDay, (project_id, source_id, ds))


def loaded_days(session: Session, source_id: str, start: str, end: str) -> list[str]:
    """The days ``start``..``end`` that loads of the source wrote, oldest first."""
    query = (
        select(IngestionDay.ds)
        .where(
            IngestionDay.source_id == source_id, IngestionDay.ds >= start, IngestionDay.ds <= end
        )
        .order_by(IngestionDay.ds)
    )
    return list(session.scalars(query))


def set_loaded_day(
    session: Session,
    project_id: str,
    source_id: str,
    ds: str,
    fingerprint: str,
    row_count: int,
    now_ms: int,
) -> None:
    row = loaded_day(session, project_id, source_id, ds)
    if row is None:
        session.add(
            IngestionDay(
                project_id=project_id,
                source_id=source_id,
                ds=ds,
                fingerprint=fingerprint,
                row_count=row_count,
                loaded_time=now_ms,
            )
        )
    else:
        row.fingerprint, row.row_count, row.loaded_time = fingerprint, row_count, now_ms
    session.flush()
