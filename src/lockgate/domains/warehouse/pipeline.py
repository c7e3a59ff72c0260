"""The warehouse-native analysis of one experiment (docs/warehouse.md §Pipeline), run in the
team's warehouse through the adapter: SQL generated per dialect.

1. **First exposures** (staging table ``lg_fe_<key>``): the assignment source's rows of the
   experiment, in one of its groups, within the analysis window, passing its filters; per
   unit its group, first exposure, first exposure day, latest exposure and the number of
   distinct groups it was seen in. ``lg_fx_<key>`` keeps the units seen in exactly one group.
2. **Unit-day values** (``lg_ud_<key>``): per unit and UTC day, each metric's value from its
   metric source's rows of that unit at or after its first exposure and before the analysis
   end, passing the metric's criteria; the CUPED covariate (the week before exposure) is the
   unit's row of day -1. An incremental load keeps the rows of the days before its resume
   day of the units whose first exposure did not change, and scans only the rows from then
   on (and every row of new or changed units).
3. **Unit values** (``lg_uv_<key>``): each unit's sums over its days, 0 for units without
   rows.
4. **Group statistics**: per group, the units and every metric's sufficient statistics (N,
   Σx, Σx², and Σy, Σy², Σxy for ratios), the shape Lockgate's own Pulse stores, so results
   are computed by the same code: for the load's last day from the unit values (winsorized
   where asked), for every earlier day from the unit-day values up to that day, and each
   day's own values (the daily view) split by the units' exposure day.

Only these group-level figures leave the warehouse. The staging tables stay there until the
next load of the experiment replaces them (an incremental load reads them first).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lockgate.domains.warehouse.adapters import Warehouse
from lockgate.domains.warehouse.dialects import SqlDialect
from lockgate.domains.warehouse.sources import source_query
from lockgate.domains.warehouse.usage import StoredSource
from lockgate.errors import InvalidInput

Progress = Callable[[int, str], None]

# A unit's values of one metric: after exposure (x, y) and over the CUPED window (xp, yp).
_PIECES = ("x", "y", "xp", "yp")

# Aggregations whose unit value is a ratio Σx / Σy over the units with y != 0.
RATIO_AGGREGATIONS = frozenset({"mean"})
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
class PipelineMetric:
    """One warehouse-native metric as the pipeline reads it (``warehouseNative`` checked)."""

    aggregation: str  # count, sum or mean
    source: StoredSource
    value_column: str | None
    criteria: Sequence[dict[str, Any]]
    winsorize_high: float | None = None  # cap unit values above this percentile (a fraction)

    @property
    def ratio(self) -> bool:
        return self.aggregation in RATIO_AGGREGATIONS


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

    @property
    def last_day(self) -> dt.date:
        """The UTC day of the analysis' last moment (the load's cumulative view)."""
        return (self.end - dt.timedelta(microseconds=1)).date()

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
        self.previous_exposures = f"lg_fp_{plan.key}"
        self.assigned = f"lg_fx_{plan.key}"
        self.unit_days = f"lg_ud_{plan.key}"
        self.new_unit_days = f"lg_un_{plan.key}"
        self.kept_unit_days = f"lg_uk_{plan.key}"
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
        if plan.start is not None:
            exposures += f" AND {ts} >= {d.timestamp_literal(plan.start)}"
        for condition in plan.exposure_filters:
            exposures += f" AND ({self.criterion(source, condition, 's')})"
        first = (
            "SELECT lg_unit, MIN(lg_grp) AS lg_group, MIN(lg_ts) AS lg_first_ts, "
            "MAX(lg_ts) AS lg_last_ts, COUNT(DISTINCT lg_grp) AS lg_groups "
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
        d = self.dialect
        column = self.column(source, alias, criterion["column"], "criterion")
        condition = criterion["condition"]
        values = [str(v) for v in criterion.get("values") or []]
        as_text = d.cast_string(column)
        texts = ", ".join(d.string_literal(v) for v in values)
        if condition in (">", "<", ">=", "<="):
            return f"{d.cast_float(column)} {condition} {float(values[0])!r}"
        shapes = {
            "in": lambda: f"{as_text} IN ({texts})",
            "not_in": lambda: f"{as_text} NOT IN ({texts})",
            "=": lambda: f"{as_text} = {texts}",
            "is_null": lambda: f"{column} IS NULL",
            "non_null": lambda: f"{column} IS NOT NULL",
            "is_true": lambda: f"{column} = TRUE",
            "is_false": lambda: f"{column} = FALSE",
        }
        shape = shapes.get(condition)
        if shape is None:
            raise InvalidInput.because(f"Criterion condition {condition!r} is not computed here")
        return shape()

    def metric_values(self, metric: PipelineMetric) -> str:
        """Per unit of the first exposures and day, one scan of a metric's rows: (lg_u, lg_d,
        lg_x, lg_y) of each day from its first exposure on, and (lg_xp, lg_yp) over the CUPED
        window before it (day -1)."""
        d, source = self.dialect, metric.source
        ts = self.column(source, "m", source.document["timestampColumn"], "timestamp")
        after = f"{ts} >= fe.lg_first_ts"
        if metric.value_column is None:
            value, counted = "1", "1"
        else:
            value = d.cast_float(self.column(source, "m", metric.value_column, "value"))
            counted = f"CASE WHEN {value} IS NOT NULL THEN 1 ELSE 0 END"
        pieces = {
            "lg_x": f"SUM(CASE WHEN {after} THEN {value} ELSE 0 END)",
            "lg_y": f"SUM(CASE WHEN {after} THEN {counted} ELSE 0 END)",
            "lg_xp": f"SUM(CASE WHEN {after} THEN 0 ELSE {value} END)",
            "lg_yp": f"SUM(CASE WHEN {after} THEN 0 ELSE {counted} END)",
        }
        day = f"CASE WHEN {after} THEN {self.day(ts)} ELSE {PRE_EXPOSURE_DAY} END"
        # ts >= first exposure - CUPED window, with the days added on the row's side: some
        # warehouses have no negative interval literal.
        window = d.add_days(ts, CUPED_WINDOW_DAYS)
        conditions = [f"{window} >= fe.lg_first_ts", f"{ts} < {self.end()}"]
        if self.plan.resume_day is not None:
            # a kept unit's rows before the resume day are kept from the last load
            conditions.append(f"(fe.lg_kept = 0 OR ({ts} >= {self.resume()} AND {after}))")
        conditions += [f"({self.criterion(source, c)})" for c in metric.criteria]
        columns = ", ".join(f"{d.cast_float(expr)} AS {name}" for name, expr in pieces.items())
        return (
            f"SELECT fe.lg_unit AS lg_u, {day} AS lg_d, {columns} "
            f"FROM {self.staging(self.assigned)} fe "
            f"JOIN ({self.rows(source)}) m ON {d.cast_string(self.unit(source, 'm'))} = fe.lg_unit "
            f"WHERE {' AND '.join(conditions)} GROUP BY fe.lg_unit, {day}"
        )

    def day_columns(self) -> list[str]:
        return [f"lg_d{piece}{i}" for i in range(len(self.plan.metrics)) for piece in _PIECES]

    def new_unit_days_select(self) -> str:
        """The unit-day values this load computes: every metric's scan, one row per unit and
        day."""
        d, metrics = self.dialect, self.plan.metrics
        branches = []
        for i, metric in enumerate(metrics):
            padded = [
                f"v.lg_{piece} AS lg_b{piece}{j}"
                if j == i
                else f"{d.cast_float('0')} AS lg_b{piece}{j}"
                for j in range(len(metrics))
                for piece in _PIECES
            ]
            branches.append(
                f"SELECT v.lg_u AS lg_bu, v.lg_d AS lg_bd, {', '.join(padded)} "
                f"FROM ({self.metric_values(metric)}) v"
            )
        if not branches:
            branches = [
                f"SELECT lg_unit AS lg_bu, {PRE_EXPOSURE_DAY} AS lg_bd "
                f"FROM {self.staging(self.assigned)} WHERE 1 = 0"
            ]
        sums = [
            f"SUM(s.lg_b{piece}{i}) AS lg_d{piece}{i}"
            for i in range(len(metrics))
            for piece in _PIECES
        ]
        return (
            "SELECT fx.lg_unit AS lg_unit, fx.lg_group AS lg_grp, fx.lg_fd AS lg_fd, "
            f"s.lg_bd AS lg_d{''.join(', ' + c for c in sums)} "
            f"FROM ({' UNION ALL '.join(branches)}) s "
            f"JOIN {self.staging(self.assigned)} fx ON fx.lg_unit = s.lg_bu "
            "GROUP BY fx.lg_unit, fx.lg_group, fx.lg_fd, s.lg_bd"
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

    def unit_values_select(self) -> str:
        """Each unit's values: the sums of its unit-day values, 0 without any."""
        columns = ["fx.lg_unit AS lg_unit", "fx.lg_group AS lg_grp"]
        for i in range(len(self.plan.metrics)):
            columns += [f"COALESCE(SUM(u.lg_d{piece}{i}), 0) AS lg_{piece}{i}" for piece in _PIECES]
        return (
            f"SELECT {', '.join(columns)} FROM {self.staging(self.assigned)} fx "
            f"LEFT JOIN {self.staging(self.unit_days)} u ON u.lg_unit = fx.lg_unit "
            "GROUP BY fx.lg_unit, fx.lg_group"
        )

    def units_as_of(self, days: Sequence[int]) -> str:
        """Each unit's values as of the end of each of ``days`` (day numbers), for the units
        exposed by then: the unit values of that day's cumulative view."""
        calendar = " UNION ALL ".join(f"SELECT {int(day)} AS lg_cd" for day in days)
        columns = ["c.lg_cd AS lg_day", "fx.lg_unit AS lg_unit", "fx.lg_group AS lg_grp"]
        for i in range(len(self.plan.metrics)):
            for piece in ("x", "y"):
                columns.append(
                    f"COALESCE(SUM(CASE WHEN u.lg_d <= c.lg_cd THEN u.lg_d{piece}{i} "
                    f"ELSE 0 END), 0) AS lg_{piece}{i}"
                )
            columns += [f"COALESCE(SUM(u.lg_d{p}{i}), 0) AS lg_{p}{i}" for p in ("xp", "yp")]
        return (
            f"SELECT {', '.join(columns)} FROM ({calendar}) c "
            f"CROSS JOIN {self.staging(self.assigned)} fx "
            f"LEFT JOIN {self.staging(self.unit_days)} u ON u.lg_unit = fx.lg_unit "
            "WHERE fx.lg_fd <= c.lg_cd GROUP BY c.lg_cd, fx.lg_unit, fx.lg_group"
        )

    def _day_products(self, x_of: str, y_of: str) -> list[str]:
        """Every metric's sums over one period's values (``RATIO_DAY_SUMS``; a ratio over the
        units with a denominator in the period), from columns named ``<x_of><i>``."""
        columns = []
        for i, metric in enumerate(self.plan.metrics):
            x, y = f"{x_of}{i}", f"{y_of}{i}"
            with_y = f"{y} <> 0"
            products = {"n": "1", "sx": x, "sxx": f"{x} * {x}"}
            if metric.ratio:
                products |= {"sy": y, "syy": f"{y} * {y}", "sxy": f"{x} * {y}"}
                products = {
                    name: f"CASE WHEN {with_y} THEN {expr} ELSE 0 END"
                    for name, expr in products.items()
                }
            else:  # N is replaced by the units exposed by then
                products["n"] = f"CASE WHEN {with_y} THEN 1 ELSE 0 END"
            columns += [f"SUM({expr}) AS {name}_{i}" for name, expr in products.items()]
        return columns

    def daily_statistics(self) -> str:
        """Per day, exposure day (cohort) and group, every metric's sums over that day's own
        values."""
        columns = ["lg_d AS lg_day", "lg_fd AS lg_cohort", "lg_grp AS lg_g"]
        columns += self._day_products("lg_dx", "lg_dy")
        return (
            f"SELECT {', '.join(columns)} FROM {self.staging(self.unit_days)} "
            f"WHERE lg_d >= 0 GROUP BY lg_d, lg_fd, lg_grp"
        )

    def rolling_statistics(self, days: Sequence[int]) -> str:
        """Per day of ``days``, rolling window (``ROLLING_WINDOWS``) and group, every metric's
        sums over each unit's values of the window's days ending with that day."""
        calendar = " UNION ALL ".join(
            f"SELECT {int(day)} AS lg_cd, {int(window)} AS lg_cw"
            for day in days
            for window in ROLLING_WINDOWS
        )
        sums = [
            f"SUM(u.lg_d{piece}{i}) AS lg_r{piece}{i}"
            for i in range(len(self.plan.metrics))
            for piece in ("x", "y")
        ]
        per_unit = (
            f"SELECT c.lg_cd AS lg_day, c.lg_cw AS lg_window, u.lg_grp AS lg_g, {', '.join(sums)} "
            f"FROM ({calendar}) c CROSS JOIN {self.staging(self.unit_days)} u "
            "WHERE u.lg_d >= 0 AND u.lg_d <= c.lg_cd AND u.lg_d > c.lg_cd - c.lg_cw "
            "GROUP BY c.lg_cd, c.lg_cw, u.lg_unit, u.lg_grp"
        )
        columns = ["lg_day", "lg_window", "lg_g", *self._day_products("lg_rx", "lg_ry")]
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

    def statistics(self, values: str | None = None, by: Sequence[str] = ()) -> str:
        """Per group (and ``by`` columns) of the unit values (``values``, a query; the unit
        values table when None): units, and every metric's sums as Pulse stores them (its
        SUM_FIELDS)."""
        columns = [*by, "lg_grp", "COUNT(*) AS lg_units"]
        for i, metric in enumerate(self.plan.metrics):
            x, y, xp, yp = f"lg_x{i}", f"lg_y{i}", f"lg_xp{i}", f"lg_yp{i}"
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
                # a ratio counts the units with a denominator after exposure only
                products = {
                    name: f"CASE WHEN {y} <> 0 THEN {expr} ELSE 0 END"
                    for name, expr in products.items()
                }
            columns += [f"SUM({expr}) AS {name}_{i}" for name, expr in products.items()]
        source = self.staging(self.unit_values) if values is None else f"({values}) v"
        keys = ", ".join([*by, "lg_grp"])
        return f"SELECT {', '.join(columns)} FROM {source} GROUP BY {keys}"

    def winsorized(self) -> list[tuple[int, PipelineMetric]]:
        return [(i, m) for i, m in enumerate(self.plan.metrics) if m.winsorize_high is not None]

    def caps(self) -> str:
        """Each winsorized metric's cap, the percentile of its non-zero unit values over all
        groups (interpolated, as PERCENTILE_CONT), and how many there are."""
        columns = []
        for i, metric in self.winsorized():
            assert metric.winsorize_high is not None
            nonzero = f"CASE WHEN lg_x{i} <> 0 THEN lg_x{i} END"
            columns += [
                f"{self.dialect.exact_percentile(nonzero, metric.winsorize_high)} AS lg_cap{i}",
                f"SUM(CASE WHEN lg_x{i} <> 0 THEN 1 ELSE 0 END) AS lg_nonzero{i}",
            ]
        return f"SELECT {', '.join(columns)} FROM {self.staging(self.unit_values)}"

    def tails(self, caps: dict[int, float]) -> str:
        """Per group, for each capped metric, its units above the cap: what replacing their
        values by the cap changes in the sums (``TAIL_SUMS``)."""
        columns = ["lg_grp"]
        for i, cap in caps.items():
            x, xp = f"lg_x{i}", f"lg_xp{i}"
            above = f"{x} > {float(cap)!r}"
            products = {"n": "1", "sx": x, "sxx": f"{x} * {x}", "sxp": xp, "sxxp": f"{x} * {xp}"}
            columns += [
                f"SUM(CASE WHEN {above} THEN {expr} ELSE 0 END) AS t{name}_{i}"
                for name, expr in products.items()
            ]
        return f"SELECT {', '.join(columns)} FROM {self.staging(self.unit_values)} GROUP BY lg_grp"

    def crossovers(self) -> str:
        return (
            f"SELECT COUNT(*) AS lg_crossovers FROM {self.staging(self.first_exposures)}"
            " WHERE lg_groups > 1"
        )


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


