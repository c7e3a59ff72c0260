"""The warehouse-native analysis of one experiment (docs/warehouse.md §Pipeline), run in the
team's warehouse through the adapter: SQL generated per dialect.

1. **First exposures** (staging table ``lg_fe_<key>``): the assignment source's rows of the
   experiment, in one of its groups, within the analysis window, passing its filters; per
   unit its group, first exposure, first exposure day, latest exposure and whether it was
   seen in one group (1) or more (2). ``lg_fx_<key>`` keeps the units seen in exactly one group.
2. **Unit-day values** (``lg_ud_<key>``): per unit and UTC day, each metric's value of that
   day from its metric source's rows of that unit at or after its first exposure and before
   the analysis end, passing the metric's criteria (its aggregation's value of the day: a
   sum, a count, the day's largest or smallest, its first or latest value, whether the unit
   was active; a count distinct keeps one row per distinct value instead; a ratio's
   numerator and denominator from their own sources; a funnel's or retention's starts and
   completions from its steps, ``funnels``; a ``cap`` holds each unit-day's count or sum;
   the sums, counts, largest and smallest values of the metrics on one source come from one
   scan of it, ``scans``); the CUPED covariate (the week before exposure) is the unit's row
   of day -1. An incremental load keeps the rows of the days before its resume day of the
   units whose first exposure did not change, and scans only the rows from then on (and
   every row of new or changed units).
3. **Unit values** (``lg_uv_<key>``): each unit's value over its days, by its aggregation
   (summed, the largest or smallest, the first or latest day's, distinct values counted
   over the days, active days over the days since exposure), 0 for units without rows.
4. **Group statistics**: per group, the units and every metric's sufficient statistics (N,
   Σx, Σx², and Σy, Σy², Σxy for ratios), the shape Lockgate's own Pulse stores, so results
   are computed by the same code: for the load's last day from the unit values (and, for
   winsorized metrics, their caps, percentiles of the non-zero unit values, and the same
   statistics of the capped values), for every earlier day from the unit-day values up to
   that day, each day's own values (the daily view) split by the units' exposure day, and
   each unit's values of the last 7, 14 and 28 days (the rolling views). Earlier days' and
   rolling values are computed at each unit's change points only (the days its value
   changes), each counted for the days up to its next one, and with count and sum metrics
   only, the rolling views from pairs of each unit's rows (docs/warehouse.md §Views). A
   turbo plan computes the last day's statistics alone (docs/warehouse.md §Turbo mode).
5. **Percentiles** (``percentiles``): for percentile metrics (over rows, not units), per
   group of the load's last day the percentile of their rows' values and its variance from
   its rank interval; they have no unit-day values and no earlier, daily or rolling views.

Only these group-level figures leave the warehouse. The staging tables stay there until the
next load of the experiment replaces them (an incremental load reads them first); a metric
load's, which no load reads, are dropped when it ends (``drop_staging``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from lockgate.domains.warehouse import funnels, percentiles
from lockgate.domains.warehouse.adapters import Warehouse
from lockgate.domains.warehouse.dialects import SqlDialect
from lockgate.domains.warehouse.sources import source_query
from lockgate.domains.warehouse.usage import StoredSource
from lockgate.errors import InvalidInput

Progress = Callable[[int, str], None]

# A unit's values of one metric: after exposure (x, y) and over the CUPED window (xp, yp).
_PIECES = ("x", "y", "xp", "yp")
# The statistics read the covariate of a side-y value (yp) of ratios alone: another metric's y,
# its count of values, counts its units in the daily and rolling views only.
_NOT_RATIO_PIECES = ("x", "y", "xp")

# Aggregations whose unit value is a ratio Σx / Σy over the units with y != 0.
RATIO_AGGREGATIONS = frozenset({"mean", "ratio", "funnel", "retention"})
# The CUPED covariate: a unit's value over the days before its first exposure, as in Pulse.
CUPED_WINDOW_DAYS = 7
# The sums the statistics query answers per metric, named as Pulse stores them.
MEAN_SUMS = ("n", "sx", "sxx", "sxp", "sxpxp", "sxxp", "with_pre")
RATIO_SUMS = (*MEAN_SUMS, "sy", "syy", "sxy", "syp", "sypyp", "sxpyp", "sxyp", "syxp", "syyp")
# The sums of a day's own values (the daily view: no CUPED covariate).
DAY_SUMS = ("n", "sx", "sxx")
RATIO_DAY_SUMS = (*DAY_SUMS, "sy", "syy", "sxy")
# The rolling views: a unit's values of the last 7, 14 and 28 days.
ROLLING_WINDOWS = (7, 14, 28)
# Unit-day values are keyed by the day's number since this date; -1 is the CUPED covariate.
EPOCH = dt.date(1970, 1, 1)
PRE_EXPOSURE_DAY = -1


def day_number(day: dt.date) -> int:
    return (day - EPOCH).days


def day_of(number: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(number))


@dataclass(frozen=True)
class PipelineComponent:
    """One per-unit value read from a metric source: a metric's own value, or a ratio's
    numerator or denominator (docs/warehouse.md §Warehouse-native metrics)."""

    aggregation: str  # count, sum, count_distinct, daily_participation, max, min,
    # first_value, latest_value (mean: its Σ value and its count of values)
    source: StoredSource
    value_column: str | None
    criteria: Sequence[dict[str, Any]]
    rollup: str | None = None  # daily_participation: "max" (one-time) or "daily" (rate)
    cap: float | None = None  # count and sum: each unit-day's value at most this
    shape: funnels.Shape | None = None  # a funnel's or retention's steps (``funnels``)

    @property
    def combined(self) -> str:
        """How a unit's values of several days make its value over them
        (``_Sql.combined``): ``sum``, ``rate`` (active days over the days since exposure),
        ``max``, ``min``, ``first``, ``latest`` or ``distinct``."""
        kind = self.aggregation
        if kind == "daily_participation":
            return "rate" if self.rollup == "daily" else "max"
        if kind not in _COMBINED:
            raise InvalidInput.because(f"Aggregation {kind!r} is not computed here")
        return _COMBINED[kind]


# The unit values that window functions compute over a frame of unit-day values.
_FRAMED = {"sum": "SUM", "max": "MAX", "min": "MIN"}
# Unit values that read more than a unit's unit-day rows: the day of a first or latest value,
# the days since exposure of a daily participation rate.
_PER_DAY_KINDS = frozenset({"first", "latest", "rate"})

_COMBINED = {
    "count": "sum",
    "sum": "sum",
    "mean": "sum",
    "max": "max",
    "min": "min",
    "first_value": "first",
    "latest_value": "latest",
    "count_distinct": "distinct",
    "funnel": "sum",
    "retention": "sum",
}


def shareable(component: PipelineComponent) -> bool:
    """Whether a component's value of a day is a sum, a count, or the day's largest or
    smallest value without a cap (not a funnel's or retention's, which read their own steps):
    such components of one source share its scan."""
    return (
        component.shape is None
        and component.combined in _FRAMED
        and component.cap is None
        and component.aggregation != "daily_participation"
    )


@dataclass(frozen=True)
class Bounds:
    """Winsorization of one side of a metric's unit values: the percentiles (fractions) of the
    non-zero unit values below and above which values are replaced by them."""

    low: float | None = None
    high: float | None = None

    def __bool__(self) -> bool:
        return self.low is not None or self.high is not None


@dataclass(frozen=True)
class PipelineMetric:
    """One warehouse-native metric as the pipeline reads it (``warehouseNative`` checked)."""

    aggregation: str  # count, sum, mean, ratio, count_distinct, daily_participation, ...
    source: StoredSource
    value_column: str | None
    criteria: Sequence[dict[str, Any]]
    winsorize_high: float | None = None  # cap unit values above this percentile (a fraction)
    winsorize_low: float | None = None  # and below this one
    rollup: str | None = None  # daily_participation's mode
    cap: float | None = None  # the per unit-day cap of count and sum
    numerator_aggregation: str | None = None  # a ratio's numerator aggregation
    denominator: PipelineComponent | None = None  # a ratio's denominator
    denominator_bounds: Bounds = Bounds()  # a ratio's denominator winsorization
    allow_null_denominator: bool = False  # a ratio keeps the units without a denominator
    percentile: float | None = None  # a percentile metric's fraction (0.9: the 90th)
    shape: funnels.Shape | None = None  # a funnel's or retention's steps

    @property
    def ratio(self) -> bool:
        return self.aggregation in RATIO_AGGREGATIONS

    @property
    def unit_level(self) -> bool:
        """Whether the metric has a value per unit (all but percentiles, over rows)."""
        return self.aggregation != "percentile"

    @property
    def bounds(self) -> Bounds:
        return Bounds(self.winsorize_low, self.winsorize_high)

    @property
    def numerator(self) -> PipelineComponent:
        """The component read from ``source``: the metric's value, a ratio's numerator."""
        aggregation = self.numerator_aggregation or self.aggregation
        return PipelineComponent(
            aggregation,
            self.source,
            self.value_column,
            self.criteria,
            self.rollup,
            self.cap,
            self.shape,
        )

    def sides(self) -> list[tuple[str, PipelineComponent]]:
        """The unit-day values a metric reads, each with the side it fills: ``x`` its value
        (a ratio's numerator), ``y`` a ratio's denominator when it has one. Without one, the
        ``y`` side is the numerator's count of values (a mean's denominator)."""
        found = [("x", self.numerator)]
        if self.denominator is not None:
            found.append(("y", self.denominator))
        return found

    def combined(self, side: str) -> str:
        """How a side's unit-day values make the unit's value (``PipelineComponent.combined``);
        a side without its own component is a count of values, summed."""
        for named, component in self.sides():
            if named == side:
                return component.combined
        return "sum"


@dataclass(frozen=True)
class PipelinePlan:
    """What one load of one experiment computes."""

    key: str  # names the staging tables: the project and experiment, hashed
    source: StoredSource  # the assignment source
    experiment_value: str  # the value of its experiment column that marks the experiment
    unit_type: str
    groups: Sequence[str]  # the group names, as in the source's group column
    end: dt.datetime  # UTC, exclusive: the analysis end (or the load's time)
    metrics: Sequence[PipelineMetric]
    start_day: dt.date | None = None  # the date macros' start; the epoch when None
    start: dt.datetime | None = None  # UTC, inclusive: exposures before it are not read
    # An incremental load: unit-day values are computed again from this day on (and for
    # units whose first exposure changed); earlier ones are kept from the last load.
    resume_day: dt.date | None = None
    # The experiment's assignmentSourceFilters: conditions every exposure row meets.
    exposure_filters: Sequence[dict[str, Any]] = ()
    # Turbo mode (docs/warehouse.md §Turbo mode): the last day's cumulative view alone, without
    # the earlier days', daily and rolling views.
    turbo: bool = False

    @property
    def last_day(self) -> dt.date:
        """The UTC day of the analysis' last moment (the load's cumulative view)."""
        return (self.end - dt.timedelta(microseconds=1)).date()

    def restating(self, metrics: Sequence[PipelineMetric], end: dt.datetime) -> PipelinePlan:
        """The plan of a metric load: ``metrics`` alone, computed from scratch up to ``end``
        (the last load's), in staging tables of their own, so the experiment's keep what
        the last full or incremental load left there."""
        key = hashlib.sha256(f"{self.key}\x00metric".encode()).hexdigest()[:20]
        return replace(self, key=key, metrics=list(metrics), end=end, resume_day=None)

    @staticmethod
    def key_of(project_id: str, experiment_id: str) -> str:
        return hashlib.sha256(f"{project_id}\x00{experiment_id}".encode()).hexdigest()[:20]


def column_sql(dialect: SqlDialect, source: StoredSource, alias: str, name: str, field: str) -> str:
    """``alias``'s column ``name`` of ``source``, quoted as the source answered it."""
    found = source.column(name)
    if found is None:  # the source's query changed since the definition was checked
        raise InvalidInput.because(
            f"The {field} column {name!r} is no longer among the columns of source "
            f"{source.name!r} ({', '.join(source.columns)})"
        )
    return f"{alias}.{dialect.quote(found)}"


def criterion_sql(
    dialect: SqlDialect, source: StoredSource, criterion: dict[str, Any], alias: str = "m"
) -> str:
    """One criterion of a metric (or filter of an experiment) over the rows of ``source`` as
    ``alias``; ``after_exposure`` and ``before_exposure`` compare with the unit's first
    exposure, ``fe.lg_first_ts``."""
    d = dialect
    condition = criterion["condition"]
    values = [str(v) for v in criterion.get("values") or []]
    if condition == "sql_filter":  # the team's own SQL over the source's columns, as is
        return values[0]
    column = column_sql(d, source, alias, criterion["column"], "criterion")
    as_text = d.cast_nullable_string(column)  # a NULL stays NULL: it passes no test
    texts = ", ".join(d.string_literal(v) for v in values)
    if condition in (">", "<", ">=", "<="):
        return f"{d.cast_float(column)} {condition} {float(values[0])!r}"
    matches = {"contains": d.contains, "starts_with": d.starts_with, "ends_with": d.ends_with}
    if condition in matches or condition == "not_contains":
        match = matches.get(condition, d.contains)
        # any of the values matches; not_contains: none of them
        one_of = " OR ".join(match(as_text, d.string_literal(v)) for v in values)
        return f"NOT ({one_of})" if condition == "not_contains" else one_of
    shapes = {
        "in": lambda: f"{as_text} IN ({texts})",
        "not_in": lambda: f"{as_text} NOT IN ({texts})",
        "=": lambda: f"{as_text} = {texts}",
        "is_null": lambda: f"{column} IS NULL",
        "non_null": lambda: f"{column} IS NOT NULL",
        "is_true": lambda: f"{column} = TRUE",
        "is_false": lambda: f"{column} = FALSE",
        "after_exposure": lambda: f"{column} >= fe.lg_first_ts",
        "before_exposure": lambda: f"{column} < fe.lg_first_ts",
    }
    shape = shapes.get(condition)
    if shape is None:
        raise InvalidInput.because(f"Criterion condition {condition!r} is not computed here")
    return shape()


class _Sql:
    """The statements of one plan in one warehouse's dialect."""

    def __init__(self, dialect: SqlDialect, staging_schema: str, plan: PipelinePlan) -> None:
        self.dialect = dialect
        self.schema = staging_schema
        self.plan = plan
        self.first_exposures = f"lg_fe_{plan.key}"
        self.previous_exposures = f"lg_fp_{plan.key}"
        self.assigned = f"lg_fx_{plan.key}"
        self.unit_days = f"lg_ud_{plan.key}"
        self.new_unit_days = f"lg_un_{plan.key}"
        self.kept_unit_days = f"lg_uk_{plan.key}"
        self.unit_values = f"lg_uv_{plan.key}"
        # the metrics with unit values (and unit-day values): all but percentiles
        self.unit_metrics = [(i, m) for i, m in enumerate(plan.metrics) if m.unit_level]

    def staging(self, table: str) -> str:
        return self.dialect.qualified(self.schema, table)

    def tables(self) -> list[str]:
        """Every staging table a load of the plan may fill."""
        return [
            self.previous_exposures,
            self.first_exposures,
            self.assigned,
            self.new_unit_days,
            self.kept_unit_days,
            self.unit_days,
            self.unit_values,
        ]

    def column(self, source: StoredSource, alias: str, name: str, field: str) -> str:
        return column_sql(self.dialect, source, alias, name, field)

    def unit(self, source: StoredSource, alias: str) -> str:
        name = source.unit_column(self.plan.unit_type)
        if name is None:
            raise InvalidInput.because(
                f"Source {source.name!r} does not map unit type {self.plan.unit_type!r}"
            )
        return self.column(source, alias, name, "unit id")

    def rows(self, source: StoredSource) -> str:
        today = self.plan.end.date()
        return source_query(
            source.document, self.dialect, today, self.plan.start_day or dt.date(1970, 1, 1)
        )

    def end(self) -> str:
        return self.dialect.timestamp_literal(self.plan.end)

    def first_exposures_select(self) -> str:
        d, plan, source = self.dialect, self.plan, self.plan.source
        doc = source.document
        unit = self.unit(source, "s")
        group = d.cast_string(self.column(source, "s", doc["groupIDColumn"], "group"))
        experiment_column = self.column(source, "s", doc["experimentIDColumn"], "experiment")
        experiment = d.cast_string(experiment_column)
        ts = self.column(source, "s", doc["timestampColumn"], "timestamp")
        groups = ", ".join(d.string_literal(g) for g in plan.groups)
        exposures = (
            f"SELECT {d.cast_string(unit)} AS lg_unit, {group} AS lg_grp, {ts} AS lg_ts "
            f"FROM ({self.rows(source)}) s "
            f"WHERE {experiment} = {d.string_literal(plan.experiment_value)} "
            f"AND {unit} IS NOT NULL AND {ts} < {self.end()} AND {group} IN ({groups})"
        )
        if plan.start is not None:
            exposures += f" AND {ts} >= {d.timestamp_literal(plan.start)}"
        for condition in plan.exposure_filters:
            exposures += f" AND ({self.criterion(source, condition, 's')})"
        first = (
            "SELECT lg_unit, MIN(lg_grp) AS lg_group, MIN(lg_ts) AS lg_first_ts, "
            "MAX(lg_ts) AS lg_last_ts, "
            # 1, or 2 for a unit seen in more groups: cheaper than COUNT(DISTINCT lg_grp)
            "CASE WHEN MIN(lg_grp) = MAX(lg_grp) THEN 1 ELSE 2 END AS lg_groups "
            f"FROM ({exposures}) a GROUP BY lg_unit"
        )
        return (
            "SELECT f.lg_unit AS lg_unit, f.lg_group AS lg_group, f.lg_first_ts AS lg_first_ts, "
            f"f.lg_last_ts AS lg_last_ts, f.lg_groups AS lg_groups, {self.day('f.lg_first_ts')} "
            f"AS lg_fd FROM ({first}) f"
        )

    def day(self, ts: str) -> str:
        """The number of ``ts``'s UTC day since ``EPOCH``."""
        return self.dialect.days_between(self.dialect.date_literal(EPOCH), ts)

    def previous_exposures_select(self) -> str:
        return (
            "SELECT lg_unit, lg_group, lg_first_ts, lg_groups "
            f"FROM {self.staging(self.first_exposures)}"
        )

    def assigned_select(self) -> str:
        """The units seen in one group; ``lg_kept`` 1 for those whose group and first exposure
        are as at the last load (an incremental load keeps their earlier unit-day values)."""
        fe = self.staging(self.first_exposures)
        columns = "fe.lg_unit AS lg_unit, fe.lg_group AS lg_group, fe.lg_first_ts AS lg_first_ts"
        columns += ", fe.lg_fd AS lg_fd"
        if self.plan.resume_day is None:
            return f"SELECT {columns}, 0 AS lg_kept FROM {fe} fe WHERE fe.lg_groups = 1"
        return (
            f"SELECT {columns}, CASE WHEN p.lg_groups = 1 THEN 1 ELSE 0 END AS lg_kept "
            f"FROM {fe} fe LEFT JOIN {self.staging(self.previous_exposures)} p "
            "ON p.lg_unit = fe.lg_unit AND p.lg_first_ts = fe.lg_first_ts "
            "AND p.lg_group = fe.lg_group WHERE fe.lg_groups = 1"
        )

    def resume(self) -> str:
        assert self.plan.resume_day is not None
        moment = dt.datetime.combine(self.plan.resume_day, dt.time())
        return self.dialect.timestamp_literal(moment)

    def criterion(self, source: StoredSource, criterion: dict[str, Any], alias: str = "m") -> str:
        return criterion_sql(self.dialect, source, criterion, alias)

    def value(self, component: PipelineComponent) -> str:
        """A row's value of a component: 1 where its aggregation counts, its value column as
        text for a count distinct, else as a number."""
        if component.value_column is None:
            return "1"
        raw = self.column(component.source, "m", component.value_column, "value")
        if component.combined == "distinct":
            return self.dialect.cast_nullable_string(raw)
        return self.dialect.cast_float(raw)

    def component_rows(
        self, component: PipelineComponent, shared: Sequence[PipelineComponent] = ()
    ) -> str:
        """A component's rows of the assigned units, from the CUPED window before their first
        exposure to the analysis end, passing its criteria: (lg_u, lg_g, lg_f, lg_d, lg_ts,
        lg_cal, lg_val), ``lg_g`` and ``lg_f`` the unit's group and exposure day, ``lg_d`` the
        row's day number from the first exposure on and -1 before it, ``lg_cal`` its calendar
        day, ``lg_val`` its value (1 where the aggregation counts; the value as text for a
        count distinct). With ``shared``, components of the same source: the rows passing
        any one's criteria, with ``lg_k<j>`` 1 for those passing the j-th's and ``lg_val<j>``
        its value, instead of ``lg_val``."""
        d, source = self.dialect, component.source
        ts = self.column(source, "m", source.document["timestampColumn"], "timestamp")
        after = f"{ts} >= fe.lg_first_ts"
        values = [f"{self.value(component)} AS lg_val"]
        day = f"CASE WHEN {after} THEN {self.day(ts)} ELSE {PRE_EXPOSURE_DAY} END"
        # ts >= first exposure - CUPED window, with the days added on the row's side: some
        # warehouses have no negative interval literal.
        window = d.add_days(ts, CUPED_WINDOW_DAYS)
        conditions = [f"{window} >= fe.lg_first_ts", f"{ts} < {self.end()}"]
        if self.plan.resume_day is not None:
            # a kept unit's rows before the resume day are kept from the last load
            conditions.append(f"(fe.lg_kept = 0 OR ({ts} >= {self.resume()} AND {after}))")
        if not shared:
            conditions += [f"({self.criterion(source, c)})" for c in component.criteria]
        else:
            passing = [
                " AND ".join(f"({self.criterion(source, c)})" for c in member.criteria) or "1 = 1"
                for member in shared
            ]
            values = [
                f"CASE WHEN {condition} THEN 1 ELSE 0 END AS lg_k{j}, "
                f"{self.value(member)} AS lg_val{j}"
                for j, (member, condition) in enumerate(zip(shared, passing, strict=True))
            ]
            if all(member.criteria for member in shared):
                conditions.append(f"({' OR '.join(f'({p})' for p in passing)})")
        return (
            "SELECT fe.lg_unit AS lg_u, fe.lg_group AS lg_g, fe.lg_fd AS lg_f, "
            f"{day} AS lg_d, {ts} AS lg_ts, CAST({ts} AS DATE) AS lg_cal, "
            f"{', '.join(values)} FROM {self.staging(self.assigned)} fe "
            f"JOIN ({self.rows(source)}) m ON {d.cast_string(self.unit(source, 'm'))} = fe.lg_unit "
            f"WHERE {' AND '.join(conditions)}"
        )

    def component_days(self, component: PipelineComponent) -> str:
        """Per unit (with its group ``lg_g`` and exposure day ``lg_f``) and day (-1: the CUPED
        window), a component's value of that day (``lg_v``) and its count of values
        (``lg_c``); a count distinct has one row per distinct value (``lg_s``) instead of a
        value."""
        if component.shape is not None:  # numerator and denominator per unit-day
            return component.shape.unit_days(self)
        d, kind = self.dialect, component.combined
        rows = self.component_rows(component)
        counted = "SUM(CASE WHEN lg_val IS NOT NULL THEN 1 ELSE 0 END)"
        keys = "GROUP BY lg_u, lg_g, lg_f, lg_d"
        if kind == "distinct":
            return (
                f"SELECT lg_u, lg_g, lg_f, lg_d, {d.cast_float('NULL')} AS lg_v, lg_val AS lg_s, "
                f"{d.cast_float('COUNT(*)')} AS lg_c FROM ({rows}) r "
                f"WHERE lg_val IS NOT NULL {keys}, lg_val"
            )
        if kind in ("first", "latest"):
            # the unit's earliest (latest) non-null value of each day; ties by the value
            order = "ASC" if kind == "first" else "DESC"
            ranked = (
                "SELECT lg_u, lg_g, lg_f, lg_d, lg_val, ROW_NUMBER() OVER (PARTITION BY lg_u, lg_d "
                f"ORDER BY lg_ts {order}, lg_val {order}) AS lg_rank FROM ({rows}) r "
                "WHERE lg_val IS NOT NULL"
            )
            value = "MAX(CASE WHEN lg_rank = 1 THEN lg_val END)"
            return (
                f"SELECT lg_u, lg_g, lg_f, lg_d, {d.cast_float(value)} AS lg_v, "
                f"{d.cast_float('COUNT(*)')} AS lg_c FROM ({ranked}) k {keys}"
            )
        if kind in ("rate", "max") and component.aggregation == "daily_participation":
            # active on the day; before exposure, the CUPED window's active days over its
            # days (the rate), or whether it had a row at all (one-time)
            before = "1"
            if kind == "rate":
                before = f"{d.cast_float('COUNT(DISTINCT lg_cal)')} / {float(CUPED_WINDOW_DAYS)!r}"
            value = f"CASE WHEN lg_d >= 0 THEN 1 ELSE {before} END"
            return (
                f"SELECT lg_u, lg_g, lg_f, lg_d, {d.cast_float(value)} AS lg_v, "
                f"{d.cast_float('COUNT(*)')} AS lg_c FROM ({rows}) r {keys}"
            )
        if kind in ("max", "min"):
            value = f"{kind.upper()}(lg_val)"
            return (
                f"SELECT lg_u, lg_g, lg_f, lg_d, {d.cast_float(value)} AS lg_v, "
                f"{d.cast_float(counted)} AS lg_c FROM ({rows}) r {keys}"
            )
        if component.cap is not None:
            # each unit-day's value capped (the day of exposure split at the exposure, each
            # calendar day of the CUPED window apart)
            total, cap = "SUM(lg_val)", repr(float(component.cap))
            capped = f"CASE WHEN {total} > {cap} THEN {cap} ELSE {d.cast_float(total)} END"
            days = (
                f"SELECT lg_u, lg_g, lg_f, lg_d, {capped} AS lg_cv, {counted} AS lg_cc "
                f"FROM ({rows}) r {keys}, lg_cal"
            )
            return (
                f"SELECT lg_u, lg_g, lg_f, lg_d, {d.cast_float('SUM(lg_cv)')} AS lg_v, "
                f"{d.cast_float('SUM(lg_cc)')} AS lg_c FROM ({days}) c {keys}"
            )
        return (
            f"SELECT lg_u, lg_g, lg_f, lg_d, {d.cast_float('SUM(lg_val)')} AS lg_v, "
            f"{d.cast_float(counted)} AS lg_c FROM ({rows}) r {keys}"
        )

    def shared_days(self, members: Sequence[tuple[int, str, PipelineComponent]]) -> str:
        """``component_days`` of several components of one source that each sum, count or
        take the largest or smallest value of the day (``shareable``) in one scan of it: per
        unit and day, member j's value ``lg_v<j>`` and count of values ``lg_c<j>`` over the
        rows passing its criteria (NULL where none does, as where it has no row)."""
        d, components = self.dialect, [component for _, _, component in members]
        rows = self.component_rows(components[0], components)
        columns = []
        for j, component in enumerate(components):
            value = f"CASE WHEN lg_k{j} = 1 THEN lg_val{j} END"
            counted = (
                f"CASE WHEN lg_k{j} = 1 THEN CASE WHEN lg_val{j} IS NOT NULL THEN 1 ELSE 0 END END"
            )
            function = _FRAMED[component.combined]
            columns += [
                f"{d.cast_float(f'{function}({value})')} AS lg_v{j}",
                f"{d.cast_float(f'SUM({counted})')} AS lg_c{j}",
            ]
        return (
            f"SELECT lg_u, lg_g, lg_f, lg_d, {', '.join(columns)} FROM ({rows}) r "
            "GROUP BY lg_u, lg_g, lg_f, lg_d"
        )

    def scans(self) -> list[list[tuple[int, str, PipelineComponent]]]:
        """The metric source scans of the unit-day values, each with the components it reads
        (metric, side): the ``shareable`` components of one source share one scan, every
        other has its own."""
        found: list[list[tuple[int, str, PipelineComponent]]] = []
        shared: dict[str, list[tuple[int, str, PipelineComponent]]] = {}
        for i, metric in self.unit_metrics:
            for side, component in metric.sides():
                if not shareable(component):
                    found.append([(i, side, component)])
                    continue
                if component.source.name not in shared:
                    shared[component.source.name] = []
                    found.append(shared[component.source.name])
                shared[component.source.name].append((i, side, component))
        return found

    def value_columns(self) -> list[str]:
        """The unit-day columns holding a count distinct's values (text), by metric and side."""
        return [
            f"lg_dv{side}{i}"
            for i, metric in self.unit_metrics
            for side in ("x", "y")
            if metric.combined(side) == "distinct"
        ]

    def number_columns(self) -> list[str]:
        return [
            f"lg_d{piece}{i}"
            for i, metric in self.unit_metrics
            for piece in (_PIECES if metric.ratio else _NOT_RATIO_PIECES)
        ]

    def day_columns(self) -> list[str]:
        return [*self.number_columns(), *self.value_columns()]

    def new_unit_days_select(self) -> str:
        """The unit-day values this load computes: every scan's (``scans``), one row per unit
        and day (and per distinct value of a count distinct); NULL where a metric has no
        value that day."""
        d = self.dialect
        texts, numbers = self.value_columns(), self.number_columns()
        branches = []
        for members in self.scans():
            filled: dict[str, str] = {}
            for j, (i, side, component) in enumerate(members):
                value, count = (
                    (f"v.lg_v{j}", f"v.lg_c{j}") if len(members) > 1 else ("v.lg_v", "v.lg_c")
                )
                filled |= {
                    f"lg_d{side}{i}": f"CASE WHEN v.lg_d >= 0 THEN {value} END",
                    f"lg_d{side}p{i}": f"CASE WHEN v.lg_d < 0 THEN {value} END",
                }
                if self.plan.metrics[i].denominator is None:  # the y side: its count of values
                    filled |= {
                        f"lg_dy{i}": f"CASE WHEN v.lg_d >= 0 THEN {count} END",
                        f"lg_dyp{i}": f"CASE WHEN v.lg_d < 0 THEN {count} END",
                    }
                if component.combined == "distinct":
                    filled[f"lg_dv{side}{i}"] = "v.lg_s"
            padded = [f"{filled.get(c, d.cast_float('NULL'))} AS lg_b{c}" for c in numbers] + [
                f"{filled.get(c, d.cast_nullable_string('NULL'))} AS lg_b{c}" for c in texts
            ]
            days = (
                self.shared_days(members)
                if len(members) > 1
                else self.component_days(members[0][2])
            )
            branches.append(
                "SELECT v.lg_u AS lg_bu, v.lg_g AS lg_bg, v.lg_f AS lg_bf, v.lg_d AS lg_bd, "
                f"{', '.join(padded)} FROM ({days}) v"
            )
        keys = ["s.lg_bu", "s.lg_bg", "s.lg_bf", "s.lg_bd"]
        names = ["lg_unit", "lg_grp", "lg_fd", "lg_d"]
        if len(branches) == 1:  # one row per unit-day already (and distinct value)
            columns = [f"{key} AS {name}" for key, name in zip(keys, names, strict=True)]
            columns += [f"s.lg_b{c} AS {c}" for c in [*numbers, *texts]]
            return f"SELECT {', '.join(columns)} FROM ({branches[0]}) s"
        if not branches:
            branches = [
                f"SELECT lg_unit AS lg_bu, lg_group AS lg_bg, lg_fd AS lg_bf, "
                f"{PRE_EXPOSURE_DAY} AS lg_bd FROM {self.staging(self.assigned)} WHERE 1 = 0"
            ]
        # at most one row of a scan has a number of a unit-day: its MAX is that number
        columns = [f"{key} AS {name}" for key, name in zip(keys, names, strict=True)]
        columns += [f"MAX(s.lg_b{c}) AS {c}" for c in numbers]
        columns += [f"s.lg_b{c} AS {c}" for c in texts]
        keys += [f"s.lg_b{c}" for c in texts]
        return (
            f"SELECT {', '.join(columns)} FROM ({' UNION ALL '.join(branches)}) s "
            f"GROUP BY {', '.join(keys)}"
        )

    def _unit_day_columns(self, alias: str) -> str:
        return ", ".join(
            f"{alias}.{c}" for c in ["lg_unit", "lg_grp", "lg_fd", "lg_d", *self.day_columns()]
        )

    def kept_unit_days_select(self) -> str:
        """The last load's unit-day values an incremental load keeps: the days before its
        resume day (and the covariate) of the units whose first exposure did not change."""
        assert self.plan.resume_day is not None
        return (
            f"SELECT {self._unit_day_columns('u')} FROM {self.staging(self.unit_days)} u "
            f"JOIN {self.staging(self.assigned)} fx ON fx.lg_unit = u.lg_unit "
            f"WHERE fx.lg_kept = 1 AND u.lg_d < {day_number(self.plan.resume_day)}"
        )

    def merged_unit_days_select(self) -> str:
        return (
            f"SELECT {self._unit_day_columns('k')} FROM {self.staging(self.kept_unit_days)} k "
            f"UNION ALL SELECT {self._unit_day_columns('n')} "
            f"FROM {self.staging(self.new_unit_days)} n"
        )

    def combined(self, i: int, side: str, pre: bool) -> str:
        """A unit's value of one metric's side over the unit-day rows of a period (``w``,
        ``lg_in`` 1 for the rows of its days) or over the CUPED window (``lg_pre``), by the
        side's aggregation (``PipelineMetric.combined``)."""
        d, kind = self.dialect, self.plan.metrics[i].combined(side)
        if kind == "distinct":
            flag = "w.lg_pre" if pre else "w.lg_in"
            return d.cast_float(f"COUNT(DISTINCT CASE WHEN {flag} = 1 THEN w.lg_dv{side}{i} END)")
        if pre:  # one row of the unit holds its CUPED window's value
            return f"COALESCE(SUM(CASE WHEN w.lg_pre = 1 THEN w.lg_d{side}p{i} END), 0)"
        value = f"w.lg_d{side}{i}"
        inside = "w.lg_in = 1"
        if kind in ("first", "latest"):
            inside += f" AND w.lg_d = w.lg_k{side}{i}"
        function = {"max": "MAX", "min": "MIN", "first": "MAX", "latest": "MAX"}.get(kind, "SUM")
        found = f"COALESCE({function}(CASE WHEN {inside} THEN {value} END), 0)"
        if kind == "rate":  # active days over the days since the day of exposure
            return f"{found} / {d.cast_float('MAX(w.lg_days)')}"
        return found

    def per_unit(
        self,
        rows: str,
        keys: Sequence[tuple[str, str]],
        inside: str,
        days: str,
        pre: str | None = None,
    ) -> str:
        """Each unit's values (lg_x<i>, lg_y<i>, and with ``pre`` lg_xp<i>, of ratios lg_yp<i>) per
        ``keys`` (expression, name; the unit among them), from the unit-day rows of ``rows``
        (``FROM ...``, the unit days as ``u``) meeting ``inside`` (and ``pre``: the CUPED
        window's); ``days``: the days since the unit's exposure the period covers."""
        names = [name for _, name in keys]
        partition = ", ".join(expr for expr, _ in keys)
        inner = [f"{expr} AS {name}" for expr, name in keys]
        inner += [
            "u.lg_d AS lg_d",
            f"CASE WHEN {inside} THEN 1 ELSE 0 END AS lg_in",
            f"{days} AS lg_days",
            *(f"u.{c} AS {c}" for c in self.day_columns()),
        ]
        if pre is not None:
            inner.append(f"CASE WHEN {pre} THEN 1 ELSE 0 END AS lg_pre")
        outer = list(names)
        for i, metric in self.unit_metrics:
            for side in ("x", "y"):
                kind = metric.combined(side)
                if kind in ("first", "latest"):
                    # the day of the period's first (latest) value
                    function = "MIN" if kind == "first" else "MAX"
                    inner.append(
                        f"{function}(CASE WHEN {inside} AND u.lg_d{side}{i} IS NOT NULL "
                        f"THEN u.lg_d END) OVER (PARTITION BY {partition}) AS lg_k{side}{i}"
                    )
                outer.append(f"{self.combined(i, side, False)} AS lg_{side}{i}")
                if pre is not None and (metric.ratio or side == "x"):
                    outer.append(f"{self.combined(i, side, True)} AS lg_{side}p{i}")
        return (
            f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} {rows}) w "
            f"GROUP BY {', '.join(names)}"
        )

    def unit_values_select(self) -> str:
        """Each unit's values over its days, 0 without any."""
        kinds = {metric.combined(side) for _, metric in self.unit_metrics for side in ("x", "y")}
        if not kinds & _PER_DAY_KINDS:
            return self._unit_values_by_unit()
        last = day_number(self.plan.last_day)
        return self.per_unit(
            f"FROM {self.staging(self.assigned)} fx "
            f"LEFT JOIN {self.staging(self.unit_days)} u ON u.lg_unit = fx.lg_unit",
            [("fx.lg_unit", "lg_unit"), ("fx.lg_group", "lg_grp")],
            "u.lg_unit = fx.lg_unit AND u.lg_d >= 0",
            f"{last} - fx.lg_fd + 1",
            pre=f"u.lg_unit = fx.lg_unit AND u.lg_d = {PRE_EXPOSURE_DAY}",
        )

    def _unit_values_by_unit(self) -> str:
        """``unit_values_select`` when no metric needs more of a unit than its unit-day rows
        (no day of a first or latest value, no days since exposure): the unit-day rows are
        reduced per unit first, and the assigned units joined to those totals, one row each,
        instead of to every unit-day row before grouping (docs/warehouse.md §Pipeline, step 3).
        A number column holds values of its period alone (``new_unit_days_select``: after
        exposure, or the covariate's day), so it is reduced without a condition; the y sides of
        metrics that are not ratios, which the statistics do not read, are left out."""
        d, post, pre = self.dialect, "u.lg_d >= 0", f"u.lg_d = {PRE_EXPOSURE_DAY}"
        inner, outer = ["u.lg_unit AS lg_unit"], ["fx.lg_unit AS lg_unit", "fx.lg_group AS lg_grp"]
        for i, metric in self.unit_metrics:
            for side in ("x", "y") if metric.ratio else ("x",):
                kind = metric.combined(side)
                if kind == "distinct":
                    values = [
                        d.cast_float(f"COUNT(DISTINCT CASE WHEN {when} THEN u.lg_dv{side}{i} END)")
                        for when in (post, pre)
                    ]
                else:
                    values = [f"{_FRAMED[kind]}(u.lg_d{side}{i})", f"SUM(u.lg_d{side}p{i})"]
                for name, value in zip((f"lg_{side}{i}", f"lg_{side}p{i}"), values, strict=True):
                    inner.append(f"{value} AS {name}")
                    outer.append(f"COALESCE(t.{name}, 0) AS {name}")
        totals = (
            f"SELECT {', '.join(inner)} FROM {self.staging(self.unit_days)} u GROUP BY u.lg_unit"
        )
        return (
            f"SELECT {', '.join(outer)} FROM {self.staging(self.assigned)} fx "
            f"LEFT JOIN ({totals}) t ON t.lg_unit = fx.lg_unit"
        )

    def units_as_of(self, days: Sequence[int]) -> str:
        """Each unit's values as of the end of each of ``days`` (day numbers), for the units
        exposed by then: the unit values of that day's cumulative view."""
        calendar = " UNION ALL ".join(f"SELECT {int(day)} AS lg_cd" for day in days)
        return self.per_unit(
            f"FROM ({calendar}) c CROSS JOIN {self.staging(self.assigned)} fx "
            f"LEFT JOIN {self.staging(self.unit_days)} u ON u.lg_unit = fx.lg_unit "
            "WHERE fx.lg_fd <= c.lg_cd",
            [("c.lg_cd", "lg_day"), ("fx.lg_unit", "lg_unit"), ("fx.lg_group", "lg_grp")],
            "u.lg_unit = fx.lg_unit AND u.lg_d >= 0 AND u.lg_d <= c.lg_cd",
            "c.lg_cd - fx.lg_fd + 1",
            pre=f"u.lg_unit = fx.lg_unit AND u.lg_d = {PRE_EXPOSURE_DAY}",
        )

    def daily_rates(self) -> bool:
        """Whether a metric is a daily participation rate, whose unit value changes every day
        (active days over the days since exposure): its views pair every day with every unit."""
        return any(m.combined(side) == "rate" for _, m in self.unit_metrics for side in ("x", "y"))

    def spans(self, points: str, partition: Sequence[str], last: int) -> str:
        """The change points of ``points`` (``lg_pc``) up to ``last``, distinct per
        ``partition``, each with the last day before the next one (``lg_pe``; ``last`` for the
        latest): the days over which a unit's value stays as at that point."""
        keys = ", ".join(partition)
        over = f"PARTITION BY {keys}"
        return (
            f"SELECT {keys}, lg_pc, CASE WHEN lg_pc = MAX(lg_pc) OVER ({over}) "
            f"THEN {int(last)} ELSE LEAD(lg_pc) OVER ({over} ORDER BY lg_pc) - 1 END AS lg_pe "
            f"FROM (SELECT {keys}, lg_pc FROM ({points}) p "
            f"WHERE lg_pc <= {int(last)} GROUP BY {keys}, lg_pc) q"
        )

    def framed(self) -> bool:
        """Whether every metric's unit value is a sum, a largest or a smallest value of its
        unit-day values: then a unit's values at its change points are window functions over
        its unit-day rows in day order (where the warehouse has the frames it needs)."""
        return self.dialect.supports_range_frames and all(
            m.combined(side) in _FRAMED for _, m in self.unit_metrics for side in ("x", "y")
        )

    def framed_states(self, rows: str, frame: str, last: int, pre: bool) -> str:
        """Per unit and change point (``lg_pc``, a day of ``rows`` from 0 to ``last``; the
        unit-day rows as ``r``), each metric's value over the rows of the ``frame`` ending that
        day (lg_x<i>, lg_y<i>; with ``pre`` its CUPED covariate lg_xp<i>, lg_yp<i>, the frame
        then starting with the unit's first row, and lg_y<i>, lg_yp<i> of ratios only: the
        statistics read no other), without ``pre`` the frame's count of rows with ``lg_row``
        1 (``lg_rows``), and the last day before the unit's next change point (``lg_pe``).
        Rows of one day share their frame: all but one of them get an empty span. Each
        column is one window aggregate: what the pass costs grows with their number."""
        ordered = "PARTITION BY r.lg_unit, r.lg_grp ORDER BY r.lg_d"
        over = f"OVER ({ordered} {frame})"
        columns = ["r.lg_unit AS lg_unit", "r.lg_grp AS lg_grp", "r.lg_d AS lg_pc"]
        columns.append(f"LEAD(r.lg_d, 1, {int(last) + 1}) OVER ({ordered}) - 1 AS lg_pe")
        if not pre:
            columns.append(f"SUM(r.lg_row) {over} AS lg_rows")
        for i, metric in self.unit_metrics:
            for side in ("x", "y") if metric.ratio or not pre else ("x",):
                function = _FRAMED[metric.combined(side)]
                columns.append(f"COALESCE({function}(r.lg_d{side}{i}) {over}, 0) AS lg_{side}{i}")
                if pre:  # the covariate's row (day -1) is the first in the frame
                    columns.append(f"COALESCE(SUM(r.lg_d{side}p{i}) {over}, 0) AS lg_{side}p{i}")
        return (
            f"SELECT * FROM (SELECT {', '.join(columns)} FROM ({rows}) r) f "
            f"WHERE lg_pc >= 0 AND lg_pc <= {int(last)}"
        )

    def _framed_rows(self, tick_day: str, source: str, condition: str, real: str) -> str:
        """The unit-day rows meeting ``real`` with ``lg_row`` 1, and a row without values
        (``lg_row`` 0) at ``tick_day`` of each row of ``source`` meeting ``condition``: a
        change point."""
        d, ud = self.dialect, self.staging(self.unit_days)
        numbers = self.number_columns()
        numbers_of_rows = ", ".join(f"u.{c} AS {c}" for c in numbers)
        empty = ", ".join(f"{d.cast_float('NULL')} AS {c}" for c in numbers)
        return (
            f"SELECT u.lg_unit AS lg_unit, u.lg_grp AS lg_grp, u.lg_d AS lg_d, 1 AS lg_row, "
            f"{numbers_of_rows} FROM {ud} u WHERE {real} "
            "UNION ALL SELECT t.lg_unit AS lg_unit, t.lg_grp AS lg_grp, "
            f"{tick_day} AS lg_d, 0 AS lg_row, {empty} FROM {source} t WHERE {condition}"
        )

    def over_days(
        self, spans: str, days: Sequence[int], keys: Sequence[str], sums: Sequence[str]
    ) -> str:
        """Per day of ``days`` and ``keys``, the ``sums`` of the rows of ``spans`` (sums per
        span ``lg_pc`` to ``lg_pe``) whose span holds the day."""
        calendar = " UNION ALL ".join(f"SELECT {int(day)} AS lg_cd" for day in days)
        columns = [f"s.{key} AS {key}" for key in keys] + [f"SUM(s.{n}) AS {n}" for n in sums]
        return (
            f"SELECT c.lg_cd AS lg_day, {', '.join(columns)} FROM ({spans}) s "
            f"CROSS JOIN ({calendar}) c WHERE s.lg_pc <= c.lg_cd AND c.lg_cd <= s.lg_pe "
            f"GROUP BY c.lg_cd, {', '.join(f's.{key}' for key in keys)}"
        )

    def sum_names(self, ratio_names: Sequence[str], names: Sequence[str]) -> list[str]:
        return [
            f"{name}_{i}"
            for i, metric in self.unit_metrics
            for name in (ratio_names if metric.ratio else names)
        ]

    def cumulative_statistics(self, days: Sequence[int]) -> str:
        """Per day of ``days`` and group, the units and every metric's sums of that day's
        cumulative view. A unit's value changes only on its exposure day and the days it has
        rows: its value is computed at those days alone and counts for every day up to its
        next change, so no day is paired with every unit (but with daily rates, which change
        every day)."""
        if self.daily_rates():
            return self.statistics(self.units_as_of(days), by=["lg_day"])
        if self.summed():
            return self.cumulative_statistics_by_increments(days)
        last, fx, ud = max(days), self.staging(self.assigned), self.staging(self.unit_days)
        sums = ["lg_units", *self.sum_names(RATIO_SUMS, MEAN_SUMS)]
        if self.framed():
            exposed = f"(SELECT lg_unit, lg_group AS lg_grp, lg_fd FROM {fx})"  # the exposure day
            rows = self._framed_rows("t.lg_fd", exposed, "1 = 1", "1 = 1")
            frame = "RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
            values = self.framed_states(rows, frame, last, pre=True)
            return self.over_days(
                self.statistics(values, by=["lg_pc", "lg_pe"]), days, ["lg_grp"], sums
            )
        points = (
            f"SELECT lg_unit AS lg_pu, lg_fd AS lg_pc FROM {fx} "
            f"UNION ALL SELECT lg_unit AS lg_pu, lg_d AS lg_pc FROM {ud} WHERE lg_d >= 0"
        )
        values = self.per_unit(
            f"FROM ({self.spans(points, ['lg_pu'], last)}) c "
            f"JOIN {fx} fx ON fx.lg_unit = c.lg_pu "
            f"LEFT JOIN {ud} u ON u.lg_unit = fx.lg_unit AND u.lg_d <= c.lg_pc",
            [
                ("c.lg_pc", "lg_pc"),
                ("c.lg_pe", "lg_pe"),
                ("fx.lg_unit", "lg_unit"),
                ("fx.lg_group", "lg_grp"),
            ],
            "u.lg_unit = fx.lg_unit AND u.lg_d >= 0 AND u.lg_d <= c.lg_pc",
            "c.lg_pc - fx.lg_fd + 1",
            pre=f"u.lg_unit = fx.lg_unit AND u.lg_d = {PRE_EXPOSURE_DAY}",
        )
        return self.over_days(
            self.statistics(values, by=["lg_pc", "lg_pe"]), days, ["lg_grp"], sums
        )

    def cumulative_statistics_by_increments(self, days: Sequence[int]) -> str:
        """``cumulative_statistics`` of count and sum metrics (``summed``) from what each day
        adds to the group sums, summed over the days up to each of ``days``: the units, N and
        the covariate's sums (Σxp, Σxp², units with xp != 0) grow on the units' exposure day;
        Σx by each unit-day value x; Σx·xp by x·xp; and Σx² by c² - (c - x)², c the unit's
        running total up to that day (one window over the unit-day rows, no calendar of
        units). The unit-day rows carry the group and exposure day: no join."""
        last, fx, ud = max(days), self.staging(self.assigned), self.staging(self.unit_days)
        metrics = [i for i, _ in self.unit_metrics]
        names = ["lg_units", *self.sum_names(RATIO_SUMS, MEAN_SUMS)]
        # one frame for every column: the unit's rows up to this one, in day order
        over = (
            "OVER (PARTITION BY u.lg_unit ORDER BY u.lg_d "
            "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
        )
        columns = ["u.lg_grp AS lg_grp", "u.lg_d AS lg_d"]
        for i in metrics:
            columns += [
                f"COALESCE(u.lg_dx{i}, 0) AS lg_v{i}",
                f"SUM(COALESCE(u.lg_dx{i}, 0)) {over} AS lg_c{i}",
                # the covariate's row (day -1), the unit's only one with xp, comes first
                f"COALESCE(SUM(u.lg_dxp{i}) {over}, 0) AS lg_p{i}",
            ]
        running = f"SELECT {', '.join(columns)} FROM {ud} u WHERE u.lg_d <= {int(last)}"

        def part(source: str, filled: dict[str, str]) -> str:
            return ", ".join(f"{filled.get(n, '0')} AS {n}" for n in names) + f" FROM {source}"

        exposed = {"lg_units": "COUNT(*)"} | {f"n_{i}": "COUNT(*)" for i in metrics}
        covariate: dict[str, str] = {}
        grown: dict[str, str] = {}
        for i in metrics:
            xp, v, c = f"COALESCE(lg_dxp{i}, 0)", f"lg_v{i}", f"lg_c{i}"
            covariate |= {
                f"sxp_{i}": f"SUM({xp})",
                f"sxpxp_{i}": f"SUM({xp} * {xp})",
                f"with_pre_{i}": f"SUM(CASE WHEN {xp} <> 0 THEN 1 ELSE 0 END)",
            }
            grown |= {
                f"sx_{i}": f"SUM({v})",
                f"sxx_{i}": f"SUM({c} * {c} - ({c} - {v}) * ({c} - {v}))",
                f"sxxp_{i}": f"SUM({v} * lg_p{i})",
            }
        increments = " UNION ALL ".join(
            [
                f"SELECT lg_group AS lg_grp, lg_fd AS lg_pc, "
                f"{part(fx, exposed)} WHERE lg_fd <= {int(last)} GROUP BY lg_group, lg_fd",
                f"SELECT lg_grp, lg_fd AS lg_pc, {part(ud, covariate)} "
                f"WHERE lg_d = {PRE_EXPOSURE_DAY} AND lg_fd <= {int(last)} GROUP BY lg_grp, lg_fd",
                f"SELECT lg_grp, lg_d AS lg_pc, {part(f'({running}) r', grown)} "
                "WHERE lg_d >= 0 GROUP BY lg_grp, lg_d",
            ]
        )
        # each day's increments count for every later day of ``days``
        return self.over_days(
            f"SELECT lg_grp, lg_pc, {int(last)} AS lg_pe, "
            f"{', '.join(f'SUM({n}) AS {n}' for n in names)} FROM ({increments}) i "
            "GROUP BY lg_grp, lg_pc",
            days,
            ["lg_grp"],
            names,
        )

    def counted(self, i: int, metric: PipelineMetric, y: str | None = None) -> str | None:
        """The units a metric counts: a ratio's units with a denominator after exposure (all
        units with ``allowNullRatioDenominator``); None: every unit."""
        if metric.ratio and not metric.allow_null_denominator:
            return f"{y or f'lg_y{i}'} <> 0"
        return None

    def _day_products(self, x_of: str, y_of: str) -> list[str]:
        """Every metric's sums over one period's values (``RATIO_DAY_SUMS``; a ratio over the
        units with a denominator in the period), from columns named ``<x_of><i>``."""
        columns = []
        for i, metric in self.unit_metrics:
            x, y = f"{x_of}{i}", f"{y_of}{i}"
            products = {"n": "1", "sx": x, "sxx": f"{x} * {x}"}
            if metric.ratio:
                products |= {"sy": y, "syy": f"{y} * {y}", "sxy": f"{x} * {y}"}
                counted = self.counted(i, metric, y)
                if counted is not None:
                    products = {
                        name: f"CASE WHEN {counted} THEN {expr} ELSE 0 END"
                        for name, expr in products.items()
                    }
            else:  # N is replaced by the units exposed by then
                products["n"] = f"CASE WHEN {y} <> 0 THEN 1 ELSE 0 END"
            columns += [f"SUM({expr}) AS {name}_{i}" for name, expr in products.items()]
        return columns

    def daily_statistics(self) -> str:
        """Per day, exposure day (cohort) and group, every metric's sums over that day's own
        values. Without a count distinct, each unit has one unit-day row per day, whose values
        are its values of that day (every aggregation's value over one day is the day's own):
        the sums come from those rows, not grouped per unit first."""
        if not self.value_columns():
            ud = self.staging(self.unit_days)
            values = ", ".join(
                f"COALESCE(u.lg_d{side}{i}, 0) AS lg_{side}{i}"
                for i, _ in self.unit_metrics
                for side in "xy"
            )
            rows = (
                "SELECT u.lg_d AS lg_day, u.lg_fd AS lg_cohort, u.lg_grp AS lg_g"
                + (f", {values}" if values else "")
                + f" FROM {ud} u WHERE u.lg_d >= 0"
            )
            columns = ["lg_day", "lg_cohort", "lg_g", *self._day_products("lg_x", "lg_y")]
            return f"SELECT {', '.join(columns)} FROM ({rows}) p GROUP BY lg_day, lg_cohort, lg_g"
        per_unit = self.per_unit(
            f"FROM {self.staging(self.unit_days)} u WHERE u.lg_d >= 0",
            [
                ("u.lg_d", "lg_day"),
                ("u.lg_fd", "lg_cohort"),
                ("u.lg_grp", "lg_g"),
                ("u.lg_unit", "lg_unit"),
            ],
            "u.lg_d >= 0",
            "1",
        )
        columns = ["lg_day", "lg_cohort", "lg_g", *self._day_products("lg_x", "lg_y")]
        return f"SELECT {', '.join(columns)} FROM ({per_unit}) p GROUP BY lg_day, lg_cohort, lg_g"

    def rolling_statistics(self, days: Sequence[int]) -> str:
        """Per day of ``days``, rolling window (``ROLLING_WINDOWS``) and group, every metric's
        sums over each unit's values of the window's days ending with that day. A unit's
        window value changes only on the days it has rows and on the days those rows leave
        the window: it is computed at those days alone (as the cumulative view's, but with
        daily rates)."""
        if self.daily_rates():
            return self.rolling_statistics_every_day(days)
        if self.summed():
            return self.rolling_statistics_by_pairs(days)
        last, ud = max(days), self.staging(self.unit_days)
        keys = ["lg_pc", "lg_pe", "lg_window", "lg_g"]
        products = self._day_products("lg_x", "lg_y")
        if self.framed():
            states = " UNION ALL ".join(
                f"SELECT lg_pc, lg_pe, {int(window)} AS lg_window, lg_grp AS lg_g, lg_rows, "
                f"{', '.join(f'lg_{side}{i}' for i, _ in self.unit_metrics for side in 'xy')} "
                "FROM ("
                + self.framed_states(
                    self._framed_rows(
                        f"t.lg_d + {int(window)}",
                        ud,
                        # a row leaving the window after the last day changes no day's value
                        f"t.lg_d >= 0 AND t.lg_d + {int(window)} <= {int(last)}",
                        "u.lg_d >= 0",
                    ),
                    f"RANGE BETWEEN {int(window) - 1} PRECEDING AND CURRENT ROW",
                    last,
                    pre=False,
                )
                + f") s{int(window)}"
                for window in ROLLING_WINDOWS
            )
            # a unit without rows in the window has no value for it
            return self.over_days(
                f"SELECT {', '.join([*keys, *products])} FROM ({states}) r "
                f"WHERE lg_rows > 0 GROUP BY {', '.join(keys)}",
                days,
                ["lg_window", "lg_g"],
                self.sum_names(RATIO_DAY_SUMS, DAY_SUMS),
            )
        windows = " UNION ALL ".join(f"SELECT {int(w)} AS lg_cw" for w in ROLLING_WINDOWS)
        points = " UNION ALL ".join(
            f"SELECT u.lg_unit AS lg_pu, k.lg_cw AS lg_pw, {day} AS lg_pc FROM {ud} u "
            f"CROSS JOIN ({windows}) k WHERE u.lg_d >= 0"
            for day in ("u.lg_d", "u.lg_d + k.lg_cw")  # a row enters, and leaves the window
        )
        per_unit = self.per_unit(
            f"FROM ({self.spans(points, ['lg_pu', 'lg_pw'], last)}) c "
            f"JOIN {ud} u ON u.lg_unit = c.lg_pu "
            "WHERE u.lg_d >= 0 AND u.lg_d <= c.lg_pc AND u.lg_d > c.lg_pc - c.lg_pw",
            [
                ("c.lg_pc", "lg_pc"),
                ("c.lg_pe", "lg_pe"),
                ("c.lg_pw", "lg_window"),
                ("u.lg_grp", "lg_g"),
                ("u.lg_unit", "lg_unit"),
            ],
            "u.lg_d >= 0",
            "c.lg_pw",
        )
        spans = (
            f"SELECT {', '.join([*keys, *products])} FROM ({per_unit}) r GROUP BY {', '.join(keys)}"
        )
        return self.over_days(
            spans, days, ["lg_window", "lg_g"], self.sum_names(RATIO_DAY_SUMS, DAY_SUMS)
        )

    def summed(self) -> bool:
        """Whether every unit-level metric is a count or a sum (not a ratio, no mean): then a
        unit's window value is the sum of its rows in the window, and the rolling views'
        sums come from pairs of its rows (``rolling_statistics_by_pairs``)."""
        return bool(self.unit_metrics) and all(
            not metric.ratio and metric.combined("x") == "sum" for _, metric in self.unit_metrics
        )

    def rolling_statistics_by_pairs(self, days: Sequence[int]) -> str:
        """``rolling_statistics`` of count and sum metrics (``summed``) without a window
        function: a unit's value over a window is the sum of its rows there, so per day of
        ``days``, window w and group, Σx is the sum of the rows in the window; Σx² the sum,
        over the pairs of rows of one unit at days d1 <= d2 both in the window (the days d2
        to d1 + w - 1), of x1·x2 (twice where d1 < d2); and N (the units with a value in the
        window, ``lg_present`` with any row) counts each unit once, by its latest row in the
        window: a row of day d for the days d to the day before the unit's next row (or
        d + w - 1). One self-join of the unit-day rows, days less than the longest window
        apart, summed per group and pair of days, and per group, day and gap to the next
        row: figures per day, not per unit, reach the calendar."""
        ud, longest = self.staging(self.unit_days), max(ROLLING_WINDOWS)
        metrics = [i for i, _ in self.unit_metrics]
        sides = [
            f"{a}.lg_d{side}{i} AS lg_{a}{side}{i}" for i in metrics for side in "xy" for a in "ab"
        ]
        pairs = (
            f"SELECT a.lg_unit AS lg_unit, a.lg_grp AS lg_g, a.lg_d AS lg_d1, b.lg_d AS lg_d2, "
            f"{', '.join(sides)} FROM {ud} a JOIN {ud} b ON b.lg_unit = a.lg_unit "
            f"AND b.lg_d >= a.lg_d AND b.lg_d < a.lg_d + {longest} WHERE a.lg_d >= 0"
        )
        twice = "CASE WHEN lg_d1 = lg_d2 THEN 1 ELSE 2 END"
        products = ", ".join(
            f"SUM(CASE WHEN lg_d1 = lg_d2 THEN COALESCE(lg_ax{i}, 0) ELSE 0 END) AS lg_sx{i}, "
            f"SUM(COALESCE(lg_ax{i}, 0) * COALESCE(lg_bx{i}, 0) * {twice}) AS lg_sxx{i}"
            for i in metrics
        )

        def gap(condition: str) -> str:
            """Days to the unit's next row meeting ``condition``, at most the longest window."""
            return f"MIN(CASE WHEN lg_d2 > lg_d1{condition} THEN lg_d2 - lg_d1 ELSE {longest} END)"

        latest = [f"{gap('')} AS lg_gap"]
        for i in metrics:
            latest += [
                f"{gap(f' AND lg_by{i} > 0')} AS lg_gap{i}",
                f"MAX(CASE WHEN lg_d1 = lg_d2 AND lg_ay{i} > 0 THEN 1 ELSE 0 END) AS lg_has{i}",
            ]
        gaps = ["lg_gap", *(f"lg_gap{i}" for i in metrics)]
        rows = (
            f"SELECT lg_g, lg_d, {', '.join(gaps)}, COUNT(*) AS lg_rows, "
            f"{', '.join(f'SUM(lg_has{i}) AS lg_has{i}' for i in metrics)} FROM ("
            f"SELECT lg_g, lg_d1 AS lg_d, {', '.join(latest)} FROM lg_pairs "
            f"GROUP BY lg_unit, lg_g, lg_d1) r GROUP BY lg_g, lg_d, {', '.join(gaps)}"
        )
        names = ["lg_present", *self.sum_names(RATIO_DAY_SUMS, DAY_SUMS)]

        def span(window: int, lo: str, hi: str, source: str, filled: dict[str, str]) -> str:
            columns = ", ".join(f"{filled.get(n, '0')} AS {n}" for n in names)
            return (
                f"SELECT {int(window)} AS lg_window, lg_g, {lo} AS lg_pc, {hi} AS lg_pe, "
                f"{columns} FROM {source}"
            )

        def until(window: int, name: str) -> str:  # the last day a latest row stands for
            return f"lg_d + CASE WHEN {name} < {int(window)} THEN {name} ELSE {int(window)} END - 1"

        spans = []
        for w in ROLLING_WINDOWS:
            filled = {f"sx_{i}": f"lg_sx{i}" for i in metrics}
            filled |= {f"sxx_{i}": f"lg_sxx{i}" for i in metrics}
            spans.append(
                span(
                    w,
                    "lg_d2",
                    f"lg_d1 + {int(w) - 1}",
                    f"lg_products WHERE lg_d2 - lg_d1 < {int(w)}",
                    filled,
                )
            )
            spans.append(
                span(w, "lg_d", until(w, "lg_gap"), "lg_latest", {"lg_present": "lg_rows"})
            )
            spans += [
                span(
                    w,
                    "lg_d",
                    until(w, f"lg_gap{i}"),
                    f"lg_latest WHERE lg_has{i} > 0",
                    {f"n_{i}": f"lg_has{i}"},
                )
                for i in metrics
            ]
        keys = ["lg_window", "lg_g", "lg_pc", "lg_pe"]
        summed = (
            f"SELECT {', '.join(keys)}, {', '.join(f'SUM({n}) AS {n}' for n in names)} "
            f"FROM ({' UNION ALL '.join(spans)}) s GROUP BY {', '.join(keys)}"
        )
        return (
            f"WITH lg_pairs AS ({pairs}), "
            f"lg_products AS (SELECT lg_g, lg_d1, lg_d2, {products} FROM lg_pairs "
            "GROUP BY lg_g, lg_d1, lg_d2), "
            f"lg_latest AS ({rows}) " + self.over_days(summed, days, ["lg_window", "lg_g"], names)
        )

    def rolling_statistics_every_day(self, days: Sequence[int]) -> str:
        """``rolling_statistics`` with every day of ``days`` paired with every unit-day row."""
        calendar = " UNION ALL ".join(
            f"SELECT {int(day)} AS lg_cd, {int(window)} AS lg_cw"
            for day in days
            for window in ROLLING_WINDOWS
        )
        exposed = "c.lg_cd - u.lg_fd + 1"
        per_unit = self.per_unit(
            f"FROM ({calendar}) c CROSS JOIN {self.staging(self.unit_days)} u "
            "WHERE u.lg_d >= 0 AND u.lg_d <= c.lg_cd AND u.lg_d > c.lg_cd - c.lg_cw",
            [
                ("c.lg_cd", "lg_day"),
                ("c.lg_cw", "lg_window"),
                ("u.lg_grp", "lg_g"),
                ("u.lg_unit", "lg_unit"),
            ],
            "u.lg_d >= 0",
            # the window's days since the unit's exposure
            f"CASE WHEN {exposed} < c.lg_cw THEN {exposed} ELSE c.lg_cw END",
        )
        columns = ["lg_day", "lg_window", "lg_g", *self._day_products("lg_x", "lg_y")]
        return f"SELECT {', '.join(columns)} FROM ({per_unit}) r GROUP BY lg_day, lg_window, lg_g"

    def new_units(self) -> str:
        """Per exposure day and group, the units first exposed that day."""
        return (
            "SELECT lg_fd AS lg_day, lg_group AS lg_g, COUNT(*) AS lg_n "
            f"FROM {self.staging(self.assigned)} GROUP BY lg_fd, lg_group"
        )

    def freshness(self, source: StoredSource) -> str:
        """The earliest and latest row of a metric source before the analysis end."""
        ts = self.column(source, "m", source.document["timestampColumn"], "timestamp")
        return (
            f"SELECT MIN({ts}) AS lg_earliest, MAX({ts}) AS lg_latest "
            f"FROM ({self.rows(source)}) m WHERE {ts} < {self.end()}"
        )

    def exposure_freshness(self) -> str:
        return (
            "SELECT MIN(lg_first_ts) AS lg_earliest, MAX(lg_last_ts) AS lg_latest "
            f"FROM {self.staging(self.first_exposures)}"
        )

    def statistics(
        self,
        values: str | None = None,
        by: Sequence[str] = (),
        caps: Mapping[int, Caps] | None = None,
    ) -> str:
        """Per group (and ``by`` columns) of the unit values (``values``, a query; the unit
        values table when None): units, and every metric's sums as Pulse stores them (its
        SUM_FIELDS); with ``caps``, of the metrics named there only, their unit values
        winsorized."""
        columns = [*by, "lg_grp", "COUNT(*) AS lg_units"]
        for i, metric in self.unit_metrics:
            if caps is not None and i not in caps:
                continue
            x, y, xp, yp = f"lg_x{i}", f"lg_y{i}", f"lg_xp{i}", f"lg_yp{i}"
            if caps is not None:
                x, y = caps[i].clamp(x, "x"), caps[i].clamp(y, "y")
            products = {
                "n": "1",
                "sx": x,
                "sxx": f"{x} * {x}",
                "sxp": xp,
                "sxpxp": f"{xp} * {xp}",
                "sxxp": f"{x} * {xp}",
                "with_pre": f"CASE WHEN {xp} <> 0 THEN 1 ELSE 0 END",
            }
            if metric.ratio:
                products |= {
                    "sy": y,
                    "syy": f"{y} * {y}",
                    "sxy": f"{x} * {y}",
                    "syp": yp,
                    "sypyp": f"{yp} * {yp}",
                    "sxpyp": f"{xp} * {yp}",
                    "sxyp": f"{x} * {yp}",
                    "syxp": f"{y} * {xp}",
                    "syyp": f"{y} * {yp}",
                }
            counted = self.counted(i, metric)
            if counted is not None:
                # a ratio counts the units with a denominator after exposure only
                products = {
                    name: f"CASE WHEN {counted} THEN {expr} ELSE 0 END"
                    for name, expr in products.items()
                }
            columns += [f"SUM({expr}) AS {name}_{i}" for name, expr in products.items()]
        source = self.staging(self.unit_values) if values is None else f"({values}) v"
        keys = ", ".join([*by, "lg_grp"])
        return f"SELECT {', '.join(columns)} FROM {source} GROUP BY {keys}"

    def winsorized(self) -> list[tuple[int, PipelineMetric]]:
        return [(i, m) for i, m in enumerate(self.plan.metrics) if m.bounds or m.denominator_bounds]

    def caps(self) -> str:
        """Each winsorized metric's caps, the percentiles of its non-zero unit values (of the
        units it counts) over all groups (interpolated, as PERCENTILE_CONT), and how many
        there are; a ratio's denominator likewise."""
        columns = []
        for i, metric in self.winsorized():
            counted = self.counted(i, metric)
            for side, bounds in (("x", metric.bounds), ("y", metric.denominator_bounds)):
                if not bounds:
                    continue
                population = f"lg_{side}{i} <> 0"
                if counted is not None and side == "x":
                    population = f"{population} AND {counted}"
                nonzero = f"CASE WHEN {population} THEN lg_{side}{i} END"
                for name, q in (("lo", bounds.low), ("hi", bounds.high)):
                    if q is not None:
                        percentile = self.dialect.exact_percentile(nonzero, q)
                        columns.append(f"{percentile} AS lg_{name}{side}{i}")
                columns.append(f"SUM(CASE WHEN {population} THEN 1 ELSE 0 END) AS lg_nz{side}{i}")
        return f"SELECT {', '.join(columns)} FROM {self.staging(self.unit_values)}"

    def crossovers(self) -> str:
        return (
            f"SELECT COUNT(*) AS lg_crossovers FROM {self.staging(self.first_exposures)}"
            " WHERE lg_groups > 1"
        )


