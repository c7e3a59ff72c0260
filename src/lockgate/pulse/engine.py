"""The expensive half of Pulse: per-group sums of every scorecard metric, computed in the
database and stored per day. Everything a results request varies (groups compared, CUPED,
confidence, corrections) is applied later to these sums, without touching raw rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from lockgate.kit.clock import Clock
from lockgate.models import Experiment, PulseJob
from lockgate.pulse import metrics as metric_plans
from lockgate.pulse.jobs import ComputedResult, Progress
from lockgate.pulse.sql import (
    Assignment,
    assignments,
    crossover_count,
    group_sums,
    group_units,
    unit_values,
)

SUM_FIELDS = (
    "n", "sx", "sxx", "sy", "syy", "sxy", "sxp", "sxpxp", "sxxp", "with_pre",
    "syp", "sypyp", "sxpyp", "sxyp", "syxp", "syyp",
)  # fmt: skip


def ds_of(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def _rows(session: Session, statement: Any) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = {}
    for row in session.execute(statement):
        values = row._mapping
        found[str(values["grp"])] = {
            key: float(values[key] or 0) for key in SUM_FIELDS if key in values
        }
    return found


def scorecard_sums(
    session: Session,
    project_id: str,
    spec: Assignment,
    metric_refs: Sequence[tuple[str, Mapping[str, Any]]],
    progress: Progress,
) -> dict[str, Any]:
    """Units per group and the sums of every metric; ``metric_refs`` = (role, {name, type})."""
    if session.get_bind().dialect.name == "postgresql":
        # Event tables grow by bulk inserts faster than autovacuum re-samples them; with stale
        # statistics the planner picks a nested loop over millions of rows.
        session.execute(text("ANALYZE exposures, events"))
    assignment = assignments(project_id, spec)
    units = {str(row.grp): int(row.n) for row in session.execute(group_units(assignment))}
    crossovers = int(session.scalar(crossover_count(project_id, spec)) or 0)
    roles = [role for role, _ in metric_refs]
    plans = metric_plans.plans(session, project_id, [ref for _, ref in metric_refs])
    computed = []
    for index, (role, plan) in enumerate(zip(roles, plans, strict=True)):
        progress(10 + int(85 * index / max(1, len(plans))), f"metric {plan.metric_id}")
        entry: dict[str, Any] = {
            "metricID": plan.metric_id,
            "metricName": plan.name,
            "type": plan.type,
            "directionality": plan.directionality,
            "role": role,
            "ratio": plan.is_ratio,
        }
        if plan.query is None:
            entry["unsupported"] = plan.unsupported
        else:
            statement = group_sums(
                unit_values(project_id, assignment, plan.query, spec.id_type),
                ratio=plan.is_ratio,
                cuped=plan.query.cuped,
            )
            entry["sums"] = _rows(session, statement)
        computed.append(entry)
    return {"units": units, "crossoverUnits": crossovers, "metrics": computed}


def experiment_assignment(document: Mapping[str, Any], end_ms: int) -> Assignment:
    groups = {g["id"]: g["name"] for g in document.get("groups") or []}
    return Assignment(
        experiment=document["id"],
        id_type=document.get("idType") or "userID",
        group_rules=groups,
        start_ms=None,
        end_ms=end_ms,
    )


def make_experiment_computation(clock: Clock) -> Any:
    def compute(session: Session, job: PulseJob, progress: Progress) -> list[ComputedResult]:
        row = session.get(Experiment, (job.project_id, job.entity_id))
        if row is None:
            raise LookupError(f"experiment {job.entity_id!r} no longer exists")
        document = row.document
        now = clock.now_ms()
        progress(5, "assigning units to groups")
        refs = [("primary", m) for m in document.get("primaryMetrics") or []]
        refs += [("secondary", m) for m in document.get("secondaryMetrics") or []]
        sums = scorecard_sums(
            session, job.project_id, experiment_assignment(document, now), refs, progress
        )
        result = {
            "ds": ds_of(now),
            "computedTime": now,
            "startTime": document.get("startTime"),
            "groups": [
                {"id": g["id"], "name": g["name"], "size": g.get("size")}
                for g in document.get("groups") or []
            ],
            **sums,
        }
        return [ComputedResult(ds=result["ds"], document=result)]

    return compute
