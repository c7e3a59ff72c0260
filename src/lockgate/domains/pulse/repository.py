"""Pulse's queries over its own tables (load jobs, stored results) and the entity rows a load
or the daily schedule reads. The statements that compute sums are built in ``sql``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from lockgate.kit.ids import random_id
from lockgate.storage.models import (
    Autotune,
    Experiment,
    Gate,
    Holdout,
    Metric,
    PulseJob,
    PulseResult,
)

Row = TypeVar("Row")

# -- jobs ----------------------------------------------------------------------------------------


def add_job(
    session: Session,
    *,
    project_id: str,
    entity_type: str,
    entity_id: str,
    now_ms: int,
    rule_id: str | None = None,
    requested_by: str | None = None,
    details: dict[str, Any] | None = None,
) -> PulseJob:
    """A queued load job."""
    job = PulseJob(
        id=random_id(),
        project_id=project_id,
        entity_type=entity_type,
        entity_id=entity_id,
        rule_id=rule_id,
        status="queued",
        progress=0,
        requested_by=requested_by,
        created_time=now_ms,
        details=details,
    )
    session.add(job)
    session.flush()
    return job


def job(session: Session, job_id: str) -> PulseJob:
    return session.scalars(select(PulseJob).where(PulseJob.id == job_id)).one()


def add_job_details(session: Session, job_id: str, details: dict[str, Any]) -> None:
    """Merge ``details`` into the job's details."""
    found = job(session, job_id)
    found.details = {**(found.details or {}), **details}


def claim_next_job(session: Session, now_ms: int) -> str | None:
    """The oldest queued job, marked running; None when there is none, or when another process
    claimed it first (the claim is a conditional update)."""
    candidate = session.scalars(
        select(PulseJob.id).where(PulseJob.status == "queued").order_by(PulseJob.seq).limit(1)
    ).first()
    if candidate is None:
        return None
    claimed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(PulseJob)
        .where(PulseJob.id == candidate, PulseJob.status == "queued")
        .values(status="running", started_time=now_ms, heartbeat_time=now_ms, progress=1)
    )
    return candidate if claimed.rowcount == 1 else None


def set_job_progress(
    session: Session, job_id: str, percent: int, message: str, now_ms: int
) -> None:
    """Record a running job's progress; a progress report is a heartbeat too."""
    session.execute(
        update(PulseJob)
        .where(PulseJob.id == job_id, PulseJob.status == "running")
        .values(progress=percent, message=message, heartbeat_time=now_ms)
    )


def beat(session: Session, job_id: str, now_ms: int) -> None:
    """The running job's process is alive (a job reclaimed meanwhile stays failed)."""
    session.execute(
        update(PulseJob)
        .where(PulseJob.id == job_id, PulseJob.status == "running")
        .values(heartbeat_time=now_ms)
    )


def stale_jobs(session: Session, before_ms: int) -> list[tuple[str, int]]:
    """(id, heartbeat time) of the running jobs whose last heartbeat is older than
    ``before_ms``."""
    rows = session.execute(
        select(PulseJob.id, PulseJob.heartbeat_time)
        .where(PulseJob.status == "running", PulseJob.heartbeat_time < before_ms)
        .order_by(PulseJob.seq)
    )
    return [(job_id, heartbeat) for job_id, heartbeat in rows]


def reclaim_job(
    session: Session, job_id: str, *, before_ms: int, now_ms: int, message: str
) -> bool:
    """Mark a running job whose heartbeat is still older than ``before_ms`` failed, in one
    conditional update: of several processes reclaiming it, and against a heartbeat that
    arrives meanwhile, one wins. Whether this call reclaimed it."""
    reclaimed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(PulseJob)
        .where(
            PulseJob.id == job_id,
            PulseJob.status == "running",
            PulseJob.heartbeat_time < before_ms,
        )
        .values(status="failed", finished_time=now_ms, message=message)
    )
    return reclaimed.rowcount == 1