def _sources(plan: PipelinePlan) -> dict[str, StoredSource]:
    """The metric sources of the plan's metrics, by name."""
    return {m.source.name: m.source for m in plan.metrics}


def statements(dialect: SqlDialect, staging_schema: str, plan: PipelinePlan) -> list[str]:
    """Every statement ``run`` sends for ``plan``, in order, in one warehouse's dialect (what
    the compile-only warehouses are checked with); with placeholder caps for the tails and
    the two days before the last as the earlier days of the cumulative views."""
    sql = _Sql(dialect, staging_schema, plan)
    last = day_number(plan.last_day)
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
        sql.statistics(sql.units_as_of([last - 2, last - 1]), by=["lg_day"]),
        sql.rolling_statistics([last - 1, last]),
        *(
            [sql.caps(), sql.tails({i: 100.0 for i, _ in sql.winsorized()})]
            if sql.winsorized()
            else []
        ),
        sql.exposure_freshness(),
        *(sql.freshness(source) for source in _sources(plan).values()),
    ]


def _number(value: Any) -> float:
    return float(value or 0)


def _group_sums(
    plan: PipelinePlan, values: dict[str, Any], ratio_names: Sequence[str], names: Sequence[str]
) -> list[dict[str, float] | None]:
    """Per metric of the plan, its sums in one result row (None where its N is 0)."""
    found: list[dict[str, float] | None] = []
    for i, metric in enumerate(plan.metrics):
        of_group = {
            name: _number(values[f"{name}_{i}"])
            for name in (ratio_names if metric.ratio else names)
        }
        found.append(of_group if of_group["n"] else None)
    return found


