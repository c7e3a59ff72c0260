"""Pulse requests: queue a load, report history, answer results, schedule daily loads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lockgate.console.errors import BadRequest
from lockgate.kit.actor import Change
from lockgate.kit.clock import Clock
from lockgate.kit.db import Database
from lockgate.models import Experiment, PulseJob, PulseResult
from lockgate.pulse import jobs
from lockgate.pulse.engine import ds_of
from lockgate.pulse.results import ResultOptions, scorecard

RUNNING_STATUSES = ("active",)
_FINISHED = {"succeeded": "success", "failed": "failure"}


def load(session: Session, change: Change, entity_type: str, entity_id: str, body: Any) -> None:
    jobs.enqueue(
        session,
        project_id=change.project_id,
        entity_type=entity_type,
        entity_id=entity_id,
        now_ms=change.now_ms,
        requested_by=change.actor.name,
        details={"reloadType": getattr(body, "refresh", None) or "full"},
    )


def history_dto(job: PulseJob) -> dict[str, Any]:
    """PulseLoadHistoryDto plus ``status``/``progress``, so a running load shows how far it got."""
    created = job.created_time
    finished = job.finished_time
    dto: dict[str, Any] = {
        "creatorName": job.requested_by or "Lockgate",
        "createdTime": created,
        "startDs": ds_of(job.started_time or created),
        "endDs": ds_of(finished or created),
        "reloadType": (job.details or {}).get("reloadType") or "full",
        "turboMode": False,
        "status": job.status,
        "progress": job.progress,
    }
    if finished is not None:
        dto["finishedTime"] = finished
    if job.status in _FINISHED:
        dto["finishedState"] = _FINISHED[job.status]
    if job.message:
        dto["message"] = job.message
    return dto


def _flag(name: str, raw: str | None, default: bool) -> bool:
    if raw is None or raw == "":
        return default
    if raw.lower() not in ("true", "false"):
        raise BadRequest(f"Invalid request. {name}: must be 'true' or 'false', got {raw!r}")
    return raw.lower() == "true"


def _number(name: str, raw: str | None, low: float, high: float) -> float | None:
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"Invalid request. {name}: must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"Invalid request. {name}: must be between {low:g} and {high:g}")
    return value


def experiment_results(
    session: Session, project_id: str, document: dict[str, Any], query: dict[str, str | None]
) -> dict[str, Any]:
    """ExperimentPulseResultsDto for the ``control``/``test`` group ids of ``query``."""
    groups = {g["id"]: g["name"] for g in document.get("groups") or []}
    names = {}
    for key in ("control", "test"):
        value = query.get(key)
        if not value:
            raise BadRequest(f"Invalid request. {key}: is required (a group id)")
        if value not in groups:
            raise BadRequest(f"Invalid request. {key}: {value!r} is not a group of this experiment")
        names[key] = groups[value]
    day = query.get("date")
    if day:
        try:
            date.fromisoformat(day)
        except ValueError:
            raise BadRequest(f"Invalid request. date: expected YYYY-MM-DD, got {day!r}") from None
    confidence = _number("confidence", query.get("confidence"), 0.0001, 99.9999)
    weight = _number(
        "bonferroniPrimaryMetricWeight", query.get("bonferroniPrimaryMetricWeight"), 0, 1
    )
    sequential = bool(document.get("sequentialTesting"))
    options = ResultOptions(
        control=names["control"],
        test=names["test"],
        cuped=_flag("cuped", query.get("cuped"), True),
        confidence=confidence or float(document.get("defaultConfidenceInterval") or 95),
        sequential=False,
        bonferroni_per_variant=_flag(
            "applyBonferroniPerVariant",
            query.get("applyBonferroniPerVariant"),
            bool(document.get("bonferroniCorrection")),
        ),
        bonferroni_per_metric=_flag(
            "applyBonferroniPerMetric",
            query.get("applyBonferroniPerMetric"),
            bool(document.get("bonferroniCorrectionPerMetric")),
        ),
        primary_weight=weight,
        bh_per_metric=_flag(
            "applyBenjaminiHochbergPerMetric",
            query.get("applyBenjaminiHochbergPerMetric"),
            bool(document.get("benjaminiHochbergPerMetric")),
        ),
        test_groups=max(1, len(groups) - 1),
    )
    stored = jobs.latest_results(session, project_id, "experiment", document["id"], ds=day or None)
    if stored is None:
        return {"ds": day or _today(), "primaryMetrics": [], "secondaryMetrics": []}
    return {
        "ds": stored.ds,
        **scorecard(
            stored.document,
            replace(options, sequential=sequential and _before_target(document, stored)),
        ),
    }


def _before_target(document: dict[str, Any], stored: PulseResult) -> bool:
    start, days = document.get("startTime"), document.get("duration")
    if not start or not days:
        return True
    return bool(stored.document.get("computedTime", 0) < start + int(days) * 86_400_000)


def _today() -> str:
    return datetime.now(tz=UTC).strftime("%Y-%m-%d")


def schedule_daily(database: Database, clock: Clock) -> int:
    """Queue a load for every running experiment that has no result for today yet."""
    today = ds_of(clock.now_ms())
    queued = 0
    with database.transaction(write=True) as session:
        running = session.execute(
            select(Experiment.project_id, Experiment.id).where(
                Experiment.status.in_(RUNNING_STATUSES)
            )
        ).all()
        for project_id, experiment_id in running:
            done = session.scalar(
                select(PulseResult.ds).where(
                    PulseResult.project_id == project_id,
                    PulseResult.entity_type == "experiment",
                    PulseResult.entity_id == experiment_id,
                    PulseResult.ds == today,
                )
            )
            pending = session.scalar(
                select(PulseJob.id).where(
                    PulseJob.project_id == project_id,
                    PulseJob.entity_type == "experiment",
                    PulseJob.entity_id == experiment_id,
                    PulseJob.status.in_(("queued", "running")),
                )
            )
            if done is None and pending is None:
                jobs.enqueue(
                    session,
                    project_id=project_id,
                    entity_type="experiment",
                    entity_id=experiment_id,
                    now_ms=clock.now_ms(),
                    requested_by="Daily schedule",
                    details={"reloadType": "incremental"},
                )
                queued += 1
    return queued