def finish_job(
    session: Session,
    job_id: str,
    *,
    status: str,
    now_ms: int,
    message: str,
    progress: int | None = None,
    unless_cancelled: bool = False,
) -> bool:
    """Record a running job's outcome (``succeeded``, ``failed`` or ``cancelled``), when, and
    what it says; False when the job is no longer running (it was reclaimed as abandoned
    meanwhile) or, with ``unless_cancelled``, when a cancel was asked for it."""
    values: dict[str, Any] = {"status": status, "finished_time": now_ms, "message": message}
    if progress is not None:
        values["progress"] = progress
    conditions = [PulseJob.id == job_id, PulseJob.status == "running"]
    if unless_cancelled:
        conditions.append(PulseJob.cancel_requested_time.is_(None))
    finished: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(PulseJob).where(*conditions).values(**values)
    )
    return finished.rowcount == 1


def entity_job(
    session: Session, project_id: str, entity_type: str, entity_id: str, job_id: str
) -> PulseJob | None:
    """The job ``job_id`` if it loads this entity of this project; None otherwise."""
    return session.scalars(
        select(PulseJob).where(
            PulseJob.id == job_id,
            PulseJob.project_id == project_id,
            PulseJob.entity_type == entity_type,
            PulseJob.entity_id == entity_id,
        )
    ).first()


def cancel_queued(session: Session, job_id: str, *, now_ms: int, by: str, message: str) -> bool:
    """Mark a job that is still queued cancelled, in one conditional update (a worker claiming
    it meanwhile wins, and the job is then cancelled as a running one); whether this did."""
    cancelled: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(PulseJob)
        .where(PulseJob.id == job_id, PulseJob.status == "queued")
        .values(
            status="cancelled",
            finished_time=now_ms,
            cancel_requested_time=now_ms,
            cancelled_by=by,
            message=message,
        )
    )
    return cancelled.rowcount == 1


def request_cancel(session: Session, job_id: str, *, now_ms: int, by: str) -> bool:
    """Ask a running job to stop at its next progress report; whether it is running with a
    cancel asked (by this request or an earlier one)."""
    session.execute(
        update(PulseJob)
        .where(
            PulseJob.id == job_id,
            PulseJob.status == "running",
            PulseJob.cancel_requested_time.is_(None),
        )
        .values(cancel_requested_time=now_ms, cancelled_by=by)
    )
    status = session.scalar(select(PulseJob.status).where(PulseJob.id == job_id))
    return status == "running"


def cancel_requested(session: Session, job_id: str) -> bool:
    """Whether a cancel was asked for the job."""
    asked = session.scalar(select(PulseJob.cancel_requested_time).where(PulseJob.id == job_id))
    return asked is not None


def cancelled_since(
    session: Session,
    project_id: str,
    entity_type: str,
    entity_id: str,
    rule_id: str,
    since_ms: int,
    *,
    status: str = "cancelled",
) -> bool:
    """Whether a load of the entity (and rule, "" for none) asked for since ``since_ms`` was
    cancelled (or ended in another ``status``)."""
    found = session.scalar(
        select(PulseJob.id).where(
            PulseJob.project_id == project_id,
            PulseJob.entity_type == entity_type,
            PulseJob.entity_id == entity_id,
            PulseJob.rule_id == rule_id if rule_id else PulseJob.rule_id.is_(None),
            PulseJob.status == status,
            PulseJob.created_time >= since_ms,
        )
    )
    return found is not None


