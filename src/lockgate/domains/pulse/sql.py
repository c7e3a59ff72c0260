"""Pulse push-down: raw exposure and event rows reduced to per-group sums inside the database.

Three steps, all SQLAlchemy Core so the same statements run on SQLite, PostgreSQL and a
warehouse dialect:

1. ``assignments``: one row per unit, its group and first exposure time. Only exposures to a
   group rule count (overrides, targeting and allocation misses are not in the experiment);
   units seen in more than one group (crossovers) are left out and counted separately.
   Gate rules and holdouts group by an exposure *value* instead of a rule id
   (``Assignment.group_by_value``): a gate rule's units passed ("true") or failed ("false")
   it; a holdout's units are held out or not according to the holdout's entry in the
   secondary exposures of the entities it covers (``SecondaryGateValue``).
2. ``unit_values``: per unit, the metric's post-exposure value(s) and, for CUPED, the same
   over the seven days before exposure. Events join on the unit id and ``time >= first
   exposure`` (the timestamp join of `docs/statistics.md` §Exposures and events).
3. ``group_sums``: per group, N and the sums, squares and cross products the statistics need.

Python only ever sees step 3's few rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from sqlalchemy import (
    CTE,
    BigInteger,
    Column,
    ColumnElement,
    CompoundSelect,
    Float,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Subquery
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.util import ClauseAdapter

from lockgate.domains.metrics.sql import DAY_MS
from lockgate.storage.models import CustomEvent, Exposure

CUPED_WINDOW_MS = 7 * DAY_MS
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
    """Which exposures put a unit in which group.

    By default a unit's group is the one whose rule id it was exposed to (``group_rules``).
    With ``group_by_value`` the group is chosen by the exposure's value (``value``, by default
    the exposure's own ``value`` column, e.g. a gate's "true"/"false"); ``group_rules`` then
    only restricts the rule ids (empty: any), and ``experiment``/``kind`` None mean any
    entity/kind.
    """

    experiment: str | None
    id_type: str
    group_rules: Mapping[str, str]  # rule id -> group name
    start_ms: int | None = None
    end_ms: int | None = None
    kind: str | None = "config"
    extra_filters: Sequence[ColumnElement[bool]] = field(default_factory=tuple)
    group_by_value: Mapping[str, str] | None = None  # exposure value -> group name
    value: ColumnElement[Any] | None = None  # what group_by_value reads; Exposure.value if None

    @property
    def group_names(self) -> list[str]:
        """The groups units are put in."""
        names = self.group_by_value if self.group_by_value is not None else self.group_rules
        return sorted(set(names.values()))

    @property
    def until_ms(self) -> int:
        """``end_ms``, or a time after every event when the assignment is open-ended."""
        return self.end_ms if self.end_ms is not None else 2**62


class SecondaryGateValue(FunctionElement[str]):
    """``gateValue`` ("true"/"false") of gate ``gate`` among an exposure's secondary exposures,
    NULL when the gate is not among them or it was decided by an override.

    SDKs log every nested ``pass_gate`` evaluation (a holdout reference, a targeting gate) as
    a secondary exposure ``{gate, gateValue, ruleID}`` of the exposure that evaluated it; this
    is the only trace a holdout leaves in exposure data. Rendered per dialect: ``json_each`` on
    SQLite (the default), ``jsonb_array_elements`` on PostgreSQL.
    """

    type = String()
    name = "secondary_gate_value"
    inherit_cache = True


_OVERRIDE_RULE = "%id_override"


@compiles(SecondaryGateValue)
def _secondary_gate_value_sqlite(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    column, gate = (compiler.process(c, **kw) for c in element.clauses)
    override = compiler.process(literal(_OVERRIDE_RULE), **kw)
    # json_extract would fail on a non-object item; CASE keeps it to objects. A boolean
    # gateValue (some SDKs) reads as 1/0 through json_extract, so json_type spells it.
    return (
        "(SELECT CASE json_type(j.value, '$.gateValue') WHEN 'true' THEN 'true' "
        "WHEN 'false' THEN 'false' ELSE json_extract(j.value, '$.gateValue') END "
        f"FROM json_each({column}) AS j "
        f"WHERE (CASE WHEN j.type = 'object' THEN json_extract(j.value, '$.gate') END) = {gate} "
        "AND COALESCE(CASE WHEN j.type = 'object' THEN json_extract(j.value, '$.ruleID') END, "
        f"'') NOT LIKE {override} LIMIT 1)"
    )


@compiles(SecondaryGateValue, "postgresql")
def _secondary_gate_value_postgresql(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    column, gate = (compiler.process(c, **kw) for c in element.clauses)
    override = compiler.process(literal(_OVERRIDE_RULE), **kw)
    # jsonb_array_elements raises on a non-array (a JSON null is stored for "no secondary
    # exposures"); ->> yields NULL on non-object items.
    return (
        "(SELECT j.value ->> 'gateValue' FROM jsonb_array_elements(CASE WHEN "
        f"jsonb_typeof({column}) = 'array' THEN {column} ELSE '[]'::jsonb END) AS j(value) "
        f"WHERE j.value ->> 'gate' = {gate} "
        f"AND COALESCE(j.value ->> 'ruleID', '') NOT LIKE {override} LIMIT 1)"
    )


def secondary_gate_filter(gate: str) -> ColumnElement[bool]:
    """A cheap text pre-filter: only exposures whose secondary exposures mention ``gate``
    are parsed as JSON."""
    return cast(Exposure.secondary_exposures, Text).contains(gate, autoescape=True)


def unit_id_column(table: Any, id_type: str) -> ColumnElement[Any]:
    """The unit id of a row for an id type: userID, stableID, or a custom id."""
    lowered = id_type.lower()
    if lowered == "userid":
        return table.c.user_id if hasattr(table, "c") else table.user_id  # type: ignore[no-any-return]
    if lowered == "stableid":
        return table.c.stable_id if hasattr(table, "c") else table.stable_id  # type: ignore[no-any-return]
    column = table.c.custom_ids if hasattr(table, "c") else table.custom_ids
    return column[id_type].as_string()  # type: ignore[no-any-return]


def _grouped_exposures(project_id: str, spec: Assignment, source: Any = Exposure) -> Subquery:
    """(unit, grp, ts) of every exposure that puts a unit in a group; ``source`` is the
    exposures table or an alias of it over some of its rows."""
    unit = unit_id_column(source, spec.id_type).label("unit")
    conditions: list[ColumnElement[bool]] = [source.project_id == project_id]
    if spec.kind is not None:
        conditions.append(source.kind == spec.kind)
    if spec.experiment is not None:
        conditions.append(source.name == spec.experiment)
    if spec.group_by_value is None or spec.group_rules:
        conditions.append(source.rule_id.in_(list(spec.group_rules)))
    conditions += [unit.is_not(None), unit != "", *spec.extra_filters]
    if spec.start_ms is not None:
        conditions.append(source.time >= spec.start_ms)
    if spec.end_ms is not None:
        conditions.append(source.time < spec.end_ms)
    if spec.group_by_value is None:
        group = case(
            *((source.rule_id == rule, literal(name)) for rule, name in spec.group_rules.items()),
            else_=None,
        )
        return (
            select(unit, group.label("grp"), source.time.label("ts"))
            .where(*conditions)
            .subquery("grouped")
        )
    # The value may be an expensive expression (a JSON search): computed once per row.
    value = spec.value if spec.value is not None else source.value
    valued = (
        select(unit, value.label("v"), source.time.label("ts"))
        .where(*conditions)
        .subquery("valued")
    )
    by_value = case(
        *((valued.c.v == key, literal(name)) for key, name in spec.group_by_value.items()),
        else_=None,
    )
    return (
        select(valued.c.unit, by_value.label("grp"), valued.c.ts)
        .where(valued.c.v.in_(list(spec.group_by_value)))
        .subquery("grouped")
    )


def _per_unit(project_id: str, spec: Assignment) -> Subquery:
    grouped = _grouped_exposures(project_id, spec)
    return (
        select(
            grouped.c.unit,
            func.min(grouped.c.grp).label("grp"),
            func.min(grouped.c.ts).label("first_ts"),
            # 1, or 2 for a unit met in more than one group (a crossover): cheaper than
            # counting distinct groups, which builds a small index per unit.
            case((func.min(grouped.c.grp) == func.max(grouped.c.grp), 1), else_=2).label("groups"),
        )
        .group_by(grouped.c.unit)
        .subquery("per_unit")
    )


def assignments(project_id: str, spec: Assignment) -> Subquery:
    """(unit, grp, first_ts) for units exposed to exactly one group."""
    per_unit = _per_unit(project_id, spec)
    return (
        select(per_unit.c.unit, per_unit.c.grp, per_unit.c.first_ts)
        .where(per_unit.c.groups == 1)
        .subquery("assignment")
    )


def crossover_count(project_id: str, spec: Assignment) -> Select[tuple[int]]:
    """Units exposed to more than one group (left out of the analysis)."""
    per_unit = _per_unit(project_id, spec)
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
    """A unit's quantity over its joined event rows that match. FILTER, not a CASE inside the
    aggregate: each row feeds only the aggregates it matches (about one per row) instead of
    adding a 0 to every other one, the cost of which grows with the number of metrics."""
    matches = and_(CustomEvent.event_name == source.event_name, in_window)
    if source.aggregation == "sum":
        amount: Any = (
            CustomEvent.event_metadata[source.value_key].as_float()
            if source.value_key
            else CustomEvent.value_number
        )
        # SUM skips NULL amounts (a 0 each, as before) and is NULL without a matching row.
        return func.coalesce(func.sum(amount).filter(matches), 0.0)
    count = func.count().filter(matches)
    if source.aggregation == "any":
        return case((count > 0, 1.0), else_=0.0)
    return count * 1.0


def unit_values(
    project_id: str, assignment: Subquery, metric: MetricQuery, id_type: str
) -> Subquery:
    """Per unit: x (numerator), y (denominator, or 1), and pre-period xp, yp when CUPED."""
    values = unit_values_many(project_id, assignment, [metric], id_type)
    return metric_view(values, 0, cuped=metric.cuped)


def _quantity(source: EventSource, when: ColumnElement[bool]) -> ColumnElement[Any]:
    criteria = [_criterion(c) for c in source.criteria]
    return _aggregate(source, and_(when, *criteria) if criteria else when)


def value_columns(index: int, metric: MetricQuery) -> list[str]:
    """The columns ``unit_values_many`` gives metric ``index``."""
    return value_names(index, ratio=metric.denominator is not None, cuped=metric.cuped)


def value_names(index: int, *, ratio: bool, cuped: bool) -> list[str]:
    """The unit value columns of metric ``index``: x, xp for CUPED, and for a ratio metric
    its denominator y (and yp); a mean's denominator is 1 and not stored."""
    names = ["x", "y"] if ratio else ["x"]
    if cuped:
        names += ["xp", "yp"] if ratio else ["xp"]
    return [f"{name}_{index}" for name in names]