def _moment(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    return str(value)


def run(warehouse: Warehouse, plan: PipelinePlan, progress: Progress) -> dict[str, Any]:
    """Run the pipeline in ``warehouse`` (connected); answer, for the load's last day,
    ``units`` per group, ``crossoverUnits`` and, per metric of the plan in order, its ``sums``
    per group as Pulse stores them (groups where the metric has no unit left out) and its
    ``winsorization``; ``days``: the same ``units`` and ``sums`` of every earlier day's
    cumulative view (not winsorized); ``daily``: per day its own ``sums`` per metric and
    group, and the same split by exposure day (``cohorts``); ``newUnits`` per exposure day and
    group; ``rolling``: per window of ``ROLLING_WINDOWS``, per day, the sums of each unit's
    values over the window's days; ``freshness``: the earliest and latest exposure and
    metric source row."""
    sql = _Sql(warehouse.dialect, warehouse.staging_schema, plan)
    warehouse.ensure_staging()
    steps = _tables(sql)
    for n, (table, select) in enumerate(steps):
        progress(5 + 50 * n // len(steps), f"staging table {table}")
        warehouse.replace_table_as(table, select)
    progress(60, "group statistics")
    found = warehouse.fetch(sql.statistics())
    crossovers = warehouse.fetch(sql.crossovers()).rows[0][0]
    units: dict[str, int] = {}
    sums: list[dict[str, dict[str, float]]] = [{} for _ in plan.metrics]
    for row in found.rows:
        values = dict(zip(found.columns, row, strict=True))
        group = str(values["lg_grp"])
        units[group] = int(values["lg_units"])
        for i, of_group in enumerate(_group_sums(plan, values, RATIO_SUMS, MEAN_SUMS)):
            if of_group is not None:
                sums[i][group] = of_group
    progress(70, "daily views")
    new_units: dict[str, dict[str, int]] = {}
    for day, group, count in warehouse.fetch(sql.new_units()).rows:
        new_units.setdefault(day_of(day).isoformat(), {})[str(group)] = int(count)
    return {
        "units": units,
        "crossoverUnits": int(crossovers or 0),
        "sums": sums,
        "newUnits": new_units,
        "daily": _daily(warehouse, sql),
        "rolling": _rolling(warehouse, sql, new_units),
        "days": _earlier_days(warehouse, sql, new_units),
        "winsorization": _winsorization(warehouse, sql, progress),
        "freshness": _freshness(warehouse, sql),
    }


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
        for i, of_group in enumerate(_group_sums(sql.plan, values, RATIO_DAY_SUMS, DAY_SUMS)):
            if of_group is None and sql.plan.metrics[i].ratio:
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
        of_day = rolling[int(values["lg_window"])].setdefault(
            day_of(values["lg_day"]).isoformat(), [{} for _ in sql.plan.metrics]
        )
        for i, metric in enumerate(sql.plan.metrics):
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
    found = warehouse.fetch(sql.statistics(sql.units_as_of(days), by=["lg_day"]))
    earlier: dict[str, Any] = {}
    for row in found.rows:
        values = dict(zip(found.columns, row, strict=True))
        of_day = earlier.setdefault(
            day_of(values["lg_day"]).isoformat(),
            {"units": {}, "sums": [{} for _ in sql.plan.metrics]},
        )
        group = str(values["lg_grp"])
        of_day["units"][group] = int(values["lg_units"])
        for i, of_group in enumerate(_group_sums(sql.plan, values, RATIO_SUMS, MEAN_SUMS)):
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
            name: span(sql.freshness(source)) for name, source in _sources(sql.plan).items()
        },
    }