def list_jobs(
    session: Session,
    project_id: str,
    entity_type: str,
    entity_id: str,
    *,
    rule_id: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[Sequence[PulseJob], int]:
    """One page of an entity's jobs, newest first, and how many there are."""
    conditions = [
        PulseJob.project_id == project_id,
        PulseJob.entity_type == entity_type,
        PulseJob.entity_id == entity_id,
    ]
    if rule_id is not None:
        conditions.append(PulseJob.rule_id == rule_id)
    rows = session.scalars(select(PulseJob).where(*conditions).order_by(PulseJob.seq.desc())).all()
    return rows[offset : offset + limit], len(rows)


def has_pending_job(
    session: Session, project_id: str, entity_type: str, entity_id: str, rule_id: str
) -> bool:
    """Whether a load of the entity (and rule, "" for none) is queued or running."""
    pending = session.scalar(
        select(PulseJob.id).where(
            PulseJob.project_id == project_id,
            PulseJob.entity_type == entity_type,
            PulseJob.entity_id == entity_id,
            PulseJob.rule_id == rule_id if rule_id else PulseJob.rule_id.is_(None),
            PulseJob.status.in_(("queued", "running")),
        )
    )
    return pending is not None


# -- results -------------------------------------------------------------------------------------


def delete_results(session: Session, job: PulseJob, *, from_ds: str | None = None) -> None:
    """Delete every stored result of the job's entity and rule (of the days from ``from_ds``
    on, when given)."""
    query = delete(PulseResult).where(
        PulseResult.project_id == job.project_id,
        PulseResult.entity_type == job.entity_type,
        PulseResult.entity_id == job.entity_id,
        PulseResult.rule_id == (job.rule_id or ""),
    )
    if from_ds is not None:
        query = query.where(PulseResult.ds >= from_ds)
    session.execute(query)
    session.flush()


def save_results(
    session: Session,
    job: PulseJob,
    results: Sequence[tuple[str, str, str, dict[str, Any]]],
    *,
    job_id: str,
    now_ms: int,
) -> None:
    """Store (or replace) the results of one entity, each ``(rule_id, ds, view, document)``;
    the ones stored before are read in one query, not one per result."""
    key = (job.project_id, job.entity_type, job.entity_id)
    rule_ids = sorted({rule_id for rule_id, _, _, _ in results})
    stored = (
        {
            (row.rule_id, row.ds, row.view): row
            for row in session.scalars(
                select(PulseResult).where(
                    PulseResult.project_id == job.project_id,
                    PulseResult.entity_type == job.entity_type,
                    PulseResult.entity_id == job.entity_id,
                    PulseResult.rule_id.in_(rule_ids),
                )
            )
        }
        if rule_ids
        else {}
    )
    for rule_id, ds, view, document in results:
        existing = stored.get((rule_id, ds, view))
        if existing is None:
            stored[(rule_id, ds, view)] = PulseResult(
                project_id=key[0],
                entity_type=key[1],
                entity_id=key[2],
                rule_id=rule_id,
                ds=ds,
                view=view,
                job_id=job_id,
                computed_time=now_ms,
                document=document,
            )
            session.add(stored[(rule_id, ds, view)])
        else:
            existing.document = document
            existing.job_id = job_id
            existing.computed_time = now_ms


def latest_result(
    session: Session,
    project_id: str,
    entity_type: str,
    entity_id: str,
    *,
    rule_id: str = "",
    ds: str | None = None,
    view: str = "cumulative",
) -> PulseResult | None:
    """The stored result of ``view`` for the day ``ds``, or the latest day before it."""
    query = select(PulseResult).where(
        PulseResult.project_id == project_id,
        PulseResult.entity_type == entity_type,
        PulseResult.entity_id == entity_id,
        PulseResult.rule_id == rule_id,
        PulseResult.view == view,
    )
    if ds is not None:
        query = query.where(PulseResult.ds <= ds)
    return session.scalars(query.order_by(PulseResult.ds.desc())).first()


def result_days(
    session: Session,
    project_id: str,
    entity_type: str,
    entity_id: str,
    *,
    rule_id: str = "",
    view: str = "daily",
) -> list[str]:
    """The days (``YYYY-MM-DD``, oldest first) with a stored result of ``view``."""
    rows = session.scalars(
        select(PulseResult.ds)
        .where(
            PulseResult.project_id == project_id,
            PulseResult.entity_type == entity_type,
            PulseResult.entity_id == entity_id,
            PulseResult.rule_id == rule_id,
            PulseResult.view == view,
        )
        .order_by(PulseResult.ds)
    )
    return list(rows)


def result_documents(
    session: Session,
    project_id: str,
    entity_type: str,
    entity_id: str,
    *,
    view: str = "daily",
    until_ds: str | None = None,
) -> list[dict[str, Any]]:
    """The stored documents of ``view`` (on or before ``until_ds``), oldest day first."""
    query = select(PulseResult.document).where(
        PulseResult.project_id == project_id,
        PulseResult.entity_type == entity_type,
        PulseResult.entity_id == entity_id,
        PulseResult.rule_id == "",
        PulseResult.view == view,
    )
    if until_ds is not None:
        query = query.where(PulseResult.ds <= until_ds)
    return list(session.scalars(query.order_by(PulseResult.ds)))


def stored_results(
    session: Session, project_id: str, entity_type: str, entity_id: str
) -> list[tuple[str, str, dict[str, Any]]]:
    """Every stored result of the entity (no rule): (view, day, document)."""
    rows = session.execute(
        select(PulseResult.view, PulseResult.ds, PulseResult.document)
        .where(
            PulseResult.project_id == project_id,
            PulseResult.entity_type == entity_type,
            PulseResult.entity_id == entity_id,
            PulseResult.rule_id == "",
        )
        .order_by(PulseResult.view, PulseResult.ds)
    )
    return [(view, ds, document) for view, ds, document in rows]


def has_result(
    session: Session, project_id: str, entity_type: str, entity_id: str, rule_id: str, ds: str
) -> bool:
    """Whether the entity (and rule) has a cumulative result for the day ``ds``."""
    done = session.scalar(
        select(PulseResult.ds).where(
            PulseResult.project_id == project_id,
            PulseResult.entity_type == entity_type,
            PulseResult.entity_id == entity_id,
            PulseResult.rule_id == rule_id,
            PulseResult.ds == ds,
            PulseResult.view == "cumulative",
        )
    )
    return done is not None


def daily_views_computed(session: Session, job: PulseJob) -> Sequence[tuple[str, int]]:
    """(day, computed time) of the stored daily views of the job's entity, latest day first."""
    rows = session.execute(
        select(PulseResult.ds, PulseResult.computed_time)
        .where(
            PulseResult.project_id == job.project_id,
            PulseResult.entity_type == job.entity_type,
            PulseResult.entity_id == job.entity_id,
            PulseResult.rule_id == (job.rule_id or ""),
            PulseResult.view == "daily",
        )
        .order_by(PulseResult.ds.desc())
    )
    return [(ds, computed_time) for ds, computed_time in rows]


# -- what loads read -----------------------------------------------------------------------------


def entity_row(session: Session, model: type[Row], job: PulseJob, kind: str) -> Row:
    """The entity a job computes (``kind`` names it in the error when it is gone)."""
    row = session.get(model, (job.project_id, job.entity_id))
    if row is None:
        raise LookupError(f"{kind} {job.entity_id!r} no longer exists")
    return row


def metric_documents(
    session: Session, project_id: str, metric_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The stored definitions of these metric ids (those that exist), by id."""
    rows = session.scalars(
        select(Metric).where(Metric.project_id == project_id, Metric.id.in_(metric_ids))
    )
    return {row.id: row.document for row in rows}


# -- what the daily schedule loads ---------------------------------------------------------------


def experiments_in_status(session: Session, statuses: Sequence[str]) -> list[tuple[str, str]]:
    """(project id, experiment id) of every experiment in one of ``statuses``."""
    rows = session.execute(
        select(Experiment.project_id, Experiment.id).where(Experiment.status.in_(statuses))
    )
    return [(project_id, experiment_id) for project_id, experiment_id in rows]


def turbo_experiments(session: Session, statuses: Sequence[str]) -> set[tuple[str, str, str]]:
    """("experiment", project id, experiment id) of the experiments in one of ``statuses``
    bound to an assignment source whose last load was in turbo mode (their ``turboMode``)."""
    rows = session.execute(
        select(Experiment.project_id, Experiment.id, Experiment.document).where(
            Experiment.status.in_(statuses)
        )
    )
    return {
        ("experiment", project_id, experiment_id)
        for project_id, experiment_id, document in rows
        if document.get("turboMode") and document.get("assignmentSourceName")
    }


def autotunes_in_status(session: Session, status: str) -> list[tuple[str, str]]:
    """(project id, autotune id) of every autotune in ``status``."""
    rows = session.execute(
        select(Autotune.project_id, Autotune.id).where(Autotune.status == status)
    )
    return [(project_id, autotune_id) for project_id, autotune_id in rows]


def all_holdouts(session: Session) -> Sequence[Holdout]:
    return session.scalars(select(Holdout)).all()


def loaded_rules(session: Session, entity_type: str) -> list[tuple[str, str, str | None]]:
    """(project id, entity id, rule id) of every rule that was loaded at least once."""
    rows = session.execute(
        select(PulseJob.project_id, PulseJob.entity_id, PulseJob.rule_id)
        .where(PulseJob.entity_type == entity_type)
        .distinct()
    ).all()
    return [(project_id, entity_id, rule_id) for project_id, entity_id, rule_id in rows]


def gate(session: Session, project_id: str, gate_id: str) -> Gate | None:
    return session.get(Gate, (project_id, gate_id))