@dataclass(frozen=True)
class Caps:
    """The caps found for one winsorized metric: per side (``x`` its value, ``y`` a ratio's
    denominator), the low and high caps (None: not capped on that end)."""

    x: tuple[float | None, float | None] = (None, None)
    y: tuple[float | None, float | None] = (None, None)

    def clamp(self, expr: str, side: str) -> str:
        """``expr`` with its non-zero values held between the side's caps (zero stays zero:
        the caps are percentiles of the non-zero values)."""
        low, high = self.x if side == "x" else self.y
        cases = []
        if high is not None:
            cases.append(f"WHEN {expr} <> 0 AND {expr} > {high!r} THEN {high!r}")
        if low is not None:
            cases.append(f"WHEN {expr} <> 0 AND {expr} < {low!r} THEN {low!r}")
        if not cases:
            return expr
        return f"(CASE {' '.join(cases)} ELSE {expr} END)"


def _tables(sql: _Sql) -> list[tuple[str, str]]:
    """The staging tables a load fills, in order, each with its query."""
    plan = sql.plan
    steps = []
    if plan.resume_day is not None:
        steps.append((sql.previous_exposures, sql.previous_exposures_select()))
    steps += [
        (sql.first_exposures, sql.first_exposures_select()),
        (sql.assigned, sql.assigned_select()),
    ]
    if plan.resume_day is None:
        steps.append((sql.unit_days, sql.new_unit_days_select()))
    else:
        steps += [
            (sql.new_unit_days, sql.new_unit_days_select()),
            (sql.kept_unit_days, sql.kept_unit_days_select()),
            (sql.unit_days, sql.merged_unit_days_select()),
        ]
    steps.append((sql.unit_values, sql.unit_values_select()))
    return steps


