"""Per-unit metric values as SQL over the ``events`` table (SQLAlchemy Core, any dialect).

``unit_values_query`` is the one entry point: the metric values API aggregates it per day, and
Pulse joins it to exposures. Everything is reduced inside the database; Python only builds the
statement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    FromClause,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    distinct,
    false,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from lockgate.storage.models import CustomEvent

DAY_MS = 86_400_000
EVENTS = CustomEvent.__table__


# -- definitions as Pulse sees them ----------------------------------------------------------


@dataclass(frozen=True)
class Criterion:
    """One ``MetricEventsCriteriaDto``: ``type`` value|metadata|user|user_custom."""

    type: str
    condition: str
    column: str | None = None
    values: tuple[str, ...] = ()
    null_passes: bool = False  # nullVacuousOverride


@dataclass(frozen=True)
class EventSelector:
    """Events named ``name`` that pass every criterion, and what each contributes.

    ``measure``: ``count`` (1 per event), ``count_distinct`` (1 per active UTC day), ``value``
    (the event's numeric value) or ``metadata`` (the number in ``metadata[metadata_key]``).
    """

    name: str
    measure: str = "count"
    metadata_key: str | None = None
    criteria: tuple[Criterion, ...] = ()


@dataclass(frozen=True)
class MetricSpec:
    """A metric resolved for computation: references to other metrics are already resolved.

    ``events`` serve event_count(_custom), event_user, sum, mean and ratio (``events[0]`` is the
    numerator, ``events[1]`` the denominator); ``funnel_steps`` holds one tuple of selectors per
    step; ``components`` the component metrics of composite (numerator, denominator) and
    composite_sum.
    """

    project_id: str
    metric_id: str
    type: str
    events: tuple[EventSelector, ...] = ()
    funnel_steps: tuple[tuple[EventSelector, ...], ...] = ()
    funnel_count: str = "users"  # users | events
    components: tuple[MetricSpec, ...] = ()

    def event_names(self) -> set[str]:
        names = {s.name for s in self.events}
        names.update(s.name for step in self.funnel_steps for s in step)
        for component in self.components:
            names |= component.event_names()
        return names


# Group mean = Σ numerator / Σ denominator over participating units
# (docs/statistics.md §Metric types).
RATIO_TYPES = frozenset({"mean", "ratio", "funnel", "composite"})


# -- portable helpers ------------------------------------------------------------------------


class safe_number(FunctionElement[float]):
    """The number a text holds, NULL when it holds none (never a cast error mid-query)."""

    type = Float()
    name = "safe_number"
    inherit_cache = True


@compiles(safe_number)
def _safe_number_default(element: safe_number, compiler: SQLCompiler, **kw: Any) -> str:
    # Warehouse engines (DuckDB, Snowflake, ClickHouse) all spell a non-raising cast TRY_CAST.
    return f"TRY_CAST({compiler.process(element.clauses, **kw)} AS DOUBLE)"


@compiles(safe_number, "postgresql")
def _safe_number_pg(element: safe_number, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    pattern = r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"
    return f"CASE WHEN {text} ~ '{pattern}' THEN CAST({text} AS DOUBLE PRECISION) END"


@compiles(safe_number, "sqlite")
def _safe_number_sqlite(element: safe_number, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite's CAST turns any text into a number (0.0 for 'abc'), so look before casting.
    text = f"trim({compiler.process(element.clauses, **kw)})"
    return (
        f"CASE WHEN {text} GLOB '*[0-9]*' AND NOT {text} GLOB '*[^0-9.eE+-]*' "
        f"THEN CAST({text} AS REAL) END"
    )


def unit_id_expression(id_type: str) -> ColumnElement[Any]:
    """The ``events`` column holding units of ``id_type`` (custom ids live in a JSON map)."""
    lowered = id_type.lower()
    if lowered == "userid":
        return EVENTS.c.user_id
    if lowered == "stableid":
        return EVENTS.c.stable_id
    custom: ColumnElement[Any] = EVENTS.c.custom_ids[id_type].as_string()
    return custom


# -- criteria: operators are a table ---------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    text: ColumnElement[Any]
    number: ColumnElement[Any]


def _numeric(values: Sequence[str]) -> float:
    return float(values[0])


def _contains(target: _Target, values: Sequence[str]) -> ColumnElement[bool]:
    lowered = func.lower(target.text)
    return or_(*(lowered.contains(v.lower(), autoescape=True) for v in values))


OPERATORS: dict[str, Callable[[_Target, Sequence[str]], ColumnElement[bool]]] = {
    "in": lambda t, v: t.text.in_(list(v)),
    "not_in": lambda t, v: t.text.not_in(list(v)),
    "=": lambda t, v: t.text == v[0],
    ">": lambda t, v: t.number > _numeric(v),
    "<": lambda t, v: t.number < _numeric(v),
    ">=": lambda t, v: t.number >= _numeric(v),
    "<=": lambda t, v: t.number <= _numeric(v),
    "is_null": lambda t, _v: t.text.is_(None),
    "non_null": lambda t, _v: t.text.is_not(None),
    "contains": _contains,
    "not_contains": lambda t, v: ~_contains(t, v),
    "is_true": lambda t, _v: func.lower(t.text).in_(["true", "1"]),
    "is_false": lambda t, _v: func.lower(t.text).in_(["false", "0"]),
}


def _target(criterion: Criterion, src: FromClause) -> _Target:
    if criterion.type == "value":
        return _Target(src.c.value_text, src.c.value_number)
    if criterion.type == "metadata":
        text = cast(src.c["metadata"][criterion.column].as_string(), String)
    elif criterion.type == "user":
        text = cast(src.c.user[criterion.column].as_string(), String)
    elif criterion.type == "user_custom":
        text = cast(src.c.user[("custom", criterion.column)].as_string(), String)
    else:
        raise ValueError(f"unknown criterion type {criterion.type!r}")
    return _Target(text, safe_number(text))


def _criterion(criterion: Criterion, src: FromClause) -> ColumnElement[bool]:
    operator = OPERATORS.get(criterion.condition)
    if operator is None:  # fail closed: definitions are validated before they get here
        raise ValueError(f"unsupported condition {criterion.condition!r}")
    target = _target(criterion, src)
    clause = operator(target, criterion.values)
    return or_(target.text.is_(None), clause) if criterion.null_passes else clause


def _matches(selector: EventSelector, src: FromClause) -> ColumnElement[bool]:
    return and_(src.c.event_name == selector.name, *(_criterion(c, src) for c in selector.criteria))


def _any(selectors: Sequence[EventSelector], src: FromClause) -> ColumnElement[bool]:
    return or_(*(_matches(s, src) for s in selectors)) if selectors else false()


# -- measures: what one event contributes ----------------------------------------------------


def _day(src: FromClause) -> ColumnElement[Any]:
    return src.c.time // DAY_MS


def _measure_value(selector: EventSelector, src: FromClause) -> ColumnElement[Any]:
    if selector.measure == "metadata":
        return safe_number(cast(src.c["metadata"][selector.metadata_key].as_string(), String))
    return src.c.value_number


MEASURES: dict[str, Callable[[EventSelector, FromClause], ColumnElement[Any]]] = {
    "count": lambda s, src: func.sum(case((_matches(s, src), 1), else_=0)),
    "count_distinct": lambda s, src: func.count(distinct(case((_matches(s, src), _day(src))))),
    "value": lambda s, src: func.coalesce(
        func.sum(case((_matches(s, src), _measure_value(s, src)))), 0
    ),
    "metadata": lambda s, src: func.coalesce(
        func.sum(case((_matches(s, src), _measure_value(s, src)))), 0
    ),
}


def _aggregate(selector: EventSelector, src: FromClause) -> ColumnElement[Any]:
    return MEASURES[selector.measure](selector, src)


# -- one builder per metric type -------------------------------------------------------------

_Source = Callable[[], FromClause]


def _as_float(expr: ColumnElement[Any] | None) -> ColumnElement[Any]:
    return cast(null() if expr is None else expr, Float)


def _ratio_value(num: ColumnElement[Any], den: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((den != 0, _as_float(num) / _as_float(den)), else_=None)


def _select(
    unit: ColumnElement[Any],
    value: ColumnElement[Any] | None,
    numerator: ColumnElement[Any] | None = None,
    denominator: ColumnElement[Any] | None = None,
) -> Select[Any]:
    if value is None:
        assert numerator is not None and denominator is not None
        value = _ratio_value(numerator, denominator)
    return select(
        unit.label("unit_id"),
        _as_float(value).label("value"),
        _as_float(numerator).label("numerator"),
        _as_float(denominator).label("denominator"),
    )


def _event_count(spec: MetricSpec, source: _Source) -> Select[Any]:
    src = source()
    value = func.sum(case((_any(spec.events, src), 1), else_=0))
    return _select(src.c.unit_id, value).group_by(src.c.unit_id)


def _event_user(spec: MetricSpec, source: _Source) -> Select[Any]:
    src = source()
    value = func.count(distinct(case((_any(spec.events, src), _day(src)))))
    return _select(src.c.unit_id, value).group_by(src.c.unit_id)


def _sum(spec: MetricSpec, source: _Source) -> Select[Any]:
    src = source()
    total = sum((_aggregate(s, src) for s in spec.events[1:]), _aggregate(spec.events[0], src))
    return _select(src.c.unit_id, total).group_by(src.c.unit_id)


def _mean(spec: MetricSpec, source: _Source) -> Select[Any]:
    src = source()
    sums = [_aggregate(s, src) for s in spec.events]
    counts = [func.count(case((_matches(s, src), _measure_value(s, src)))) for s in spec.events]
    numerator = sum(sums[1:], sums[0])
    denominator = sum(counts[1:], counts[0])
    return _select(src.c.unit_id, None, numerator, denominator).group_by(src.c.unit_id)


def _ratio(spec: MetricSpec, source: _Source) -> Select[Any]:
    src = source()
    numerator = _aggregate(spec.events[0], src)
    denominator = _aggregate(spec.events[1], src)
    return _select(src.c.unit_id, None, numerator, denominator).group_by(src.c.unit_id)


def _funnel(spec: MetricSpec, source: _Source) -> Select[Any]:
    """Each step's first event at or after the previous step's (first occurrences are canonical)."""
    src = source()
    first = (
        select(src.c.unit_id, func.min(src.c.time).label("t"), func.count().label("n"))
        .where(_any(spec.funnel_steps[0], src))
        .group_by(src.c.unit_id)
        .subquery()
    )
    previous = first
    for step in spec.funnel_steps[1:]:
        src = source()
        previous = (
            select(src.c.unit_id, func.min(src.c.time).label("t"), func.count().label("n"))
            .select_from(src.join(previous, previous.c.unit_id == src.c.unit_id))
            .where(_any(step, src), src.c.time >= previous.c.t)
            .group_by(src.c.unit_id)
            .subquery()
        )
    last = previous
    if spec.funnel_count == "events":
        numerator: ColumnElement[Any] = func.coalesce(last.c.n, 0)
        denominator: ColumnElement[Any] = first.c.n
    else:
        numerator = case((last.c.t.is_not(None), 1), else_=0)
        denominator = literal(1, Integer)
    return _select(first.c.unit_id, None, numerator, denominator).select_from(
        first.outerjoin(last, last.c.unit_id == first.c.unit_id)
    )


def _components(spec: MetricSpec, build: Callable[[MetricSpec], Select[Any]]) -> FromClause:
    parts = []
    for index, component in enumerate(spec.components):
        inner = build(component).subquery()
        parts.append(select(literal(index, Integer).label("k"), inner.c.unit_id, inner.c.value))
    return union_all(*parts).subquery()


def _component_part(parts: FromClause, index: int) -> ColumnElement[Any]:
    return func.sum(case((parts.c.k == index, parts.c.value), else_=0))


BUILDERS: dict[str, Callable[[MetricSpec, _Source], Select[Any]]] = {
    "event_count": _event_count,
    "event_count_custom": _event_count,
    "event_user": _event_user,
    "sum": _sum,
    "mean": _mean,
    "ratio": _ratio,
    "funnel": _funnel,
}


def unit_values_query(
    metric_definition: MetricSpec,
    start_ms: int,
    end_ms: int,
    unit_id_column: str | ColumnElement[Any],
    *,
    since: FromClause | None = None,
) -> Select[Any]:
    """Per-unit values of a metric over events with ``start_ms <= time < end_ms``.

    Returns a SELECT with one row per unit that has at least one event named by the metric in
    the window (its value is 0 when the criteria reject all of them), and the columns:

    - ``unit_id`` (text): the unit, taken from ``unit_id_column``: an id type (``"userID"``,
      ``"stableID"`` or a custom id name, see ``unit_id_expression``) or any expression over
      the ``events`` table (``literal("overall")`` treats all events as one unit). Events
      without that unit id are skipped.
    - ``value`` (float): the unit's value. event_count / event_count_custom: number of events;
      event_user: number of distinct UTC days with an event (0/1 over one day; Pulse divides by
      the unit's days in the experiment for a daily participation rate); sum: sum of the event
      values or metadata numbers; composite_sum: sum of the component values. For mean, ratio,
      funnel and composite it is ``numerator / denominator``, NULL when the denominator is 0.
    - ``numerator``, ``denominator`` (float): set for mean (sum of values, number of values),
      ratio (numerator events, denominator events, each by its measure), funnel (1 if the unit
      completed every step in order, else 0; and 1 for a unit that started; with
      ``funnel_count == "events"``, counts of last- and first-step events) and composite (the
      two component values); NULL for the additive types. For these types the group mean is
      Σ numerator / Σ denominator over units with a non-zero denominator
      (docs/statistics.md §Metric types).

    Units absent from the result have no events: additive metrics count them as 0 over all
    exposed units, ratio-type metrics leave them out. ``since``, when given, is a selectable
    with ``unit_id`` and ``start_ms`` columns (and optionally ``end_ms``): only its units count,
    and only their events with ``start_ms <= time`` (``< end_ms``). Pulse passes first exposures
    here (Cloud joins by date: the start of the first exposure's UTC day) and rollup windows.
    """
    unit = unit_id_expression(unit_id_column) if isinstance(unit_id_column, str) else unit_id_column
    spec = metric_definition
    names = sorted(spec.event_names())

    def source() -> FromClause:
        query = select(
            unit.label("unit_id"),
            EVENTS.c.time,
            EVENTS.c.event_name,
            EVENTS.c.value_text,
            EVENTS.c.value_number,
            EVENTS.c["metadata"],
            EVENTS.c.user,
        ).where(
            EVENTS.c.project_id == spec.project_id,
            EVENTS.c.event_name.in_(names),
            EVENTS.c.time >= start_ms,
            EVENTS.c.time < end_ms,
            unit.is_not(None),
            unit != "",
        )
        if since is not None:
            window = [EVENTS.c.time >= since.c.start_ms]
            if "end_ms" in since.c:
                window.append(EVENTS.c.time < since.c.end_ms)
            query = query.join(since, since.c.unit_id == unit).where(*window)
        return query.subquery()

    def build(component: MetricSpec) -> Select[Any]:
        return unit_values_query(component, start_ms, end_ms, unit_id_column, since=since)

    if spec.type in ("composite", "composite_sum"):
        parts = _components(spec, build)
        if spec.type == "composite_sum":
            return _select(parts.c.unit_id, func.sum(parts.c.value)).group_by(parts.c.unit_id)
        numerator = _component_part(parts, 0)
        denominator = _component_part(parts, 1)
        return _select(parts.c.unit_id, None, numerator, denominator).group_by(parts.c.unit_id)
    builder = BUILDERS.get(spec.type)
    if builder is None:
        raise ValueError(f"metric type {spec.type!r} cannot be computed from events")
    return builder(spec, source)
