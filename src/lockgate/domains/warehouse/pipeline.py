"""The warehouse-native analysis of one experiment (docs/warehouse.md §Pipeline), run in the
team's warehouse through the adapter: SQL generated per dialect, three steps.

1. **First exposures** (staging table ``lg_fe_<key>``): the assignment source's rows of the
   experiment, in one of its groups, before the analysis end; per unit its group, first
   exposure and the number of distinct groups it was seen in.
2. **Unit values** (staging table ``lg_uv_<key>``): for every unit seen in exactly one group,
   each metric's value from its metric source's rows of that unit at or after its first
   exposure and before the analysis end, passing the metric's criteria (its aggregation's
   value: a sum, a count, distinct values, a unit count, the first or latest value, the
   largest or smallest; a ratio's numerator and denominator from their own sources); 0 for
   units without rows.
3. **Group statistics**: one query answering, per group, the units and every metric's
   sufficient statistics (N, Σx, Σx², and Σy, Σy², Σxy for ratios), the shape Lockgate's own
   Pulse stores, so results are computed by the same code; for winsorized metrics, their caps
   (percentiles of the non-zero unit values) and the same statistics of the capped values;
   for percentile metrics, per group the percentile of their rows' values and its variance
   from its rank interval.

Only these group-level figures leave the warehouse. The staging tables stay there until the
next load of the experiment replaces them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lockgate.domains.warehouse import percentiles
from lockgate.domains.warehouse.adapters import Warehouse
from lockgate.domains.warehouse.dialects import SqlDialect
from lockgate.domains.warehouse.sources import source_query
from lockgate.domains.warehouse.usage import StoredSource
from lockgate.errors import InvalidInput

Progress = Callable[[int, str], None]

# Aggregations whose unit value is a ratio Σx / Σy over the units with y != 0.
RATIO_AGGREGATIONS = frozenset({"mean", "ratio"})
# The CUPED covariate: a unit's value over the days before its first exposure, as in Pulse.
CUPED_WINDOW_DAYS = 7
# The sums the statistics query answers per metric, named as Pulse stores them.
MEAN_SUMS = ("n", "sx", "sxx", "sxp", "sxpxp", "sxxp", "with_pre")
RATIO_SUMS = (*MEAN_SUMS, "sy", "syy", "sxy", "syp", "sypyp", "sxpyp", "sxyp", "syxp", "syyp")


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
            aggregation, self.source, self.value_column, self.criteria, self.rollup, self.cap
        )


@dataclass(frozen=True)
class PipelinePlan:
    """What one load of one experiment computes."""

    key: str  # names the staging tables: the project and experiment, hashed
    source: StoredSource  # the assignment source
    experiment_value: str  # the value of its experiment column that marks the experiment
    unit_type: str
    groups: Sequence[str]  # the group names, as in the source's group column
    end: dt.datetime  # UTC, exclusive
    metrics: Sequence[PipelineMetric]
    start_day: dt.date | None = None  # the date macros' start; the epoch when None

    @staticmethod
    def key_of(project_id: str, experiment_id: str) -> str:
        return hashlib.sha256(f"{project_id}\x00{experiment_id}".encode()).hexdigest()[:20]


class _Sql:
    """The statements of one plan in one warehouse's dialect."""

    def __init__(self, dialect: SqlDialect, staging_schema: str, plan: PipelinePlan) -> None:
        self.dialect = dialect
        self.schema = staging_schema
        self.plan = plan
        self.first_exposures = f"lg_fe_{plan.key}"
        self.unit_values = f"lg_uv_{plan.key}"

    def staging(self, table: str) -> str:
        return self.dialect.qualified(self.schema, table)

    def column(self, source: StoredSource, alias: str, name: str, field: str) -> str:
        found = source.column(name)
        if found is None:  # the source's query changed since the definition was checked
            raise InvalidInput.because(
                f"The {field} column {name!r} is no longer among the columns of source "
                f"{source.name!r} ({', '.join(source.columns)})"
            )
        return f"{alias}.{self.dialect.quote(found)}"

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
        return (
            "SELECT lg_unit, MIN(lg_grp) AS lg_group, MIN(lg_ts) AS lg_first_ts, "
            f"COUNT(DISTINCT lg_grp) AS lg_groups FROM ({exposures}) a GROUP BY lg_unit"
        )

    def criterion(self, source: StoredSource, criterion: dict[str, Any]) -> str:
        d = self.dialect
        condition = criterion["condition"]
        values = [str(v) for v in criterion.get("values") or []]
        if condition == "sql_filter":  # the team's own SQL over the source's columns, as is
            return values[0]
        column = self.column(source, "m", criterion["column"], "criterion")
        as_text = d.cast_string(column)
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

    def analysis_day(self) -> str:
        """The last day the analysis covers: the day of the moment just before its end."""
        return self.dialect.date_literal((self.plan.end - dt.timedelta(seconds=1)).date())

    def component_values(self, component: PipelineComponent) -> str:
        """Per unit of the first exposures, one scan of a component's rows: (lg_u, lg_x) from
        its first exposure on and lg_xp over the CUPED window before it; for a mean also
        (lg_y, lg_yp), its counts of values."""
        d, source, kind = self.dialect, component.source, component.aggregation
        ts = self.column(source, "m", source.document["timestampColumn"], "timestamp")
        after = f"{ts} >= fe.lg_first_ts"
        raw = "1"
        if component.value_column is not None:
            raw = self.column(source, "m", component.value_column, "value")
        value = raw if kind == "count_distinct" or raw == "1" else d.cast_float(raw)
        # ts >= first exposure - CUPED window, with the days added on the row's side: some
        # warehouses have no negative interval literal.
        window = d.add_days(ts, CUPED_WINDOW_DAYS)
        conditions = [f"{window} >= fe.lg_first_ts", f"{ts} < {self.end()}", "fe.lg_groups = 1"]
        conditions += [f"({self.criterion(source, c)})" for c in component.criteria]
        scan = (
            f"FROM {self.staging(self.first_exposures)} fe "
            f"JOIN ({self.rows(source)}) m ON {d.cast_string(self.unit(source, 'm'))} = fe.lg_unit "
            f"WHERE {' AND '.join(conditions)}"
        )
        period = f"CASE WHEN {after} THEN 1 ELSE 0 END"
        group = ["fe.lg_unit"]
        if kind in ("first_value", "latest_value"):
            # the unit's earliest (latest) non-null value in each period; ties by the value
            order = "ASC" if kind == "first_value" else "DESC"
            ranked = (
                f"SELECT fe.lg_unit AS lg_u, {period} AS lg_after, {value} AS lg_val, "
                f"ROW_NUMBER() OVER (PARTITION BY fe.lg_unit, {period} "
                f"ORDER BY {ts} {order}, {value} {order}) AS lg_rank "
                f"{scan} AND {value} IS NOT NULL"
            )
            return (
                "SELECT lg_u, MAX(CASE WHEN lg_after = 1 THEN lg_val END) AS lg_x, "
                "MAX(CASE WHEN lg_after = 0 THEN lg_val END) AS lg_xp "
                f"FROM ({ranked}) r WHERE lg_rank = 1 GROUP BY lg_u"
            )
        if component.cap is not None:
            # each unit-day's value (the day of exposure split at the exposure) capped
            day = f"CAST({ts} AS DATE)"
            total, cap = f"SUM({value})", repr(float(component.cap))
            capped = f"CASE WHEN {total} > {cap} THEN {cap} ELSE {d.cast_float(total)} END"
            days = (
                f"SELECT fe.lg_unit AS lg_u, {period} AS lg_after, {capped} AS lg_val "
                f"{scan} GROUP BY fe.lg_unit, {period}, {day}"
            )
            return (
                "SELECT lg_u, SUM(CASE WHEN lg_after = 1 THEN lg_val ELSE 0 END) AS lg_x, "
                "SUM(CASE WHEN lg_after = 0 THEN lg_val ELSE 0 END) AS lg_xp "
                f"FROM ({days}) r GROUP BY lg_u"
            )
        pieces = self._pieces(component, after, value)
        if kind == "daily_participation" and component.rollup == "daily":
            group.append("fe.lg_first_ts")
        columns = ", ".join(f"{expr} AS {name}" for name, expr in pieces.items())
        return f"SELECT fe.lg_unit AS lg_u, {columns} {scan} GROUP BY {', '.join(group)}"

    def _pieces(self, component: PipelineComponent, after: str, value: str) -> dict[str, str]:
        """The aggregates of one scan: lg_x after exposure, lg_xp in the CUPED window."""
        d, kind = self.dialect, component.aggregation
        if kind in ("count", "sum", "mean"):
            pieces = {
                "lg_x": f"SUM(CASE WHEN {after} THEN {value} ELSE 0 END)",
                "lg_xp": f"SUM(CASE WHEN {after} THEN 0 ELSE {value} END)",
            }
            if kind == "mean":
                counted = f"CASE WHEN {value} IS NOT NULL THEN 1 ELSE 0 END"
                pieces |= {
                    "lg_y": f"SUM(CASE WHEN {after} THEN {counted} ELSE 0 END)",
                    "lg_yp": f"SUM(CASE WHEN {after} THEN 0 ELSE {counted} END)",
                }
            return pieces
        if kind == "count_distinct":
            return {
                "lg_x": f"COUNT(DISTINCT CASE WHEN {after} THEN {value} END)",
                "lg_xp": f"COUNT(DISTINCT CASE WHEN {after} THEN NULL ELSE {value} END)",
            }
        if kind in ("max", "min"):
            return {
                "lg_x": f"{kind.upper()}(CASE WHEN {after} THEN {value} END)",
                "lg_xp": f"{kind.upper()}(CASE WHEN {after} THEN NULL ELSE {value} END)",
            }
        if kind == "daily_participation" and component.rollup == "daily":
            # days with a row over the days since the day of first exposure; before it, days
            # with a row over the CUPED window's days
            ts = self.column(
                component.source, "m", component.source.document["timestampColumn"], "timestamp"
            )
            day = f"CAST({ts} AS DATE)"
            exposed = f"({d.days_between('fe.lg_first_ts', self.analysis_day())} + 1)"
            active = f"COUNT(DISTINCT CASE WHEN {after} THEN {day} END)"
            before = f"COUNT(DISTINCT CASE WHEN {after} THEN NULL ELSE {day} END)"
            return {
                "lg_x": f"{d.cast_float(active)} / {exposed}",
                "lg_xp": f"{d.cast_float(before)} / {float(CUPED_WINDOW_DAYS)!r}",
            }
        if kind == "daily_participation":  # one-time: whether the unit has a row at all
            return {
                "lg_x": f"MAX(CASE WHEN {after} THEN 1 ELSE 0 END)",
                "lg_xp": f"MAX(CASE WHEN {after} THEN 0 ELSE 1 END)",
            }
        raise InvalidInput.because(f"Aggregation {kind!r} is not computed here")

    def unit_values_select(self) -> str:
        d = self.dialect
        columns = ["fe.lg_unit AS lg_unit", "fe.lg_group AS lg_grp"]
        joins = []

        def value(alias: str, piece: str) -> str:
            return f"COALESCE({d.cast_float(f'{alias}.{piece}')}, 0)"

        for i, metric in enumerate(self.plan.metrics):
            if not metric.unit_level:
                continue
            numerator = f"m{i}"
            pieces = {"lg_x": value(numerator, "lg_x"), "lg_xp": value(numerator, "lg_xp")}
            joins.append(
                f"LEFT JOIN ({self.component_values(metric.numerator)}) {numerator} "
                f"ON {numerator}.lg_u = fe.lg_unit"
            )
            if metric.denominator is not None:
                denominator = f"d{i}"
                pieces |= {"lg_y": value(denominator, "lg_x"), "lg_yp": value(denominator, "lg_xp")}
                joins.append(
                    f"LEFT JOIN ({self.component_values(metric.denominator)}) {denominator} "
                    f"ON {denominator}.lg_u = fe.lg_unit"
                )
            elif metric.ratio:
                pieces |= {"lg_y": value(numerator, "lg_y"), "lg_yp": value(numerator, "lg_yp")}
            columns += [f"{expr} AS {piece}{i}" for piece, expr in pieces.items()]
        return (
            f"SELECT {', '.join(columns)} FROM {self.staging(self.first_exposures)} fe "
            f"{' '.join(joins)} WHERE fe.lg_groups = 1"
        )

    def counted(self, i: int, metric: PipelineMetric) -> str | None:
        """The units a metric counts: a ratio's units with a denominator after exposure (all
        units with ``allowNullRatioDenominator``); None: every unit."""
        if metric.ratio and not metric.allow_null_denominator:
            return f"lg_y{i} <> 0"
        return None

    def statistics(self, caps: Mapping[int, Caps] | None = None) -> str:
        """Per group: units, and every metric's sums as Pulse stores them (its SUM_FIELDS);
        with ``caps``, of the metrics named there only, their unit values winsorized."""
        columns = ["lg_grp", "COUNT(*) AS lg_units"]
        for i, metric in enumerate(self.plan.metrics):
            if (caps is not None and i not in caps) or not metric.unit_level:
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
        return f"SELECT {', '.join(columns)} FROM {self.staging(self.unit_values)} GROUP BY lg_grp"

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


