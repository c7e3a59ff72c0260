"""The warehouse-native analysis of one experiment (docs/warehouse.md §Pipeline), run in the
team's warehouse through the adapter: SQL generated per dialect, three steps.

1. **First exposures** (staging table ``lg_fe_<key>``): the assignment source's rows of the
   experiment, in one of its groups, before the analysis end; per unit its group, first
   exposure and the number of distinct groups it was seen in.
2. **Unit values** (staging table ``lg_uv_<key>``): for every unit seen in exactly one group,
   each metric's value from its metric source's rows of that unit at or after its first
   exposure and before the analysis end, passing the metric's criteria; 0 for units without
   rows.
3. **Group statistics**: one query answering, per group, the units and every metric's
   sufficient statistics (N, Σx, Σx², and Σy, Σy², Σxy for ratios), the shape Lockgate's own
   Pulse stores, so results are computed by the same code.

Only these group-level figures leave the warehouse. The staging tables stay there until the
next load of the experiment replaces them.
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

# Aggregations whose unit value is a ratio Σx / Σy over the units with y != 0.
RATIO_AGGREGATIONS = frozenset({"mean"})
# The CUPED covariate: a unit's value over the days before its first exposure, as in Pulse.
CUPED_WINDOW_DAYS = 7
# The sums the statistics query answers per metric, named as Pulse stores them.
MEAN_SUMS = ("n", "sx", "sxx", "sxp", "sxpxp", "sxxp", "with_pre")
RATIO_SUMS = (*MEAN_SUMS, "sy", "syy", "sxy", "syp", "sypyp", "sxpyp", "sxyp", "syxp", "syyp")


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
        column = self.column(source, "m", criterion["column"], "criterion")
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
        """Per unit of the first exposures, one scan of a metric's rows: (lg_u, lg_x, lg_y)
        from its first exposure on, and (lg_xp, lg_yp) over the CUPED window before it."""
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
        # ts >= first exposure - CUPED window, with the days added on the row's side: some
        # warehouses have no negative interval literal.
        window = d.add_days(ts, CUPED_WINDOW_DAYS)
        conditions = [f"{window} >= fe.lg_first_ts", f"{ts} < {self.end()}", "fe.lg_groups = 1"]
        conditions += [f"({self.criterion(source, c)})" for c in metric.criteria]
        columns = ", ".join(f"{expr} AS {name}" for name, expr in pieces.items())
        return (
            f"SELECT fe.lg_unit AS lg_u, {columns} "
            f"FROM {self.staging(self.first_exposures)} fe "
            f"JOIN ({self.rows(source)}) m ON {d.cast_string(self.unit(source, 'm'))} = fe.lg_unit "
            f"WHERE {' AND '.join(conditions)} GROUP BY fe.lg_unit"
        )

    def unit_values_select(self) -> str:
        d = self.dialect
        columns = ["fe.lg_unit AS lg_unit", "fe.lg_group AS lg_grp"]
        joins = []
        for i, metric in enumerate(self.plan.metrics):
            columns += [
                f"COALESCE({d.cast_float(f'm{i}.{piece}')}, 0) AS {piece}{i}"
                for piece in ("lg_x", "lg_y", "lg_xp", "lg_yp")
            ]
            joins.append(f"LEFT JOIN ({self.metric_values(metric)}) m{i} ON m{i}.lg_u = fe.lg_unit")
        return (
            f"SELECT {', '.join(columns)} FROM {self.staging(self.first_exposures)} fe "
            f"{' '.join(joins)} WHERE fe.lg_groups = 1"
        )

    def statistics(self) -> str:
        """Per group: units, and every metric's sums as Pulse stores them (its SUM_FIELDS)."""
        columns = ["lg_grp", "COUNT(*) AS lg_units"]
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
        return f"SELECT {', '.join(columns)} FROM {self.staging(self.unit_values)} GROUP BY lg_grp"

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


def statements(dialect: SqlDialect, staging_schema: str, plan: PipelinePlan) -> list[str]:
    """Every statement ``run`` sends for ``plan``, in order, in one warehouse's dialect (what
    the compile-only warehouses are checked with); with placeholder caps for the tails."""
    sql = _Sql(dialect, staging_schema, plan)
    return [
        dialect.create_schema(staging_schema),
        *dialect.replace_table_as(sql.staging(sql.first_exposures), sql.first_exposures_select()),
        *dialect.replace_table_as(sql.staging(sql.unit_values), sql.unit_values_select()),
        sql.statistics(),
        sql.crossovers(),
        *(
            [sql.caps(), sql.tails({i: 100.0 for i, _ in sql.winsorized()})]
            if sql.winsorized()
            else []
        ),
    ]


def _number(value: Any) -> float:
    return float(value or 0)


def run(warehouse: Warehouse, plan: PipelinePlan, progress: Progress) -> dict[str, Any]:
    """Run the pipeline in ``warehouse`` (connected); answer ``units`` per group,
    ``crossoverUnits`` and, per metric of the plan in order, its ``sums`` per group as Pulse
    stores them (groups where the metric has no unit left out)."""
    sql = _Sql(warehouse.dialect, warehouse.staging_schema, plan)
    warehouse.ensure_staging()
    progress(10, f"first exposures from assignment source {plan.source.name}")
    warehouse.replace_table_as(sql.first_exposures, sql.first_exposures_select())
    progress(40, f"values of {len(plan.metrics)} metrics per unit")
    warehouse.replace_table_as(sql.unit_values, sql.unit_values_select())
    progress(80, "group statistics")
    found = warehouse.fetch(sql.statistics())
    crossovers = warehouse.fetch(sql.crossovers()).rows[0][0]
    units: dict[str, int] = {}
    sums: list[dict[str, dict[str, float]]] = [{} for _ in plan.metrics]
    for row in found.rows:
        values = dict(zip(found.columns, row, strict=True))
        group = str(values["lg_grp"])
        units[group] = int(values["lg_units"])
        for i, metric in enumerate(plan.metrics):
            names = RATIO_SUMS if metric.ratio else MEAN_SUMS
            of_group = {name: _number(values[f"{name}_{i}"]) for name in names}
            if of_group["n"]:
                sums[i][group] = of_group
    return {
        "units": units,
        "crossoverUnits": int(crossovers or 0),
        "sums": sums,
        "winsorization": _winsorization(warehouse, sql, progress),
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
