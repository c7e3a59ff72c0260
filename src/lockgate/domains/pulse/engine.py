"""The expensive half of Pulse: the group sums of a load, computed in the database and stored
per day. Everything a results request varies (groups compared, CUPED, confidence, corrections)
is applied later to these sums, without touching raw rows.

Words: the *measured metrics* (``MeasuredMetrics``) are the metrics one load measures, an
experiment's primary and secondary metrics or a gate's or holdout's monitoring metrics; the
*group sums* are what a load stores: units per group, crossover units and, per measured metric,
its sums per group (raw, and capped where winsorized); the *metric results* are the Console API
metric objects a results request computes from them (``results.metric_results``)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, Table, func, literal, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from lockgate.cores.stats.sufficient import MeanStats
from lockgate.cores.stats.winsorize import (
    DEFAULT_PERCENTILE,
    TailAggregates,
    cap_cross_total,
    cap_mean_stats,
    interpolate_cap,
    percentile_position,
)
from lockgate.domains.metrics import service as metric_service
from lockgate.domains.metrics.sql import DAY_MS, unit_values_query
from lockgate.domains.pulse import metrics as metric_plans
from lockgate.domains.pulse.jobs import Progress
from lockgate.domains.pulse.metrics import MetricPlan
from lockgate.domains.pulse.sql import (
    CUPED_WINDOW_MS,
    Assignment,
    MetricQuery,
    StagedMetric,
    exposed_by_day,
    group_sums,
    group_sums_many,
    metric_view,
    per_unit_select,
    per_unit_table,
    tail_sums_many,
    top_values,
    unit_values_many,
    unit_values_table,
)
from lockgate.kit.db import analysis_cache

SUM_FIELDS = (
    "n", "sx", "sxx", "sy", "syy", "sxy", "sxp", "sxpxp", "sxxp", "with_pre",
    "syp", "sypyp", "sxpyp", "sxyp", "syxp", "syyp", "nonzero",
)  # fmt: skip


# What a daily view's metric entry keeps of the cumulative one, besides its own sums.
DAILY_KEYS = ("metricID", "metricName", "type", "directionality", "role", "ratio")


def utc_day(ms: int) -> str:
    """The UTC day of a time in epoch milliseconds, as ``YYYY-MM-DD`` (a result's ``ds``)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def _sums_in(values: RowMapping, suffix: str = "") -> dict[str, float]:
    """The sums a result row holds under ``<sum><suffix>`` labels, NULL read as 0."""
    return {key: float(values[key + suffix] or 0) for key in SUM_FIELDS if key + suffix in values}


def _rows(session: Session, statement: Any) -> dict[str, dict[str, float]]:
    return {str(row._mapping["grp"]): _sums_in(row._mapping) for row in session.execute(statement)}


def compute_group_sums(
    session: Session,
    project_id: str,
    spec: Assignment,
    metric_refs: Sequence[tuple[str, Mapping[str, Any]]],
    progress: Progress,
    *,
    daily_from_ms: int | None = None,
    kept: list[Table] | None = None,
) -> dict[str, Any]:
    """Units per group and the sums of every metric; ``metric_refs`` = (role, {name, type}).
    With ``daily_from_ms``, also ``daily``: the daily view of every day from then on
    (``daily_sums``). With ``kept``, the staged per-unit tables outlive the transaction and
    are appended to it (assignment, then unit values); the caller drops them.

    Raw rows are read twice, whatever the number of metrics: the exposures once to stage
    every unit's group and first exposure, the events once to stage every unit's value of
    every metric. Both stages are temporary tables of the job's own connection; the per-group
    sums and the winsorization ranks are then read from the staged unit values. Funnel and
    composite metrics (``derived_sums``) read the events twice more each (after exposure, and
    before it for CUPED).
    """
    measured = MeasuredMetrics.of(session, project_id, metric_refs)
    return measured_group_sums(
        session, project_id, spec, measured, progress, daily_from_ms=daily_from_ms, kept=kept
    )


def measured_group_sums(
    session: Session,
    project_id: str,
    spec: Assignment,
    measured: MeasuredMetrics,
    progress: Progress,
    *,
    daily_from_ms: int | None = None,
    kept: list[Table] | None = None,
) -> dict[str, Any]:
    """``compute_group_sums`` of metrics whose plans are already read."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # Event tables grow by bulk inserts faster than autovacuum re-samples them; with stale
        # statistics the planner picks a nested loop over millions of rows.
        connection.execute(text("ANALYZE exposures, events"))
    staging = _staged(
        connection, project_id, spec, measured.queries, progress, keep=kept is not None
    )
    with analysis_cache(connection), staging as (per_unit, values):
        if kept is not None:
            kept += [per_unit, values]
        units: dict[str, int] = {}
        if measured.staged:
            progress(60, f"per-group sums of {len(measured.staged)} metrics")
            metrics = [metric for _, metric in measured.staged]
            sums = per_metric(session, group_sums_many(values, metrics), metrics, units)
            fill_sums(
                session,
                measured.staged,
                sums,
                lambda metric: metric_view(values, metric.index, cuped=metric.cuped),
                lambda caps: per_metric(
                    session, tail_sums_many(values, caps), [m for m, _ in caps]
                ),
            )
        return finish_group_sums(
            session, project_id, spec, measured, per_unit, units, progress, daily_from_ms
        )


@dataclass
class MeasuredMetrics:
    """The metrics a load measures: one result entry each (``entries``), the queries staged per unit
    (``queries``, ``staged``: index i reads query i) and the funnel and composite metrics,
    computed apart (``derived``)."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    queries: list[MetricQuery] = field(default_factory=list)
    staged: list[tuple[dict[str, Any], StagedMetric]] = field(default_factory=list)
    derived: list[tuple[dict[str, Any], MetricPlan]] = field(default_factory=list)

    @classmethod
    def of(
        cls, session: Session, project_id: str, metric_refs: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> MeasuredMetrics:
        measured = cls()
        plans = metric_plans.plans(session, project_id, [ref for _, ref in metric_refs])
        for (role, _), plan in zip(metric_refs, plans, strict=True):
            entry: dict[str, Any] = {
                "metricID": plan.metric_id,
                "metricName": plan.name,
                "type": plan.type,
                "directionality": plan.directionality,
                "role": role,
                "ratio": plan.is_ratio,
            }
            measured.entries.append(entry)
            if plan.derived is not None:
                measured.derived.append((entry, plan))
            elif plan.query is None:
                entry["unsupported"] = plan.unsupported
            else:
                index = len(measured.queries)
                measured.queries.append(plan.query)
                metric = StagedMetric(index, plan.is_ratio, plan.query.cuped, plan.winsorized)
                measured.staged.append((entry, metric))
        return measured


def finish_group_sums(
    session: Session,
    project_id: str,
    spec: Assignment,
    measured: MeasuredMetrics,
    per_unit: Any,
    units: dict[str, int],
    progress: Progress,
    daily_from_ms: int | None,
) -> dict[str, Any]:
    """The group sums once the staged metrics' sums are in their entries: crossovers,
    units per group (counted from ``per_unit`` when no staged metric counted them), the
    derived metrics' sums and the daily views. ``per_unit`` is a (unit, grp, first_ts, groups)
    table or subquery."""
    connection = session.connection()
    crossovers = int(
        connection.scalar(select(func.count()).select_from(per_unit).where(per_unit.c.groups > 1))
        or 0
    )
    if not measured.staged:
        assigned = select(per_unit.c.grp, func.count()).where(per_unit.c.groups == 1)
        units = {
            str(grp): int(n) for grp, n in connection.execute(assigned.group_by(per_unit.c.grp))
        }
    for entry, plan in measured.derived:
        progress(90, f"per-group sums of {plan.metric_id}")
        entry["sums"] = derived_sums(session, project_id, spec, per_unit, plan)
    result = {"units": units, "crossoverUnits": crossovers, "metrics": measured.entries}
    if daily_from_ms is not None and measured.staged:
        progress(95, "daily values")
        result["daily"] = daily_sums(
            session, project_id, spec, per_unit, measured.queries, measured.staged, daily_from_ms
        )
    return result


def daily_sums(
    session: Session,
    project_id: str,
    spec: Assignment,
    per_unit: Any,
    queries: Sequence[MetricQuery],
    staged: Sequence[tuple[dict[str, Any], StagedMetric]],
    from_ms: int,
) -> dict[str, dict[str, Any]]:
    """The daily view (docs/statistics.md §Views) of every UTC day from ``from_ms``'s to the end of
    the assignment, by day (YYYY-MM-DD): ``units`` per group exposed by the day's end, and each
    staged metric's sums over that day's events alone.

    A mean metric averages over every unit exposed by then, 0 for the units with no event
    that day; a ratio metric keeps to the units with a non-zero denominator that day. Daily
    sums are neither CUPED-adjusted nor winsorized. One scan of the range's events.

    Each day also keeps what the days-since-exposure view (``since_exposure``) is assembled
    from: ``newUnits``, the units per group first exposed that day, and per metric
    ``cohorts``, the day's sums split by the UTC day of each unit's first exposure."""
    connection = session.connection()
    new_units: dict[int, dict[str, int]] = {}
    for grp, day, units in connection.execute(exposed_by_day(per_unit)):
        new_units.setdefault(int(day), {})[str(grp)] = int(units)
    end_ms = spec.until_ms
    if not new_units or from_ms >= end_ms:
        return {}
    assigned = select(per_unit).where(per_unit.c.groups == 1).subquery("assigned")
    values = unit_values_many(project_id, assigned, queries, spec.id_type, days=(from_ms, end_ms))
    metrics = [replace(metric, cuped=False, winsorized=False) for _, metric in staged]
    found: dict[int, dict[int, dict[str, dict[str, float]]]] = {}
    cohorts: dict[int, dict[int, dict[str, dict[str, dict[str, float]]]]] = {}
    for row in session.execute(group_sums_many(values, metrics, by_day=True)):
        day, grp = int(row._mapping["day"]), str(row._mapping["grp"])
        cohort = utc_day(int(row._mapping["first_day"]) * DAY_MS)
        for metric in metrics:
            sums = _sums_in(row._mapping, f"_{metric.index}")
            if sums.get("n"):
                of_day = found.setdefault(day, {}).setdefault(metric.index, {})
                of_day[grp] = _added(of_day.get(grp), sums)
                by_cohort = cohorts.setdefault(day, {}).setdefault(metric.index, {})
                by_cohort.setdefault(cohort, {})[grp] = sums
    exposed: dict[str, int] = {}
    first_day = min(new_units)
    last_day = (end_ms - 1) // DAY_MS if spec.end_ms is not None else max([*found, *new_units])
    daily: dict[str, dict[str, Any]] = {}
    for day in range(first_day, last_day + 1):
        for grp, units in new_units.get(day, {}).items():
            exposed[grp] = exposed.get(grp, 0) + units
        if day < from_ms // DAY_MS:
            continue
        entries = []
        for (entry, _), metric in zip(staged, metrics, strict=True):
            of_day = found.get(day, {}).get(metric.index, {})
            if not metric.ratio:  # every exposed unit counts, with 0 where it logged nothing
                of_day = {
                    grp: {**of_day.get(grp, {"sx": 0.0, "sxx": 0.0}), "n": float(count)}
                    for grp, count in exposed.items()
                }
            entries.append(
                {
                    **{k: entry[k] for k in DAILY_KEYS},
                    "sums": of_day,
                    "cohorts": cohorts.get(day, {}).get(metric.index, {}),
                }
            )
        daily[utc_day(day * DAY_MS)] = {
            "units": dict(exposed),
            "newUnits": dict(new_units.get(day, {})),
            "metrics": entries,
        }
    return daily


def _added(total: dict[str, float] | None, sums: dict[str, float]) -> dict[str, float]:
    """Two sets of additive sums (per-unit values of disjoint units) as one."""
    if total is None:
        return dict(sums)
    return {key: total.get(key, 0.0) + value for key, value in sums.items()}


def per_metric(
    session: Session,
    statement: Any,
    metrics: Sequence[StagedMetric],
    units: dict[str, int] | None = None,
) -> dict[int, dict[str, dict[str, float]]]:
    """Rows of a ``*_many`` statement split into each metric's {group: {sum: value}}, leaving
    out groups where the metric has no unit (as a per-metric GROUP BY would); ``units``
    receives the statement's units per group, if it counts them."""
    found: dict[int, dict[str, dict[str, float]]] = {metric.index: {} for metric in metrics}
    for row in session.execute(statement):
        values = row._mapping
        if units is not None:
            units[str(values["grp"])] = int(values["units"])
        for metric in metrics:
            sums = _sums_in(values, f"_{metric.index}")
            if sums.get("n"):
                found[metric.index][str(values["grp"])] = sums
    return found


Caps = Sequence[tuple[StagedMetric, float]]
PerMetric = dict[int, dict[str, dict[str, float]]]


def fill_sums(
    session: Session,
    staged: Sequence[tuple[dict[str, Any], StagedMetric]],
    sums: PerMetric,
    unit_view: Callable[[StagedMetric], Subquery],
    tails_above: Callable[[Caps], PerMetric],
) -> None:
    """Put every entry's ``sums`` in it, then the winsorized ones' cap (a small ranked scan of
    the metric's ``unit_view`` each) and capped sums. A cap of 0 or more has every unit above
    it among the ranked values the cap was read from, so their tails are summed from those;
    only a negative cap (zeros above it too) needs ``tails_above``, one scan for all such."""
    caps: list[tuple[StagedMetric, float]] = []
    tails: PerMetric = {}
    for entry, metric in staged:
        entry["sums"] = sums[metric.index]
        if metric.winsorized:
            info, top = winsorization_cap(
                session, unit_view(metric), entry["sums"], cuped=metric.cuped
            )
            entry["winsorization"] = info
            cap = info["cap"]
            if cap is not None and cap >= 0:
                tails[metric.index] = tails_of(top, cap, cuped=metric.cuped)
            elif cap is not None:
                caps.append((metric, cap))
    if caps:
        tails.update(tails_above(caps))
    for entry, metric in staged:
        if metric.index in tails:
            cap = entry["winsorization"]["cap"]
            entry["winsorization"]["tails"] = tails[metric.index]
            entry["cappedSums"] = capped_sums(entry["sums"], tails[metric.index], cap)


def tails_of(
    top: Sequence[Sequence[Any]], cap: float, *, cuped: bool
) -> dict[str, dict[str, float]]:
    """Per group, the units of ``top`` (x, grp and, when ``cuped``, xp rows) above ``cap``:
    their count, Σx, Σx² and, for CUPED, Σxp and Σx·xp (``sql.tail_sums_many``'s sums)."""
    by_group: dict[str, list[Sequence[Any]]] = {}
    for row in top:
        if float(row[0]) > cap:
            by_group.setdefault(str(row[1]), []).append(row)
    tails: dict[str, dict[str, float]] = {}
    for grp, rows in by_group.items():
        x = [float(row[0]) for row in rows]
        tail = {"n": float(len(x)), "sx": math.fsum(x), "sxx": math.fsum(v * v for v in x)}
        if cuped:
            xp = [float(row[2] or 0) for row in rows]
            tail["sxp"] = math.fsum(xp)
            tail["sxxp"] = math.fsum(a * b for a, b in zip(x, xp, strict=True))
        tails[grp] = tail
    return tails


def derived_sums(
    session: Session, project_id: str, spec: Assignment, per_unit: Any, plan: MetricPlan
) -> dict[str, dict[str, float]]:
    """Per-group sums of a funnel or composite metric, from the per-unit values the metric
    values API computes (``metrics.sql.unit_values_query``), counted from each unit's first
    exposure, with the same values over the seven days before it for CUPED
    (docs/statistics.md §CUPED). A ratio (funnel, composite) keeps the units with a non-zero
    denominator; a composite_sum counts every assigned unit, 0 for those without events."""
    assert plan.derived is not None
    definition = metric_service.spec_of(session, project_id, dict(plan.derived))
    assigned = per_unit.c.groups == 1
    unit, first_ts = per_unit.c.unit.label("unit_id"), per_unit.c.first_ts
    since = select(unit, first_ts.label("start_ms")).where(assigned).subquery("since")
    before = (
        select(
            unit,
            (first_ts - CUPED_WINDOW_MS).label("start_ms"),
            first_ts.label("end_ms"),
        )
        .where(assigned)
        .subquery("before")
    )
    end_ms = spec.until_ms
    values = unit_values_query(definition, 0, end_ms, spec.id_type, since=since).subquery("unit")
    pre = unit_values_query(definition, 0, end_ms, spec.id_type, since=before).subquery("pre")
    with_pre = per_unit.outerjoin(pre, pre.c.unit_id == per_unit.c.unit)
    joined = values.c.unit_id == per_unit.c.unit
    if plan.is_ratio:
        view = (
            select(
                per_unit.c.grp,
                values.c.numerator.label("x"),
                values.c.denominator.label("y"),
                func.coalesce(pre.c.numerator, 0.0).label("xp"),
                func.coalesce(pre.c.denominator, 0.0).label("yp"),
            )
            .select_from(with_pre.join(values, joined))
            .where(assigned)
        )
    else:
        view = (
            select(
                per_unit.c.grp,
                func.coalesce(values.c.value, 0.0).label("x"),
                literal(1.0).label("y"),
                func.coalesce(pre.c.value, 0.0).label("xp"),
                literal(1.0).label("yp"),
            )
            .select_from(with_pre.outerjoin(values, joined))
            .where(assigned)
        )
    return _rows(session, group_sums(view.subquery("derived"), ratio=plan.is_ratio, cuped=True))


@contextmanager
def _staged(
    connection: Connection,
    project_id: str,
    spec: Assignment,
    queries: Sequence[MetricQuery],
    progress: Progress,
    *,
    keep: bool = False,
) -> Iterator[tuple[Table, Table]]:
    """The job's per-unit assignment and unit values as temporary tables, dropped afterwards
    (on PostgreSQL also at commit, so a failed job leaves none behind), unless ``keep``."""
    suffix = uuid.uuid4().hex[:12]
    per_unit = per_unit_table(f"pulse_units_{suffix}", keep=keep)
    values = unit_values_table(f"pulse_values_{suffix}", queries, keep=keep)
    postgresql = connection.dialect.name == "postgresql"
    dropped = not keep
    try:
        progress(5, "assigning units to groups")
        per_unit.create(connection)
        connection.execute(
            per_unit.insert().from_select(
                ["unit", "grp", "first_ts", "groups"], per_unit_select(project_id, spec)
            )
        )
        if postgresql:
            connection.execute(text(f'ANALYZE "{per_unit.name}"'))
        progress(20, f"values of {len(queries)} metrics per unit")
        values.create(connection)
        if queries:
            computed = unit_values_many(project_id, per_unit, queries, spec.id_type)
            connection.execute(
                values.insert().from_select(list(computed.c.keys()), select(computed))
            )
        if postgresql:
            connection.execute(text(f'ANALYZE "{values.name}"'))
        yield per_unit, values
    except BaseException:
        dropped = True
        raise
    finally:
        if dropped:
            drop_temporary(connection, [values, per_unit])


def drop_temporary(connection: Connection, tables: Sequence[Table]) -> None:
    for table in tables:
        try:
            table.drop(connection, checkfirst=True)
        except DBAPIError:
            break  # the transaction failed; on PostgreSQL the tables go with it


def winsorization_cap(
    session: Session,
    units: Subquery,
    sums: Mapping[str, Mapping[str, float]],
    *,
    cuped: bool = False,
    percentile: float = DEFAULT_PERCENTILE,
) -> tuple[dict[str, Any], list[Sequence[Any]]]:
    """``winsorization``'s percentile, population and cap (None when no unit has a non-zero
    value), and the ranked values it was read from: the largest non-zero unit values down to
    the cap's lower neighbour, as (x, grp, xp) rows (``sql.top_values``).

    The cap is P_x over the non-zero unit values of all groups pooled
    (docs/statistics.md §Winsorization: "from all non-zero, non-null unit-level values of the
    metric"), found inside the database by rank.
    """
    count = int(sum(group.get("nonzero", 0) for group in sums.values()))
    info: dict[str, Any] = {"percentile": percentile, "nonzeroUnits": count, "cap": None}
    if count == 0:
        return info, []
    rank, weight = percentile_position(count, percentile)
    from_top = count - 1 - rank  # where the ranked value lies counted from the largest
    upper_too = bool(weight) and from_top > 0
    start = from_top - 1 if upper_too else from_top
    ranked = session.execute(top_values(units, from_top + 1, cuped=cuped))
    top: list[Sequence[Any]] = [tuple(row) for row in ranked]
    found = [float(row[0]) for row in top[start : start + (2 if upper_too else 1)]]
    if not found:  # rows vanished between the two statements; leave the metric uncapped
        return info, []
    lower, upper = (found[-1], found[0]) if upper_too and len(found) > 1 else (found[0], None)
    info["cap"] = interpolate_cap(lower, upper, weight)
    return info, top


def capped_sums(
    sums: Mapping[str, Mapping[str, float]],
    tails: Mapping[str, Mapping[str, float]],
    cap: float,
) -> dict[str, dict[str, float]]:
    """Every group's sums with unit values above the cap replaced by it. Only the
    post-exposure value is capped: the CUPED covariate keeps its raw values, and Σx·xp is
    corrected with the tail's Σxp."""
    capped: dict[str, dict[str, float]] = {}
    for group, raw in sums.items():
        tail = tails.get(group, {})
        stats = cap_mean_stats(
            MeanStats(int(raw["n"]), raw["sx"], raw["sxx"]),
            TailAggregates(int(tail.get("n", 0)), tail.get("sx", 0.0), tail.get("sxx", 0.0)),
            cap,
        )
        out = {**raw, "sx": stats.total, "sxx": stats.total_sq}
        if "sxxp" in raw:
            out["sxxp"] = cap_cross_total(
                raw["sxxp"], tail.get("sxxp", 0.0), tail.get("sxp", 0.0), cap
            )
        capped[group] = out
    return capped


def experiment_assignment(document: Mapping[str, Any], end_ms: int) -> Assignment:
    groups = {g["id"]: g["name"] for g in document.get("groups") or []}
    return Assignment(
        experiment=document["id"],
        id_type=document.get("idType") or "userID",
        group_rules=groups,
        start_ms=None,
        end_ms=end_ms,
    )