def statements(dialect: SqlDialect, staging_schema: str, plan: PipelinePlan) -> list[str]:
    """Every statement ``run`` sends for ``plan``, in order, in one warehouse's dialect (what
    the compile-only warehouses are checked with); with placeholder caps for the winsorized
    statistics."""
    sql = _Sql(dialect, staging_schema, plan)
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
        *dialect.replace_table_as(sql.staging(sql.first_exposures), sql.first_exposures_select()),
        *dialect.replace_table_as(sql.staging(sql.unit_values), sql.unit_values_select()),
        sql.statistics(),
        sql.crossovers(),
        *([sql.caps(), sql.statistics(placeholder)] if placeholder else []),
        *(
            statement
            for metric in plan.metrics
            if not metric.unit_level
            for statement in percentiles.statements(sql, metric, list(plan.groups))
        ),
    ]


def _number(value: Any) -> float:
    return float(value or 0)


def _group_sums(
    found: Any, plan: PipelinePlan, only: Sequence[int] | None = None
) -> list[dict[str, dict[str, float]]]:
    """Per metric of the plan, its sums per group from a statistics query's rows (groups
    where the metric has no unit left out); ``only`` the metrics that query had."""
    sums: list[dict[str, dict[str, float]]] = [{} for _ in plan.metrics]
    for row in found.rows:
        values = dict(zip(found.columns, row, strict=True))
        group = str(values["lg_grp"])
        for i, metric in enumerate(plan.metrics):
            if (only is not None and i not in only) or not metric.unit_level:
                continue
            names = RATIO_SUMS if metric.ratio else MEAN_SUMS
            of_group = {name: _number(values[f"{name}_{i}"]) for name in names}
            if of_group["n"]:
                sums[i][group] = of_group
    return sums


