"""An experiment's Pulse load: its group sums, from the kept per-unit state when the load is
incremental (``incremental.load.load_group_sums``), stored as the day's cumulative view and
the daily views it (re)computed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.metrics.values import day_window
from lockgate.domains.pulse import repository
from lockgate.domains.pulse.engine import experiment_assignment, utc_day
from lockgate.domains.pulse.incremental.kept import StateKey
from lockgate.domains.pulse.incremental.load import load_group_sums
from lockgate.domains.pulse.jobs import ComputedResult, Progress, reload_type, turbo_mode
from lockgate.domains.pulse.warehouse_loads import OpenWarehouse, is_bound, warehouse_results
from lockgate.kit.clock import Clock
from lockgate.storage.models import Experiment, PulseJob


def make_experiment_computation(clock: Clock, open_warehouse: OpenWarehouse | None = None) -> Any:
    """The computation of an experiment load; an experiment bound to a warehouse assignment
    source is computed in the project's warehouse, opened with ``open_warehouse``."""

    def compute(session: Session, job: PulseJob, progress: Progress) -> list[ComputedResult]:
        row = repository.entity_row(session, Experiment, job, "experiment")
        document = row.document
        now = clock.now_ms()
        refs = [("primary", m) for m in document.get("primaryMetrics") or []]
        refs += [("secondary", m) for m in document.get("secondaryMetrics") or []]
        if is_bound(document):
            if open_warehouse is None:
                raise LookupError("this process has no warehouse access for Pulse loads")
            return warehouse_results(
                session,
                job.project_id,
                document,
                refs,
                now,
                progress,
                open_warehouse,
                refresh=reload_type(job),
                metric_ids=(job.details or {}).get("metricIDs") or (),
                turbo=turbo_mode(job),
            )
        sums = load_group_sums(
            session.get_bind(),  # type: ignore[arg-type]
            StateKey(job.project_id, job.entity_type, job.entity_id),
            experiment_assignment(document, now),
            refs,
            progress,
            incremental=reload_type(job) == "incremental",
            job_id=job.id,
            now_ms=now,
            daily_from_ms=daily_resume_ms(session, job),
        )
        daily = sums.pop("daily", {})
        result = _result(document, now, sums)
        computed = [ComputedResult(ds=result["ds"], document=result)]
        for ds, view in daily.items():
            document_of_day = {"ds": ds, "computedTime": now, "groups": result["groups"], **view}
            computed.append(ComputedResult(ds=ds, document=document_of_day, view="daily"))
        return computed

    return compute


def _result(document: dict[str, Any], now: int, sums: dict[str, Any]) -> dict[str, Any]:
    """The stored cumulative view of a load: the group sums and what results need besides."""
    return {
        "ds": utc_day(now),
        "computedTime": now,
        "startTime": document.get("startTime"),
        "groups": [
            {"id": g["id"], "name": g["name"], "size": g.get("size")}
            for g in document.get("groups") or []
        ],
        **sums,
    }


def daily_resume_ms(session: Session, job: PulseJob) -> int:
    """Where a load's daily views start: the beginning for a full reload; otherwise the day
    after the last one whose stored daily view was computed after the day had ended (days
    before it are final and are not computed again)."""
    if reload_type(job) == "full":
        return 0
    stored = repository.daily_views_computed(session, job)
    for ds, computed_time in stored:
        _, end_ms = day_window(ds)
        if computed_time >= end_ms:
            return end_ms
    return 0