def metric_sources(plan: PipelinePlan) -> dict[str, StoredSource]:
    """The metric sources of the plan's metrics (a ratio's denominator's included), by name."""
    found = {metric.source.name: metric.source for metric in plan.metrics}
    for metric in plan.metrics:
        if metric.denominator is not None:
            found.setdefault(metric.denominator.source.name, metric.denominator.source)
    for source in funnels.sources_of([metric.shape for metric in plan.metrics]):
        found.setdefault(source.name, source)
    return found


def statements(dialect: SqlDialect, staging_schema: str, plan: PipelinePlan) -> list[str]:
    """Every statement ``run`` sends for ``plan``, in order, in one warehouse's dialect (what
    the compile-only warehouses are checked with); with placeholder caps for the winsorized
    statistics and the two days before the last as the earlier days of the cumulative
    views."""
    sql = _Sql(dialect, staging_schema, plan)
    last = day_number(plan.last_day)
    placeholder = {
        i: Caps(
            (1.0 if m.winsorize_low else None, 100.0 if m.winsorize_high else None),
            (
                1.0 if m.denominator_bounds.low else None,
                100.0 if m.denominator_bounds.high else None,
            ),
        )
        for i, m in sql.winsorized()
    }
    return [
        dialect.create_schema(staging_schema),
        *(
            statement
            for table, select in _tables(sql)
            for statement in dialect.replace_table_as(sql.staging(table), select)
        ),
        sql.statistics(),
        sql.crossovers(),
        sql.new_units(),
        sql.daily_statistics(),
        sql.cumulative_statistics([last - 2, last - 1]),
        sql.rolling_statistics([last - 1, last]),
        *([sql.caps(), sql.statistics(caps=placeholder)] if placeholder else []),
        *(
            statement
            for metric in plan.metrics
            if not metric.unit_level
            for statement in percentiles.statements(sql, metric, list(plan.groups))
        ),
        sql.exposure_freshness(),
        *(sql.freshness(source) for source in metric_sources(plan).values()),
    ]