def run(warehouse: Warehouse, plan: PipelinePlan, progress: Progress) -> dict[str, Any]:
    """Run the pipeline in ``warehouse`` (connected); answer ``units`` per group,
    ``crossoverUnits`` and, per metric of the plan in order, its ``sums`` per group as Pulse
    stores them (groups where the metric has no unit left out), its ``winsorization`` and
    ``cappedSums`` (None where not winsorized)."""
    sql = _Sql(warehouse.dialect, warehouse.staging_schema, plan)
    warehouse.ensure_staging()
    progress(10, f"first exposures from assignment source {plan.source.name}")
    warehouse.replace_table_as(sql.first_exposures, sql.first_exposures_select())
    progress(40, f"values of {len(plan.metrics)} metrics per unit")
    warehouse.replace_table_as(sql.unit_values, sql.unit_values_select())
    progress(80, "group statistics")
    found = warehouse.fetch(sql.statistics())
    crossovers = warehouse.fetch(sql.crossovers()).rows[0][0]
    units = {
        str(row[found.columns.index("lg_grp")]): int(row[found.columns.index("lg_units")])
        for row in found.rows
    }
    winsorization, capped = _winsorization(warehouse, sql, progress)
    counted = sum(1 for m in plan.metrics if not m.unit_level)
    if counted:
        progress(95, f"percentiles of {counted} metrics")
    return {
        "units": units,
        "crossoverUnits": int(crossovers or 0),
        "sums": _group_sums(found, plan),
        "winsorization": winsorization,
        "cappedSums": capped,
        "percentiles": [
            percentiles.estimate(warehouse, sql, metric) if not metric.unit_level else None
            for metric in plan.metrics
        ],
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
        statistics = warehouse.fetch(sql.statistics(caps))
        for i, sums in enumerate(_group_sums(statistics, sql.plan, list(caps))):
            if i in caps:
                capped[i] = sums
    return found, capped
