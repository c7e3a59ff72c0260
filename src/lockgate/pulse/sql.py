"""Pulse push-down: raw exposure and event rows reduced to per-group sums inside the database.

Three steps, all SQLAlchemy Core so the same statements run on SQLite, PostgreSQL and a
warehouse dialect:

1. ``assignments``: one row per unit, its group and first exposure time. Only exposures to a
   group rule count (overrides, targeting and allocation misses are not in the experiment);
   units seen in more than one group (crossovers) are left out and counted separately.
2. ``unit_values``: per unit, the metric's post-exposure value(s) and, for CUPED, the same
   over the seven days before exposure. Events join on the unit id and ``time >= first
   exposure`` (the timestamp join of `stats.md` §1.1).
3. ``group_sums``: per group, N and the sums, squares and cross products the statistics need.

Python only ever sees step 3's few rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    distinct,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.sql import Subquery

from lockgate.models import CustomEvent, Exposure

CUPED_WINDOW_MS = 7 * 86_400_000
Aggregation = Literal["count", "sum", "any"]


@dataclass(frozen=True)
class Criterion:
    """A filter on an event: ``value`` or ``metadata.<field>`` compared with ``values``."""

    field: str  # "value" or a metadata key
    operator: Literal["in", "not_in", "gt", "gte", "lt", "lte", "contains", "is_null", "not_null"]
    values: tuple[str | float, ...] = ()


@dataclass(frozen=True)
class EventSource:
    """Which events feed a metric quantity and how a unit's events become one number."""

    event_name: str
    aggregation: Aggregation = "count"
    criteria: tuple[Criterion, ...] = ()
    value_key: str | None = None  # sum metadata[value_key] instead of the event's value


@dataclass(frozen=True)
class MetricQuery:
    """What Pulse computes for one metric: a mean over all exposed units (``denominator`` is
    None) or a ratio over participating units."""

    numerator: EventSource
    denominator: EventSource | None = None
    cuped: bool = False
    window_ms: int | None = None  # only events within this long after first exposure


@dataclass(frozen=True)
class Assignment:
    experiment: str
    id_type: str
    group_rules: Mapping[str, str]  # rule id -> group name
    start_ms: int | None = None
    end_ms: int | None = None
    kind: str = "config"
    extra_filters: Sequence[ColumnElement[bool]] = field(default_factory=tuple)


def unit_id_column(table: Any, id_type: str) -> ColumnElement[Any]:
    """The unit id of a row for an id type: userID, stableID, or a custom id."""
    lowered = id_type.lower()
    if lowered == "userid":
        return table.c.user_id if hasattr(table, "c") else table.user_id  # type: ignore[no-any-return]
    if lowered == "stableid":
        return table.c.stable_id if hasattr(table, "c") else table.stable_id  # type: ignore[no-any-return]
    column = table.c.custom_ids if hasattr(table, "c") else table.custom_ids
    return column[id_type].as_string()  # type: ignore[no-any-return]


def assignments(project_id: str, spec: Assignment) -> Subquery:
    """(unit, grp, first_ts) for units exposed to exactly one group."""
    unit = unit_id_column(Exposure, spec.id_type).label("unit")
    group = case(
        *((Exposure.rule_id == rule, literal(name)) for rule, name in spec.group_rules.items()),
        else_=None,
    )
    conditions = [
        Exposure.project_id == project_id,
        Exposure.kind == spec.kind,
        Exposure.name == spec.experiment,
        Exposure.rule_id.in_(list(spec.group_rules)),
        unit.is_not(None),
        unit != "",
        *spec.extra_filters,
    ]
    if spec.start_ms is not None:
        conditions.append(Exposure.time >= spec.start_ms)
    if spec.end_ms is not None:
        conditions.append(Exposure.time < spec.end_ms)
    per_unit = (
        select(
            unit,
            func.min(group).label("grp"),
            func.min(Exposure.time).label("first_ts"),
            func.count(distinct(group)).label("groups"),
        )
        .where(*conditions)
        .group_by(unit)
        .subquery("per_unit")
    )
    return (
        select(per_unit.c.unit, per_unit.c.grp, per_unit.c.first_ts)
        .where(per_unit.c.groups == 1)
        .subquery("assignment")
    )


def crossover_count(project_id: str, spec: Assignment) -> Select[tuple[int]]:
    unit = unit_id_column(Exposure, spec.id_type).label("unit")
    group = case(
        *((Exposure.rule_id == rule, literal(name)) for rule, name in spec.group_rules.items()),
        else_=None,
    )
    per_unit = (
        select(unit, func.count(distinct(group)).label("groups"))
        .where(
            Exposure.project_id == project_id,
            Exposure.kind == spec.kind,
            Exposure.name == spec.experiment,
            Exposure.rule_id.in_(list(spec.group_rules)),
            unit.is_not(None),
        )
        .group_by(unit)
        .subquery()
    )
    return select(func.count()).select_from(per_unit).where(per_unit.c.groups > 1)


