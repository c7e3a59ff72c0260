"""The per-unit values a Pulse load keeps (``pulse_state_units``, ``pulse_state_values``):
copied in from a load's staged tables, and read back as the scorecard ``scorecard_sums``
would compute from the raw rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, func, insert, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from lockgate.domains.pulse.engine import (
    PerMetric,
    Scorecard,
    fill_sums,
    finish_scorecard,
    per_metric,
)
from lockgate.domains.pulse.jobs import Progress
from lockgate.domains.pulse.sql import (
    Assignment,
    StagedMetric,
    group_sums_many,
    metric_view,
    sum_columns,
    tail_sums_many,
    value_names,
)
from lockgate.storage.models import PulseStateUnit, PulseStateValue

UNITS: Table = PulseStateUnit.__table__  # type: ignore[assignment]
VALUES: Table = PulseStateValue.__table__  # type: ignore[assignment]


def state_scorecard(
    session: Session,
    state_id: int,
    project_id: str,
    spec: Assignment,
    card: Scorecard,
    progress: Progress,
    daily_from_ms: int | None,
) -> dict[str, Any]:
    """The scorecard document from a kept state, as ``scorecard_sums`` computes it from the
    raw rows."""
    kept_units = (
        select(UNITS.c.unit, UNITS.c.grp, UNITS.c.first_ts, UNITS.c.groups)
        .where(UNITS.c.state_id == state_id)
        .subquery("per_unit")
    )
    units: dict[str, int] = {}
    if card.staged:
        assigned = select(kept_units.c.grp, func.count()).where(kept_units.c.groups == 1)
        for grp, n in session.execute(assigned.group_by(kept_units.c.grp)):
            units[str(grp)] = int(n)
        metrics = [metric for _, metric in card.staged]
        sums, rows = _state_sums(session, state_id, metrics, units)
        fill_sums(
            session,
            card.staged,
            sums,
            lambda metric: metric_view(
                _kept_values(state_id, metric), metric.index, cuped=metric.cuped
            ),
            lambda caps: _state_tails(session, state_id, caps, units, rows),
        )
    return finish_scorecard(
        session, project_id, spec, card, kept_units, units, progress, daily_from_ms
    )


def _kept_values(state_id: int, metric: StagedMetric, *, above: float | None = None) -> Subquery:
    """One metric's kept unit values in the shape of the staged unit values (unit, grp and
    the metric's ``x_<i>``, ``y_<i>``, ``xp_<i>``, ``yp_<i>``), so that the queries over those
    read them as they are; only those with x ``above`` a cap, if given."""
    names = value_names(metric.index, ratio=metric.ratio, cuped=metric.cuped)
    columns = [VALUES.c[name.rsplit("_", 1)[0]].label(name) for name in names]
    query = select(VALUES.c.unit, VALUES.c.grp, *columns).where(
        VALUES.c.state_id == state_id, VALUES.c.metric == metric.index
    )
    if above is not None:  # the tail's few rows, not every row through the tail query's CASE
        query = query.where(VALUES.c.x > above)
    return query.subquery(f"kept_{metric.index}")


def _state_sums(
    session: Session, state_id: int, metrics: Sequence[StagedMetric], units: Mapping[str, int]
) -> tuple[PerMetric, dict[int, dict[str, int]]]:
    """Every metric's per-group sums (a range of the kept values each), and its kept rows per
    group. A mean's units without a kept row are zeros: they count in its N and add nothing
    to any sum."""
    sums: PerMetric = {}
    rows: dict[int, dict[str, int]] = {}
    for metric in metrics:
        kept = _kept_values(state_id, metric)
        rows[metric.index] = {}
        found = per_metric(session, group_sums_many(kept, [metric]), [metric], rows[metric.index])
        sums[metric.index] = found[metric.index]
        if metric.ratio:
            continue
        names = sum_columns(VALUES, "", ratio=False, cuped=metric.cuped, nonzero=metric.winsorized)
        zeros = dict.fromkeys((column.name for column in names), 0.0)
        for grp, count in units.items():
            group_sums = sums[metric.index].setdefault(grp, dict(zeros))
            group_sums["n"] = float(count)
    return sums, rows


def _state_tails(
    session: Session,
    state_id: int,
    caps: Sequence[tuple[StagedMetric, float]],
    units: Mapping[str, int],
    rows: Mapping[int, Mapping[str, int]],
) -> PerMetric:
    """``sql.tail_sums_many`` over the kept values: per capped metric and group, the units
    above the cap. Below a negative cap, a mean's units without a kept row (zeros) are in the
    tail too."""
    tails: PerMetric = {}
    for metric, cap in caps:
        kept = _kept_values(state_id, metric, above=cap)
        of_metric = per_metric(session, tail_sums_many(kept, [(metric, cap)]), [metric])
        tails[metric.index] = of_metric[metric.index]
        if cap < 0 and not metric.ratio:
            for grp, count in units.items():
                zeros = count - rows[metric.index].get(grp, 0)
                if zeros:
                    tail = tails[metric.index].setdefault(grp, {"n": 0.0, "sx": 0.0, "sxx": 0.0})
                    tail["n"] += zeros
    return tails


def keep(
    session: Session,
    state_id: int,
    per_unit: Any,
    values: Any,
    staged: Sequence[tuple[dict[str, Any], StagedMetric]],
) -> None:
    """Copy staged units and unit values into the state: every unit, and of each metric the
    unit values that count (see ``PulseStateValue``)."""
    session.execute(
        insert(UNITS).from_select(
            ["state_id", "unit", "grp", "first_ts", "groups"],
            select(
                literal(state_id),
                per_unit.c.unit,
                per_unit.c.grp,
                per_unit.c.first_ts,
                per_unit.c.groups,
            ),
        )
    )
    for _, metric in staged:
        suffix = f"_{metric.index}"
        x = values.c[f"x{suffix}"]
        y = values.c.get(f"y{suffix}")
        xp = values.c.get(f"xp{suffix}")
        yp = values.c.get(f"yp{suffix}")
        mean_counts = or_(x != 0, xp != 0) if xp is not None else x != 0
        counts = y != 0 if metric.ratio else mean_counts
        session.execute(
            insert(VALUES).from_select(
                ["state_id", "metric", "grp", "unit", "x", "y", "xp", "yp"],
                select(
                    literal(state_id),
                    literal(metric.index),
                    values.c.grp,
                    values.c.unit,
                    x,
                    y if y is not None else literal(None),
                    xp if xp is not None else literal(None),
                    yp if yp is not None else literal(None),
                ).where(counts),
            )
        )
