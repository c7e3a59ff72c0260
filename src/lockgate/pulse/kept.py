"""The per-unit values a Pulse load keeps (``pulse_state_units``, ``pulse_state_values``):
copied in from a load's staged tables, and read back as the scorecard ``scorecard_sums``
would compute from the raw rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, func, insert, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from lockgate.models import PulseStateUnit, PulseStateValue
from lockgate.pulse.engine import PerMetric, Scorecard, fill_sums, finish_scorecard
from lockgate.pulse.jobs import Progress
from lockgate.pulse.sql import Assignment, StagedMetric, sum_columns

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
            lambda metric: _metric_values(state_id, metric),
            lambda caps: _state_tails(session, state_id, caps, units, rows),
        )
    return finish_scorecard(
        session, project_id, spec, card, kept_units, units, progress, daily_from_ms
    )


def _state_sums(
    session: Session, state_id: int, metrics: Sequence[StagedMetric], units: Mapping[str, int]
) -> tuple[PerMetric, dict[int, dict[str, int]]]:
    """Every metric's per-group sums (a range of the kept values each), and its kept rows per
    group. A mean's units without a kept row are zeros: they count in its N and add nothing
    to any sum."""
    sums: PerMetric = {}
    rows: dict[int, dict[str, int]] = {}
    for metric in metrics:
        columns = sum_columns(
            VALUES, "", ratio=metric.ratio, cuped=metric.cuped, nonzero=metric.winsorized
        )
        statement = (
            select(VALUES.c.grp, *columns)
            .where(VALUES.c.state_id == state_id, VALUES.c.metric == metric.index)
            .group_by(VALUES.c.grp)
        )
        names = [column.name for column in columns]
        found = {str(row._mapping["grp"]): row._mapping for row in session.execute(statement)}
        rows[metric.index] = {grp: int(kept["n"]) for grp, kept in found.items()}
        sums[metric.index] = {}
        for grp in found if metric.ratio else units:
            kept = found.get(grp)
            group_sums = {name: float(kept[name] or 0) if kept else 0.0 for name in names}
            if not metric.ratio:
                group_sums["n"] = float(units[grp])
            if group_sums["n"]:
                sums[metric.index][grp] = group_sums
    return sums, rows


def _metric_values(state_id: int, metric: StagedMetric) -> Subquery:
    """One metric's kept unit values (unit, grp, x, y, xp, yp): the winsorization cap reads
    the non-zero x, which are all kept."""
    return (
        select(VALUES.c.unit, VALUES.c.grp, VALUES.c.x, VALUES.c.y, VALUES.c.xp, VALUES.c.yp)
        .where(VALUES.c.state_id == state_id, VALUES.c.metric == metric.index)
        .subquery(f"metric_{metric.index}")
    )


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
        x = VALUES.c.x
        columns = [func.count().label("n"), func.sum(x).label("sx"), func.sum(x * x).label("sxx")]
        if metric.cuped:
            columns += [func.sum(VALUES.c.xp).label("sxp"), func.sum(x * VALUES.c.xp).label("sxxp")]
        statement = (
            select(VALUES.c.grp, *columns)
            .where(VALUES.c.state_id == state_id, VALUES.c.metric == metric.index, x > cap)
            .group_by(VALUES.c.grp)
        )
        of_metric: dict[str, dict[str, float]] = {}
        for row in session.execute(statement):
            values = row._mapping
            of_metric[str(values["grp"])] = {
                key: float(values[key] or 0) for key in values if key != "grp"
            }
        if cap < 0 and not metric.ratio:
            for grp, count in units.items():
                zeros = count - rows.get(metric.index, {}).get(grp, 0)
                if zeros:
                    tail = of_metric.setdefault(grp, {"n": 0.0, "sx": 0.0, "sxx": 0.0})
                    tail["n"] += zeros
        tails[metric.index] = {grp: tail for grp, tail in of_metric.items() if tail["n"]}
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