TAIL_SUMS = ("n", "sx", "sxx", "sxp", "sxxp")


def _winsorization(warehouse: Warehouse, sql: _Sql, progress: Progress) -> list[Any]:
    """Per metric of the plan, None or its winsorization: ``percentile`` (in percent),
    ``nonzeroUnits``, ``cap`` (None without a non-zero value) and, per group, the ``tails``
    above the cap."""
    found: list[Any] = [None] * len(sql.plan.metrics)
    winsorized = sql.winsorized()
    if not winsorized:
        return found
    progress(90, f"winsorization caps of {len(winsorized)} metrics")
    result = warehouse.fetch(sql.caps())
    row = dict(zip(result.columns, result.rows[0], strict=True))
    caps: dict[int, float] = {}
    for i, metric in winsorized:
        assert metric.winsorize_high is not None
        cap = None if row[f"lg_cap{i}"] is None else float(row[f"lg_cap{i}"])
        found[i] = {
            "percentile": metric.winsorize_high * 100,
            "nonzeroUnits": int(row[f"lg_nonzero{i}"] or 0),
            "cap": cap,
        }
        if cap is not None:
            caps[i] = cap
    if not caps:
        return found
    tails = warehouse.fetch(sql.tails(caps))
    for i in caps:
        found[i]["tails"] = {}
    for values in (dict(zip(tails.columns, r, strict=True)) for r in tails.rows):
        for i in caps:
            of_group = {name: _number(values[f"t{name}_{i}"]) for name in TAIL_SUMS}
            found[i]["tails"][str(values["lg_grp"])] = of_group
    return found