def _number(value: Any) -> float:
    return float(value or 0)


def _row_sums(
    plan: PipelinePlan,
    values: dict[str, Any],
    ratio_names: Sequence[str],
    names: Sequence[str],
    only: Sequence[int] | None = None,
) -> list[dict[str, float] | None]:
    """Per metric of the plan, its sums in one result row (None where its N is 0, or where
    ``only``, the metrics the query had, leaves it out)."""
    found: list[dict[str, float] | None] = []
    for i, metric in enumerate(plan.metrics):
        if (only is not None and i not in only) or not metric.unit_level:
            found.append(None)
            continue
        of_group = {
            name: _number(values[f"{name}_{i}"])
            for name in (ratio_names if metric.ratio else names)
        }
        found.append(of_group if of_group["n"] else None)
    return found


def _group_sums(
    found: Any, plan: PipelinePlan, only: Sequence[int] | None = None
) -> list[dict[str, dict[str, float]]]:
    """Per metric of the plan, its sums per group from a statistics query's rows (groups
    where the metric has no unit left out); ``only`` the metrics that query had."""
    sums: list[dict[str, dict[str, float]]] = [{} for _ in plan.metrics]
    for row in found.rows:
        values = dict(zip(found.columns, row, strict=True))
        group = str(values["lg_grp"])
        for i, of_group in enumerate(_row_sums(plan, values, RATIO_SUMS, MEAN_SUMS, only)):
            if of_group is not None:
                sums[i][group] = of_group
    return sums


