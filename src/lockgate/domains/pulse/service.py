"""Pulse requests: queue a load, report history, answer results, schedule daily loads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.audit.service import audit_change
from lockgate.domains.metrics.definitions import metric_id
from lockgate.domains.metrics.sql import DAY_MS
from lockgate.domains.metrics.values import day_window
from lockgate.domains.pulse import jobs, monitoring, repository
from lockgate.domains.pulse.engine import utc_day
from lockgate.domains.pulse.results import ResultOptions, metric_results
from lockgate.domains.pulse.since_exposure import day_count, since_exposure_view
from lockgate.errors import InvalidInput, NotFound
from lockgate.kit.actor import Change
from lockgate.kit.clock import Clock
from lockgate.kit.db import Database
from lockgate.storage.models import PulseJob, PulseResult

RUNNING_STATUSES = ("active",)
VIEWS = ("cumulative", "daily", "days_since_exposure", "rolling")
# The windows (days) of the rolling view, stored by warehouse-native loads (docs/warehouse.md).
ROLLING_WINDOWS = ("7", "14", "28")
# The longest days-since-exposure view asked for (ten years of days).
MAX_DAY = 3650
REFRESH_TYPES = ("full", "incremental", "metric")
_FINISHED = {"succeeded": "success", "failed": "failure", "cancelled": "cancelled"}
# What a load records in its job's details: the metrics a metric load reloads, and a warehouse
# load's analysis and health checks (docs/warehouse.md §Health checks).
LOAD_DETAILS = ("metricIDs", "loadedAs", "analysisWindow", "healthCheckStatus", "healthChecks")
LOAD_NOT_FOUND = "Pulse load history not found."


def load(
    session: Session,
    change: Change,
    entity_type: str,
    entity_id: str,
    body: Any,
    *,
    rule_id: str | None = None,
    refresh: str | None = None,
    metric_ids: Sequence[str] = (),
    analysed: Sequence[str] = (),
    turbo: bool = False,
) -> None:
    """Queue a load of one experiment, gate rule (``rule_id`` = the rule's baseID) or
    holdout. ``refresh`` (else the body's, else ``full``): ``full`` recomputes every unit and
    every daily view; ``incremental`` recomputes only the units whose rows changed since the
    last load (``incremental.load.load_group_sums``); ``incremental`` and ``metric`` keep the
    daily views of days that were over when they were computed. ``metric`` names the metrics
    it reloads (``metric_ids``, else the body's ``metricIDs``), each among ``analysed`` (the
    ids of the entity's metrics); a warehouse load restates those alone
    (``warehouse_loads.restated_results``). ``turbo``: a warehouse-native experiment's load in
    turbo mode (docs/warehouse.md §Turbo mode), recorded in the job as ``turboMode``."""
    kind = refresh or getattr(body, "refresh", None) or "full"
    named = list(metric_ids) or list(getattr(body, "metric_ids", None) or [])
    details: dict[str, Any] = {"reloadType": kind}
    if turbo:
        details["turboMode"] = True
    if kind == "metric":
        details["metricIDs"] = _reloaded_metrics(session, change.project_id, named, analysed)
    elif named:
        raise InvalidInput.field(
            "metricIDs", f'applies to refresh "metric" only, not to refresh {kind!r}'
        )
    repository.add_job(
        session,
        project_id=change.project_id,
        entity_type=entity_type,
        entity_id=entity_id,
        rule_id=rule_id,
        now_ms=change.now_ms,
        requested_by=change.actor.name,
        details=details,
    )


def _reloaded_metrics(
    session: Session, project_id: str, named: Sequence[str], analysed: Sequence[str]
) -> list[str]:
    """The metric ids a ``metric`` load reloads, once each in the order named: each must be a
    metric of the project and one of the entity's."""
    ids = list(dict.fromkeys(named))
    if not ids:
        raise InvalidInput.field(
            "metricIDs",
            'is required with refresh "metric": the ids ("<name>::<type>") of the metrics '
            "to reload",
        )
    found = repository.metric_documents(session, project_id, ids)
    unknown = [i for i in ids if i not in found]
    if unknown:
        raise InvalidInput.field(
            "metricIDs", f"no metric with id {', '.join(repr(i) for i in unknown)}"
        )
    foreign = [i for i in ids if i not in analysed]
    if foreign:
        among = ", ".join(repr(i) for i in analysed) or "none"
        raise InvalidInput.field(
            "metricIDs",
            f"{', '.join(repr(i) for i in foreign)} not among the metrics of this load ({among})",
        )
    return ids


def analysed_metrics(document: dict[str, Any], *keys: str) -> list[str]:
    """The ids of an entity's metrics listed under ``keys`` (``primaryMetrics``, ...)."""
    return [metric_id(m["name"], m["type"]) for key in keys for m in document.get(key) or []]


def refresh_type(raw: str | None) -> str | None:
    """``load_pulse``'s ``refresh`` query parameter (None when absent: ``load`` then takes the
    body's); a bad value is a 400, as in the body."""
    if raw is None or raw == "":
        return None
    if raw not in REFRESH_TYPES:
        raise InvalidInput.field(
            "refresh", f"must be one of {', '.join(REFRESH_TYPES)}, got {raw!r}", location="query"
        )
    return raw


def turbo_flag(raw: str | None) -> bool | None:
    """``load_pulse``'s ``turboMode`` query parameter (None when absent); a bad value is a 400."""
    if raw is None or raw == "":
        return None
    return _flag("turboMode", raw, False)


def history_dto(job: PulseJob) -> dict[str, Any]:
    """PulseLoadHistoryDto plus ``status``/``progress``, so a running load shows how far it got,
    and what a finished warehouse load recorded (``LOAD_DETAILS``)."""
    created = job.created_time
    finished = job.finished_time
    dto: dict[str, Any] = {
        "creatorName": job.requested_by or "Lockgate",
        "createdTime": created,
        "startDs": utc_day(job.started_time or created),
        "endDs": utc_day(finished or created),
        "reloadType": jobs.reload_type(job),
        "turboMode": jobs.turbo_mode(job),
        "dagID": job.id,
        "status": job.status,
        "progress": job.progress,
    }
    if finished is not None:
        dto["finishedTime"] = finished
    if job.status in _FINISHED:
        dto["finishedState"] = _FINISHED[job.status]
    if job.message:
        dto["message"] = job.message
    recorded = job.details or {}
    dto |= {key: recorded[key] for key in LOAD_DETAILS if key in recorded}
    return dto


def details_dto(job: PulseJob) -> dict[str, Any]:
    """PulseLoadHistoryDetailsDto: ``dagID`` and ``jobs``, plus everything ``history_dto``
    says. A Lockgate load is one job that computes exposures, metric values and statistics in
    one pass, so ``jobs`` has one entry; its SQL is not recorded (``sql`` is null). ``error``
    is a failed load's message; ``cancelRequestedTime`` and ``cancelledBy`` say who asked a
    cancel and when."""
    dto = history_dto(job) | {
        "jobs": [
            {
                "jobType": "pulse",
                "jobIDs": [job.id],
                "startTime": job.started_time,
                "endTime": job.finished_time,
                "sql": None,
                "metricSourceName": None,
                "rollup": None,
            }
        ]
    }
    if job.started_time is not None:
        dto["startedTime"] = job.started_time
    if job.status == "failed" and job.message:
        dto["error"] = job.message
    if job.cancel_requested_time is not None:
        dto["cancelRequestedTime"] = job.cancel_requested_time
        dto["cancelledBy"] = job.cancelled_by
    return dto


def _entity_job(
    session: Session, project_id: str, entity_type: str, entity_id: str, job_id: str
) -> PulseJob:
    found = repository.entity_job(session, project_id, entity_type, entity_id, job_id)
    if found is None:
        raise NotFound(LOAD_NOT_FOUND)
    return found


def load_details(
    session: Session, project_id: str, entity_type: str, entity_id: str, job_id: str
) -> dict[str, Any]:
    """One load of the entity (``details_dto``); 404 for a load of another entity."""
    return details_dto(_entity_job(session, project_id, entity_type, entity_id, job_id))


def cancel_load(
    session: Session,
    change: Change,
    entity_type: str,
    entity_id: str,
    job_id: str,
    *,
    name: str,
) -> str:
    """Cancel one load of the entity (``name`` is the entity's, for the audit log) and say
    what became of it: a queued load is cancelled at once; a running one is asked to stop at
    its next progress report, and its process then marks it cancelled without storing its
    results (``jobs.JobRunner``). A finished load is a 400."""
    job = _entity_job(session, change.project_id, entity_type, entity_id, job_id)
    by = change.actor.name
    if job.status == "queued" and repository.cancel_queued(
        session,
        job_id,
        now_ms=change.now_ms,
        by=by,
        message=jobs.cancelled_message(by, 0, running=False),
    ):
        answer, log = "Pulse load cancelled.", f"Cancelled queued Pulse load {job_id}"
    elif repository.request_cancel(session, job_id, now_ms=change.now_ms, by=by):
        answer = "Pulse load is being cancelled: it stops at its next progress report."
        log = f"Requested cancel of running Pulse load {job_id}"
    else:
        session.refresh(job)
        raise InvalidInput.because(
            f"Pulse load {job_id!r} already finished ({_FINISHED.get(job.status, job.status)}); "
            "only a queued or running load can be cancelled"
        )
    audit_change(
        session,
        change,
        entity_type=entity_type,
        entity_id=entity_id,
        name=name,
        action_type="cancel_echidna_dag",
        change_log=log,
    )
    return answer


def list_loads(
    session: Session,
    project_id: str,
    entity_type: str,
    entity_id: str,
    *,
    rule_id: str | None = None,
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    """One page of an entity's loads (``history_dto``s, newest first) and how many there are."""
    rows, total = repository.list_jobs(
        session, project_id, entity_type, entity_id, rule_id=rule_id, offset=offset, limit=limit
    )
    return [history_dto(job) for job in rows], total


def _flag(name: str, raw: str | None, default: bool) -> bool:
    if raw is None or raw == "":
        return default
    if raw.lower() not in ("true", "false"):
        raise InvalidInput.field(name, f'must be "true" or "false", got {raw!r}', location="query")
    return raw.lower() == "true"


def _number(name: str, raw: str | None, low: float, high: float) -> float | None:
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput.field(name, f"must be a number, got {raw!r}", location="query") from None
    if not low <= value <= high:
        raise InvalidInput.field(name, f"must be between {low:g} and {high:g}", location="query")
    return value


def _day_number(raw: str | None) -> int:
    """The ``day`` query parameter of the days-since-exposure view: a whole number of days."""
    if raw is None or raw == "":
        return 0
    if not raw.isdigit() or int(raw) > MAX_DAY:
        raise InvalidInput.field(
            "day",
            f"must be a whole number of days from 0 to {MAX_DAY}, got {raw!r}",
            location="query",
        )
    return int(raw)


def _no_results(ds: str) -> dict[str, Any]:
    return {"ds": ds, "primaryMetrics": [], "secondaryMetrics": [], "otherMetrics": []}


def experiment_results(
    session: Session,
    project_id: str,
    document: dict[str, Any],
    query: dict[str, str | None],
    now_ms: int,
    *,
    daily_views: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """ExperimentPulseResultsDto for the ``control``/``test`` group ids of ``query``.

    Query parameters beyond the Console API's: ``view`` (``cumulative``, the default;
    ``daily``: the stored day's data alone; ``days_since_exposure`` with ``day`` = k, 0 by
    default: each unit's k-th day after its exposure day, ``since_exposure``; ``rolling``
    with ``window`` = 7 (the default), 14 or 28: each unit's values of the window's days
    ending with the stored day, stored by warehouse-native loads only) and
    ``bayesian`` (by default on for experiments whose ``analyticsType`` is ``bayesian``):
    posterior means and credible intervals instead of p-values, and each metric's chance to
    beat and expected loss under ``bayesian`` (``results.bayesian_view``). A caller asking for
    several days since exposure passes the stored daily views (``experiment_daily_views``) as
    ``daily_views`` so they are read once."""
    groups = {g["id"]: g["name"] for g in document.get("groups") or []}
    names = {}
    for key in ("control", "test"):
        value = query.get(key)
        if not value:
            raise InvalidInput.field(key, "is required (a group id)", location="query")
        if value not in groups:
            raise InvalidInput.field(
                key, f"{value!r} is not a group of this experiment", location="query"
            )
        names[key] = groups[value]
    day = query.get("date")
    if day:
        try:
            date.fromisoformat(day)
        except ValueError:
            raise InvalidInput.field(
                "date", f"must be YYYY-MM-DD, got {day!r}", location="query"
            ) from None
    confidence = _number("confidence", query.get("confidence"), 0.0001, 99.9999)
    weight = _number(
        "bonferroniPrimaryMetricWeight", query.get("bonferroniPrimaryMetricWeight"), 0, 1
    )
    view = query.get("view") or "cumulative"
    if view not in VIEWS:
        raise InvalidInput.field(
            "view", f"must be one of {', '.join(VIEWS)}, got {view!r}", location="query"
        )
    sequential = bool(document.get("sequentialTesting")) and view == "cumulative"
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
        bh_per_variant=_flag(
            "applyBenjaminiHochbergPerVariant",
            query.get("applyBenjaminiHochbergPerVariant"),
            bool(document.get("benjaminiHochbergPerVariant")),
        ),
        bh_primary_only=bool(document.get("benjaminiPrimaryMetricsOnly")),
        test_groups=max(1, len(groups) - 1),
        groups=tuple(groups.values()),
        bayesian=_flag(
            "bayesian", query.get("bayesian"), document.get("analyticsType") == "bayesian"
        ),
    )
    if view == "days_since_exposure":
        k = _day_number(query.get("day"))
        if daily_views is None:
            daily_views = repository.result_documents(
                session, project_id, "experiment", document["id"], until_ds=day or None
            )
        elif day:
            daily_views = [view for view in daily_views if view["ds"] <= day]
        assembled = since_exposure_view(daily_views, k)
        if assembled is None:
            return _no_results(day or utc_day(now_ms))
        return {"ds": assembled["ds"], **metric_results(assembled, options)}
    stored_view = view
    if view == "rolling":
        window = query.get("window") or "7"
        if window not in ROLLING_WINDOWS:
            raise InvalidInput.field(
                "window",
                f"must be one of {', '.join(ROLLING_WINDOWS)} (days), got {window!r}",
                location="query",
            )
        stored_view = f"rolling_{window}"
    stored = repository.latest_result(
        session, project_id, "experiment", document["id"], ds=day or None, view=stored_view
    )
    if stored is None:
        return _no_results(day or utc_day(now_ms))
    return {
        "ds": stored.ds,
        **metric_results(
            stored.document,
            replace(options, sequential=sequential and _before_target(document, stored)),
        ),
    }


def experiment_daily_views(
    session: Session, project_id: str, experiment_id: str
) -> list[dict[str, Any]]:
    """The experiment's stored daily views, oldest first (what ``daily_views`` takes)."""
    return repository.result_documents(session, project_id, "experiment", experiment_id)


def since_exposure_day_count(daily_views: Sequence[dict[str, Any]]) -> int:
    """How many days the days-since-exposure view covers (``day`` 0 to this minus 1)."""
    return day_count(daily_views)


def experiment_result_days(session: Session, project_id: str, experiment_id: str) -> list[str]:
    """The days with a stored daily view of the experiment, oldest first: the ``date`` values
    that ``experiment_results`` with ``view=daily`` answers for exactly."""
    return repository.result_days(session, project_id, "experiment", experiment_id)


def _before_target(document: dict[str, Any], stored: PulseResult) -> bool:
    start, days = document.get("startTime"), document.get("duration")
    if not start or not days:
        return True
    return bool(stored.document.get("computedTime", 0) < start + int(days) * DAY_MS)


def _due(
    session: Session, project_id: str, entity_type: str, entity_id: str, rule_id: str, today: str
) -> bool:
    """No result for today yet, no load queued or running, and no load cancelled or succeeded
    today (a cancel holds the entity's daily load until the next day; a warehouse load whose
    analysis window ended before today stores no result for today)."""
    if repository.has_result(session, project_id, entity_type, entity_id, rule_id, today):
        return False
    day_start, _ = day_window(today)
    for status in ("cancelled", "succeeded"):
        if repository.cancelled_since(
            session, project_id, entity_type, entity_id, rule_id, day_start, status=status
        ):
            return False
    return not repository.has_pending_job(session, project_id, entity_type, entity_id, rule_id)


def _daily_targets(session: Session) -> list[tuple[str, str, str, str]]:
    """(project, entity type, entity id, rule id) of everything Pulse loads every day:

    * running experiments;
    * enabled holdouts (their results exist only through these loads: holdouts have no
      load endpoint, and results requests never compute);
    * started autotunes (``pulse.autotune``: traffic reallocation, a decision);
    * gate rules someone loaded Pulse for at least once (a ``gate_rule`` job exists), while
      the gate is enabled and still has the rule: loading once opts a rule in, as a rollout
      under observation; deleting the rule or disabling the gate opts it out.
    """
    targets = [
        (project_id, "experiment", experiment_id, "")
        for project_id, experiment_id in repository.experiments_in_status(session, RUNNING_STATUSES)
    ]
    targets += [
        (project_id, "autotune", autotune_id, "")
        for project_id, autotune_id in repository.autotunes_in_status(session, "active")
    ]
    for row in repository.all_holdouts(session):
        if row.document.get("isEnabled", True):
            targets.append((row.project_id, monitoring.HOLDOUT, row.id, ""))
    for project_id, gate_id, rule_id in repository.loaded_rules(session, monitoring.GATE_RULE):
        gate = repository.gate(session, project_id, gate_id)
        if (
            gate is not None
            and gate.document.get("isEnabled", True)
            and monitoring.find_rule(gate.document, rule_id or "") is not None
        ):
            targets.append((project_id, monitoring.GATE_RULE, gate_id, rule_id or ""))
    return targets


def schedule_daily(database: Database, clock: Clock) -> int:
    """Queue today's load of everything ``_daily_targets`` lists that has no result for today
    yet and no load pending; a warehouse-native experiment's in the turbo mode of its last
    load (its ``turboMode``)."""
    today = utc_day(clock.now_ms())
    queued = 0
    with database.transaction(write=True) as session:
        turbo = repository.turbo_experiments(session, RUNNING_STATUSES)
        for project_id, entity_type, entity_id, rule_id in _daily_targets(session):
            if not _due(session, project_id, entity_type, entity_id, rule_id, today):
                continue
            repository.add_job(
                session,
                project_id=project_id,
                entity_type=entity_type,
                entity_id=entity_id,
                rule_id=rule_id or None,
                now_ms=clock.now_ms(),
                requested_by="Daily schedule",
                details={"reloadType": "incremental"}
                | ({"turboMode": True} if (entity_type, project_id, entity_id) in turbo else {}),
            )
            queued += 1
    return queued