def _criterion(criterion: Criterion) -> ColumnElement[bool]:
    if criterion.field == "value":
        numeric: Any = CustomEvent.value_number
        text: Any = CustomEvent.value_text
    else:
        text = CustomEvent.event_metadata[criterion.field].as_string()
        numeric = CustomEvent.event_metadata[criterion.field].as_float()
    values = list(criterion.values)
    op = criterion.operator
    if op == "in":
        return text.in_([str(v) for v in values])  # type: ignore[no-any-return]
    if op == "not_in":
        return or_(text.is_(None), text.not_in([str(v) for v in values]))
    if op == "contains":
        return or_(*(text.contains(str(v)) for v in values))
    if op == "is_null":
        return text.is_(None)  # type: ignore[no-any-return]
    if op == "not_null":
        return text.is_not(None)  # type: ignore[no-any-return]
    bound = float(values[0])
    comparisons = {
        "gt": numeric > bound,
        "gte": numeric >= bound,
        "lt": numeric < bound,
        "lte": numeric <= bound,
    }
    return comparisons[op]  # type: ignore[no-any-return]


def _aggregate(source: EventSource, in_window: ColumnElement[bool]) -> ColumnElement[Any]:
    matches = and_(in_window, CustomEvent.event_name == source.event_name)
    if source.aggregation == "sum":
        amount: Any = (
            CustomEvent.event_metadata[source.value_key].as_float()
            if source.value_key
            else CustomEvent.value_number
        )
        return func.coalesce(
            func.sum(case((matches, func.coalesce(amount, 0.0)), else_=0.0)),
            0.0,
        )
    count = func.coalesce(func.sum(case((matches, 1), else_=0)), 0)
    if source.aggregation == "any":
        return case((count > 0, 1.0), else_=0.0)
    return count * 1.0


def unit_values(
    project_id: str, assignment: Subquery, metric: MetricQuery, id_type: str
) -> Subquery:
    """Per unit: x (numerator), y (denominator, or 1), and pre-period xp, yp when CUPED."""
    event_unit = unit_id_column(CustomEvent, id_type)
    names = {metric.numerator.event_name}
    if metric.denominator is not None:
        names.add(metric.denominator.event_name)
    lower = assignment.c.first_ts - (CUPED_WINDOW_MS if metric.cuped else 0)
    join = and_(
        event_unit == assignment.c.unit,
        CustomEvent.project_id == project_id,
        CustomEvent.event_name.in_(sorted(names)),
        CustomEvent.time >= lower,
    )
    if metric.window_ms is not None:
        join = and_(join, CustomEvent.time < assignment.c.first_ts + metric.window_ms)
    post = CustomEvent.time >= assignment.c.first_ts
    pre = CustomEvent.time < assignment.c.first_ts

    def quantity(source: EventSource, when: ColumnElement[bool]) -> ColumnElement[Any]:
        criteria = [_criterion(c) for c in source.criteria]
        return _aggregate(source, and_(when, *criteria) if criteria else when)

    columns = [
        assignment.c.unit,
        assignment.c.grp,
        quantity(metric.numerator, post).label("x"),
        (
            quantity(metric.denominator, post) if metric.denominator is not None else literal(1.0)
        ).label("y"),
    ]
    if metric.cuped:
        columns.append(quantity(metric.numerator, pre).label("xp"))
        columns.append(
            (
                quantity(metric.denominator, pre)
                if metric.denominator is not None
                else literal(1.0)
            ).label("yp")
        )
    return (
        select(*columns)
        .select_from(assignment.outerjoin(CustomEvent, join))
        .group_by(assignment.c.unit, assignment.c.grp)
        .subquery("unit_values")
    )


def group_sums(units: Subquery, *, ratio: bool, cuped: bool) -> Select[Any]:
    """Per group: N and every sum the statistics need. Ratio metrics count participating units
    only (y != 0)."""
    x, y = units.c.x, units.c.y
    columns: list[Any] = [
        units.c.grp,
        func.count().label("n"),
        func.sum(x).label("sx"),
        func.sum(x * x).label("sxx"),
    ]
    if ratio:
        columns += [
            func.sum(y).label("sy"),
            func.sum(y * y).label("syy"),
            func.sum(x * y).label("sxy"),
        ]
    if cuped:
        xp, yp = units.c.xp, units.c.yp
        columns += [
            func.sum(xp).label("sxp"),
            func.sum(xp * xp).label("sxpxp"),
            func.sum(x * xp).label("sxxp"),
            func.sum(case((xp != 0, 1), else_=0)).label("with_pre"),
        ]
        if ratio:
            columns += [
                func.sum(yp).label("syp"),
                func.sum(yp * yp).label("sypyp"),
                func.sum(xp * yp).label("sxpyp"),
                func.sum(x * yp).label("sxyp"),
                func.sum(y * xp).label("syxp"),
                func.sum(y * yp).label("syyp"),
            ]
    query = select(*columns).group_by(units.c.grp)
    if ratio:
        query = query.where(y != 0)
    return query


def group_units(assignment: Subquery) -> Select[Any]:
    """Units per group (for sample-ratio checks)."""
    return select(assignment.c.grp, func.count().label("n")).group_by(assignment.c.grp)


def exposure_days(project_id: str, spec: Assignment) -> Select[Any]:
    """First exposures per group and UTC day (for the daily views)."""
    assignment = assignments(project_id, spec)
    day = func.floor(assignment.c.first_ts / 86_400_000).label("day")
    return select(assignment.c.grp, day, func.count().label("n")).group_by(assignment.c.grp, day)