def unit_values_many(
    project_id: str,
    assignment: Any,
    metrics: Sequence[MetricQuery],
    id_type: str,
    *,
    days: tuple[int, int] | None = None,
) -> Subquery:
    """Per unit, the values of every metric in one pass over the events: for metric ``i``,
    ``x_i`` (numerator), ``y_i`` (denominator, or 1) and, when CUPED, the pre-period ``xp_i``,
    ``yp_i``. ``assignment`` is a (unit, grp, first_ts) subquery, or a ``per_unit_table``, of
    which the units exposed to one group are read.

    With ``days`` = (from_ms, to_ms) the values are per unit and UTC ``day`` (days since the
    epoch) instead, from the events in that range only, without the pre-period; a unit has a
    row only for the days it logged a metric's event. Each row also names the UTC day of the
    unit's first exposure (``first_day``), which the days-since-exposure view groups by."""
    if days is not None:
        metrics = [replace(metric, cuped=False) for metric in metrics]
    event_unit = unit_id_column(CustomEvent, id_type)
    first_ts = assignment.c.first_ts
    cuped = any(metric.cuped for metric in metrics)
    join = and_(
        event_unit == assignment.c.unit,
        CustomEvent.project_id == project_id,
        CustomEvent.event_name.in_(event_names(metrics)),
        CustomEvent.time >= first_ts - (CUPED_WINDOW_MS if cuped else 0),
    )
    windows = {metric.window_ms for metric in metrics}
    if len(windows) == 1 and None not in windows:
        join = and_(join, CustomEvent.time < first_ts + next(iter(windows)))
    pre = CustomEvent.time < first_ts
    columns: list[Any] = [assignment.c.unit, assignment.c.grp]
    # A per-unit table (``per_unit_table``) is read directly, its assigned units only, and
    # grouped by its primary key alone: grp depends on it, so both databases accept grp
    # ungrouped, and the per-row group key is one text instead of two.
    keyed = isinstance(assignment, Table) and list(assignment.primary_key) == [assignment.c.unit]
    keys = [assignment.c.unit] if keyed else [assignment.c.unit, assignment.c.grp]
    if days is not None:
        join = and_(join, CustomEvent.time >= days[0], CustomEvent.time < days[1])
        day = (CustomEvent.time // DAY_MS).label("day")
        first_day = (first_ts // DAY_MS).label("first_day")
        columns += [day, first_day]
    for index, metric in enumerate(metrics):
        post = CustomEvent.time >= first_ts
        if metric.window_ms is not None:
            post = and_(post, CustomEvent.time < first_ts + metric.window_ms)
        quantities = [_quantity(metric.numerator, post)]
        if metric.denominator is not None:
            quantities.append(_quantity(metric.denominator, post))
        if metric.cuped:
            quantities.append(_quantity(metric.numerator, pre))
            if metric.denominator is not None:
                quantities.append(_quantity(metric.denominator, pre))
        columns += [
            quantity.label(name)
            for quantity, name in zip(quantities, value_columns(index, metric), strict=True)
        ]
    assigned = [assignment.c.groups == 1] if keyed else []
    if days is not None:
        return (
            select(*columns)
            .select_from(assignment.join(CustomEvent, join))
            .where(*assigned)
            .group_by(*keys, day, first_day)
            .subquery("unit_day_values")
        )
    return (
        select(*columns)
        .select_from(assignment.outerjoin(CustomEvent, join))
        .where(*assigned)
        .group_by(*keys)
        .subquery("unit_values")
    )


def metric_view(values: Any, index: int, *, cuped: bool) -> Subquery:
    """One metric's columns of ``unit_values_many`` (a table or subquery) as unit, grp, x, y
    and, when CUPED, xp, yp: the shape ``group_sums`` and the winsorization queries read."""

    def column(name: str) -> Any:
        found = values.c.get(f"{name}_{index}")
        return (literal(1.0) if found is None else found).label(name)

    columns = [values.c.unit, values.c.grp, column("x"), column("y")]
    if cuped:
        columns += [column("xp"), column("yp")]
    return select(*columns).subquery(f"metric_{index}")


# -- staging: a job's assignment and unit values, computed once ---------------------------------


def _temporary(keep: bool) -> dict[str, Any]:
    """Options of a temporary table: dropped at commit on PostgreSQL (a failed job leaves none
    behind), unless ``keep``, for work spanning several transactions of one connection."""
    return {
        "prefixes": ["TEMPORARY"],
        "sqlite_with_rowid": False,
        "postgresql_on_commit": "PRESERVE ROWS" if keep else "DROP",
    }


def per_unit_table(name: str, *, keep: bool = False) -> Table:
    """A temporary table for ``per_unit_select``'s rows, keyed by unit (on SQLite without a
    rowid, so a scan visits units in the order of the events' unit index)."""
    return Table(
        name,
        MetaData(),
        Column("unit", String, primary_key=True),
        Column("grp", String),
        Column("first_ts", BigInteger),
        Column("groups", Integer),
        **_temporary(keep),
    )


def unit_table(name: str) -> Table:
    """A temporary table of unit ids (the units an incremental load recomputes)."""
    return Table(name, MetaData(), Column("unit", String, primary_key=True), **_temporary(True))


def per_unit_select(project_id: str, spec: Assignment) -> Select[Any]:
    """(unit, grp, first_ts, groups) of every unit exposed to a group; ``groups`` is 1, or 2 for
    a crossover (a unit exposed to more than one group)."""
    per_unit = _per_unit(project_id, spec)
    return select(per_unit.c.unit, per_unit.c.grp, per_unit.c.first_ts, per_unit.c.groups)


def unit_values_table(name: str, metrics: Sequence[MetricQuery], *, keep: bool = False) -> Table:
    """A temporary table for ``unit_values_many``'s rows, keyed by group first: the per-group
    sums then read it in group order instead of sorting it."""
    columns = [Column(c, Float) for i, m in enumerate(metrics) for c in value_columns(i, m)]
    return Table(
        name,
        MetaData(),
        Column("grp", String, primary_key=True),
        Column("unit", String, primary_key=True),
        *columns,
        **_temporary(keep),
    )


def changed_units(
    project_id: str,
    spec: Assignment,
    names: Sequence[str],
    *,
    exposures_after: int,
    events_after: int,
    exposed_from_ms: int,
) -> CompoundSelect[Any]:
    """Units whose result may differ from what a load computed up to the sequence numbers
    ``exposures_after`` and ``events_after`` with exposures before ``exposed_from_ms``:
    units of the assignment's exposures logged since (or timed from ``exposed_from_ms``, which
    that load's end left out), and units that logged one of the events ``names`` since. The raw
    tables are append-only, so every other unit's rows are as that load read them."""
    # The rows logged since are taken by sequence number alone, first (MATERIALIZED): given
    # the other conditions too, SQLite scans an entity's or a project's whole index instead.
    # The assignment's own expressions over exposures are rewritten to read those rows.
    new_exposures = _since(Exposure, exposures_after, "new_exposures")
    adapt = ClauseAdapter(new_exposures).traverse
    of_new = replace(
        spec,
        extra_filters=tuple(adapt(condition) for condition in spec.extra_filters),
        value=None if spec.value is None else adapt(spec.value),
    )
    after_seq = _grouped_exposures(project_id, of_new, aliased(Exposure, new_exposures))
    after_end = _grouped_exposures(
        project_id, replace(spec, start_ms=max(spec.start_ms or 0, exposed_from_ms))
    )
    logged_since = aliased(CustomEvent, _since(CustomEvent, events_after, "new_events"))
    unit = unit_id_column(logged_since, spec.id_type)
    logged = select(unit.label("unit")).where(
        logged_since.project_id == project_id,
        logged_since.event_name.in_(sorted(set(names))),
        unit.is_not(None),
        unit != "",
    )
    return select(after_seq.c.unit).union(select(after_end.c.unit), logged)


def _since(entity: Any, after: int, name: str) -> CTE:
    """The rows of ``entity``'s table with ``seq`` above ``after``, computed once."""
    return select(entity).where(entity.seq > after).cte(name).prefix_with("MATERIALIZED")


def event_names(metrics: Sequence[MetricQuery]) -> list[str]:
    """Every event name the metrics read."""
    names = {metric.numerator.event_name for metric in metrics}
    names |= {m.denominator.event_name for m in metrics if m.denominator is not None}
    return sorted(names)


def _restricted(only: ColumnElement[bool] | None) -> tuple[Callable[[Any], Any], Any]:
    """SUM and the row count over the rows ``only`` holds (every row when None), so several
    metrics with different populations share one scan."""
    if only is None:
        return func.sum, func.count()
    return (
        lambda value: func.sum(case((only, value), else_=None)),
        func.sum(case((only, 1), else_=0)),
    )


def sum_columns(
    units: Any,
    suffix: str,
    *,
    ratio: bool,
    cuped: bool,
    nonzero: bool,
    only: ColumnElement[bool] | None = None,
) -> list[Any]:
    """N and every sum the statistics need over ``units``' x{suffix}, y{suffix} (and xp, yp),
    labelled ``<sum><suffix>``; ``only`` restricts every aggregate to the rows it holds."""
    x = units.c[f"x{suffix}"]
    total, count = _restricted(only)
    sums: list[tuple[str, Any]] = [("n", count), ("sx", total(x)), ("sxx", total(x * x))]
    if nonzero:
        sums.append(("nonzero", total(case((x != 0, 1), else_=0))))
    if ratio:
        y = units.c[f"y{suffix}"]
        sums += [("sy", total(y)), ("syy", total(y * y)), ("sxy", total(x * y))]
    if cuped:
        xp = units.c[f"xp{suffix}"]
        sums += [
            ("sxp", total(xp)),
            ("sxpxp", total(xp * xp)),
            ("sxxp", total(x * xp)),
            ("with_pre", total(case((xp != 0, 1), else_=0))),
        ]
        if ratio:
            yp = units.c[f"yp{suffix}"]
            sums += [
                ("syp", total(yp)),
                ("sypyp", total(yp * yp)),
                ("sxpyp", total(xp * yp)),
                ("sxyp", total(x * yp)),
                ("syxp", total(y * xp)),
                ("syyp", total(y * yp)),
            ]
    return [value.label(f"{name}{suffix}") for name, value in sums]


def group_sums(units: Subquery, *, ratio: bool, cuped: bool, nonzero: bool = False) -> Select[Any]:
    """Per group: N and every sum the statistics need. Ratio metrics count participating units
    only (y != 0). ``nonzero`` adds the count of units with x != 0 (winsorization's population)."""
    columns = sum_columns(units, "", ratio=ratio, cuped=cuped, nonzero=nonzero)
    query = select(units.c.grp, *columns).group_by(units.c.grp)
    if ratio:
        query = query.where(units.c.y != 0)
    return query


@dataclass(frozen=True)
class StagedMetric:
    """Metric ``index`` of ``unit_values_many``'s columns, and what its sums need."""

    index: int
    ratio: bool
    cuped: bool
    winsorized: bool


def group_sums_many(
    values: Any, metrics: Sequence[StagedMetric], *, by_day: bool = False
) -> Select[Any]:
    """``group_sums`` of every metric in one scan of the staged unit values; metric ``i``'s
    sums are labelled ``<sum>_<i>``. A ratio metric's sums keep to its participating units;
    ``units`` counts every staged unit of the group. ``by_day`` groups by ``values.c.day`` and
    ``values.c.first_day`` too (``unit_values_many`` with ``days``)."""
    keys = [values.c.grp, values.c.day, values.c.first_day] if by_day else [values.c.grp]
    columns: list[Any] = [*keys, func.count().label("units")]
    for metric in metrics:
        suffix = f"_{metric.index}"
        only = values.c[f"y{suffix}"] != 0 if metric.ratio else None
        columns += sum_columns(
            values,
            suffix,
            ratio=metric.ratio,
            cuped=metric.cuped,
            nonzero=metric.winsorized,
            only=only,
        )
    return select(*columns).group_by(*keys)


def exposed_by_day(per_unit: Any) -> Select[Any]:
    """Per group and UTC day (days since the epoch): the units first exposed that day, of
    those exposed to exactly one group."""
    day = (per_unit.c.first_ts // DAY_MS).label("day")
    return (
        select(per_unit.c.grp, day, func.count().label("units"))
        .where(per_unit.c.groups == 1)
        .group_by(per_unit.c.grp, day)
    )


def top_values(units: Subquery, count: int, *, cuped: bool) -> Select[Any]:
    """The ``count`` largest non-zero unit values, descending, each with its unit's group and,
    when ``cuped``, its pre-period value: a percentile of the per-unit values without
    PERCENTILE_CONT, which SQLite lacks (winsorization, docs/statistics.md §Winsorization), and
    the units above it. A high percentile lies near the top, so the database keeps only the
    few largest values while it scans instead of sorting them all."""
    x = units.c.x
    columns = [x, units.c.grp, *([units.c.xp] if cuped else [])]
    return select(*columns).where(x != 0).order_by(x.desc()).limit(count)


def tail_sums_many(values: Any, caps: Sequence[tuple[StagedMetric, float]]) -> Select[Any]:
    """Per group, for every capped metric in one scan, the units above its winsorization cap:
    their count, Σx, Σx² and, for CUPED, Σxp and Σx·xp, all the capped sums need to replace
    those values by the cap. Metric ``i``'s sums are labelled ``<sum>_<i>``."""
    columns: list[Any] = [values.c.grp]
    for metric, cap in caps:
        suffix = f"_{metric.index}"
        x = values.c[f"x{suffix}"]
        total, count = _restricted(x > cap)
        sums: list[tuple[str, Any]] = [("n", count), ("sx", total(x)), ("sxx", total(x * x))]
        if metric.cuped:
            xp = values.c[f"xp{suffix}"]
            sums += [("sxp", total(xp)), ("sxxp", total(x * xp))]
        columns += [value.label(f"{name}{suffix}") for name, value in sums]
    return select(*columns).group_by(values.c.grp)


def autotune_outcomes(
    project_id: str,
    autotune_id: str,
    id_type: str,
    variant_ids: Sequence[str],
    *,
    success_event: str,
    success_value: str | None,
    attribution_ms: int,
    exposed_from_ms: int,
    exposed_before_ms: int,
) -> Select[Any]:
    """Per variant (its rule id): ``units`` exposed to it in [from, before) and ``successes``,
    those that logged the success event (with ``value`` = ``success_value`` if given) within
    ``attribution_ms`` after that exposure.

    ``exposed_before_ms`` is now minus the attribution window: an exposure counts once its
    window has closed, as Statsig ingests them. A bandit moves traffic, so a returning unit may
    meet another variant; each (unit, variant) pair is a trial of its own, timed from the unit's
    first exposure to that variant.
    """
    unit = unit_id_column(Exposure, id_type).label("unit")
    first_ts = func.min(Exposure.time)
    trials = (
        select(unit, Exposure.rule_id.label("variant"), first_ts.label("first_ts"))
        .where(
            Exposure.project_id == project_id,
            Exposure.kind == "config",
            Exposure.name == autotune_id,
            Exposure.rule_id.in_(list(variant_ids)),
            Exposure.time >= exposed_from_ms,
            unit.is_not(None),
            unit != "",
        )
        .group_by(unit, Exposure.rule_id)
        .having(first_ts < exposed_before_ms)
        .subquery("trials")
    )
    join = and_(
        unit_id_column(CustomEvent, id_type) == trials.c.unit,
        CustomEvent.project_id == project_id,
        CustomEvent.event_name == success_event,
        CustomEvent.time >= trials.c.first_ts,
        CustomEvent.time < trials.c.first_ts + attribution_ms,
    )
    if success_value:
        join = and_(join, CustomEvent.value_text == success_value)
    per_trial = (
        select(
            trials.c.variant,
            case((func.count(CustomEvent.seq) > 0, 1), else_=0).label("success"),
        )
        .select_from(trials.outerjoin(CustomEvent, join))
        .group_by(trials.c.unit, trials.c.variant)
        .subquery("per_trial")
    )
    return select(
        per_trial.c.variant,
        func.count().label("units"),
        func.sum(per_trial.c.success).label("successes"),
    ).group_by(per_trial.c.variant)