def _moment(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    return str(value)


def run(warehouse: Warehouse, plan: PipelinePlan, progress: Progress) -> dict[str, Any]:
    """Run the pipeline in ``warehouse`` (connected); answer, for the load's last day,
    ``units`` per group, ``crossoverUnits`` and, per metric of the plan in order, its ``sums``
    per group as Pulse stores them (groups where the metric has no unit left out), its
    ``winsorization`` and ``cappedSums`` (None where not winsorized); ``days``: the same
    ``units`` and ``sums`` of every earlier day's cumulative view (not winsorized); ``daily``:
    per day its own ``sums`` per metric and group, and the same split by exposure day
    (``cohorts``); ``newUnits`` per exposure day and group; ``rolling``: per window of
    ``ROLLING_WINDOWS``, per day, the sums of each unit's values over the window's days;
    ``freshness``: the earliest and latest exposure and metric source row. A turbo plan
    leaves ``days``, ``daily`` and ``rolling`` empty (their queries are not sent)."""
    sql = _Sql(warehouse.dialect, warehouse.staging_schema, plan)
    warehouse.ensure_staging()
    steps = _tables(sql)
    for n, (table, select) in enumerate(steps):
        progress(5 + 50 * n // len(steps), f"staging table {table}")
        warehouse.replace_table_as(table, select)
    progress(60, "group statistics")
    found = warehouse.fetch(sql.statistics())
    crossovers = warehouse.fetch(sql.crossovers()).rows[0][0]
    units = {
        str(row[found.columns.index("lg_grp")]): int(row[found.columns.index("lg_units")])
        for row in found.rows
    }
    progress(70, "daily views")
    new_units: dict[str, dict[str, int]] = {}
    for day, group, count in warehouse.fetch(sql.new_units()).rows:
        new_units.setdefault(day_of(day).isoformat(), {})[str(group)] = int(count)
    daily: dict[str, Any] = {}
    rolling: dict[int, dict[str, list[dict[str, dict[str, float]]]]] = {
        window: {} for window in ROLLING_WINDOWS
    }
    days: dict[str, Any] = {}
    if not plan.turbo:
        daily = _daily(warehouse, sql)
        rolling = _rolling(warehouse, sql, new_units)
        days = _earlier_days(warehouse, sql, new_units)
    winsorization, capped = _winsorization(warehouse, sql, progress)
    counted = sum(1 for m in plan.metrics if not m.unit_level)
    if counted:
        progress(95, f"percentiles of {counted} metrics")
    return {
        "units": units,
        "crossoverUnits": int(crossovers or 0),
        "sums": _group_sums(found, plan),
        "newUnits": new_units,
        "daily": daily,
        "rolling": rolling,
        "days": days,
        "winsorization": winsorization,
        "cappedSums": capped,
        "percentiles": [
            percentiles.estimate(warehouse, sql, metric) if not metric.unit_level else None
            for metric in plan.metrics
        ],
        "freshness": _freshness(warehouse, sql),
    }


def drop_staging(warehouse: Warehouse, plan: PipelinePlan) -> None:
    """Drop every staging table of ``plan`` that is there (a metric load's, when it ends)."""
    sql = _Sql(warehouse.dialect, warehouse.staging_schema, plan)
    for table in sql.tables():
        warehouse.drop_table(table)


def _daily(warehouse: Warehouse, sql: _Sql) -> dict[str, Any]:
    found = warehouse.fetch(sql.daily_statistics())
    daily: dict[str, Any] = {}
    metrics = len(sql.plan.metrics)
    for row in found.rows:
        values = dict(zip(found.columns, row, strict=True))
        day = day_of(values["lg_day"]).isoformat()
        cohort = day_of(values["lg_cohort"]).isoformat()
        group = str(values["lg_g"])
        of_day = daily.setdefault(
            day, {"sums": [{} for _ in range(metrics)], "cohorts": [{} for _ in range(metrics)]}
        )
        for i, of_group in enumerate(_row_sums(sql.plan, values, RATIO_DAY_SUMS, DAY_SUMS)):
            metric = sql.plan.metrics[i]
            if of_group is None and (metric.ratio or not metric.unit_level):
                continue
            of_group = of_group or {name: _number(values[f"{name}_{i}"]) for name in DAY_SUMS}
            total = of_day["sums"][i].setdefault(group, dict.fromkeys(of_group, 0.0))
            for name, value in of_group.items():
                total[name] += value
            of_day["cohorts"][i].setdefault(cohort, {})[group] = of_group
    return daily


def _rolling(
    warehouse: Warehouse, sql: _Sql, new_units: dict[str, dict[str, int]]
) -> dict[int, dict[str, list[dict[str, dict[str, float]]]]]:
    """Per rolling window, per day from the first exposure to the last, each metric's sums
    per group over the window's days (groups without a row left out)."""
    rolling: dict[int, dict[str, list[dict[str, dict[str, float]]]]] = {
        window: {} for window in ROLLING_WINDOWS
    }
    if not new_units:
        return rolling
    first = day_number(dt.date.fromisoformat(min(new_units)))
    found = warehouse.fetch(sql.rolling_statistics(range(first, day_number(sql.plan.last_day) + 1)))
    for row in found.rows:
        values = dict(zip(found.columns, row, strict=True))
        if not values.get("lg_present", 1):  # no unit with rows in the window
            continue
        of_day = rolling[int(values["lg_window"])].setdefault(
            day_of(values["lg_day"]).isoformat(), [{} for _ in sql.plan.metrics]
        )
        for i, metric in sql.unit_metrics:
            names = RATIO_DAY_SUMS if metric.ratio else DAY_SUMS
            of_group = {name: _number(values[f"{name}_{i}"]) for name in names}
            if of_group["n"] or not metric.ratio:
                of_day[i][str(values["lg_g"])] = of_group
    return rolling


def _earlier_days(
    warehouse: Warehouse, sql: _Sql, new_units: dict[str, dict[str, int]]
) -> dict[str, Any]:
    """The cumulative view of every day from the first exposure to the day before the last."""
    if not new_units:
        return {}
    first = day_number(dt.date.fromisoformat(min(new_units)))
    days = list(range(first, day_number(sql.plan.last_day)))
    if not days:
        return {}
    found = warehouse.fetch(sql.cumulative_statistics(days))
    earlier: dict[str, Any] = {}
    for row in found.rows:
        values = dict(zip(found.columns, row, strict=True))
        of_day = earlier.setdefault(
            day_of(values["lg_day"]).isoformat(),
            {"units": {}, "sums": [{} for _ in sql.plan.metrics]},
        )
        group = str(values["lg_grp"])
        of_day["units"][group] = int(values["lg_units"])
        for i, of_group in enumerate(_row_sums(sql.plan, values, RATIO_SUMS, MEAN_SUMS)):
            if of_group is not None:
                of_day["sums"][i][group] = of_group
    return earlier


def _freshness(warehouse: Warehouse, sql: _Sql) -> dict[str, Any]:
    def span(query: str) -> list[str | None]:
        row = warehouse.fetch(query).rows[0]
        return [_moment(row[0]), _moment(row[1])]

    return {
        "exposures": span(sql.exposure_freshness()),
        "metricSources": {
            name: span(sql.freshness(source)) for name, source in metric_sources(sql.plan).items()
        },
    }


def _winsorization(
    warehouse: Warehouse, sql: _Sql, progress: Progress
) -> tuple[list[Any], list[Any]]:
    """Per metric of the plan, None or its winsorization: ``percentile`` and
    ``lowPercentile`` (in percent), ``nonzeroUnits``, ``cap`` and ``lowCap`` (None without a
    non-zero value), and for a ratio's denominator the same under ``denominator``; and None
    or its sums with the unit values capped."""
    count = len(sql.plan.metrics)
    found: list[Any] = [None] * count
    capped: list[Any] = [None] * count
    winsorized = sql.winsorized()
    if not winsorized:
        return found, capped
    progress(90, f"winsorization caps of {len(winsorized)} metrics")
    result = warehouse.fetch(sql.caps())
    row = dict(zip(result.columns, result.rows[0], strict=True))

    def cap(name: str) -> float | None:
        value = row.get(name)
        return None if value is None else float(value)

    caps: dict[int, Caps] = {}
    for i, metric in winsorized:
        sides: dict[str, tuple[float | None, float | None]] = {}
        for side, bounds in (("x", metric.bounds), ("y", metric.denominator_bounds)):
            if not bounds:
                continue
            low, high = cap(f"lg_lo{side}{i}"), cap(f"lg_hi{side}{i}")
            info = {
                "percentile": None if bounds.high is None else bounds.high * 100,
                "lowPercentile": None if bounds.low is None else bounds.low * 100,
                "nonzeroUnits": int(row[f"lg_nz{side}{i}"] or 0),
                "cap": high,
                "lowCap": low,
            }
            if side == "x":
                found[i] = {**(found[i] or {}), **info}
            else:
                found[i] = {**(found[i] or {}), "denominator": info}
            if low is not None or high is not None:
                sides[side] = (low, high)
        if sides:
            caps[i] = Caps(**sides)
    if caps:
        statistics = warehouse.fetch(sql.statistics(caps=caps))
        for i, sums in enumerate(_group_sums(statistics, sql.plan, list(caps))):
            if i in caps:
                capped[i] = sums
    return found, capped
