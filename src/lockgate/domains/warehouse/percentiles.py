"""Percentile metrics of the warehouse-native pipeline (docs/warehouse.md §Pipeline): each
group's exact percentile of its rows' values and the variance read from its rank interval."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from lockgate.cores.stats.sufficient import RatioStats
from lockgate.domains.warehouse.adapters import Warehouse
from lockgate.domains.warehouse.dialects import SqlDialect
from lockgate.domains.warehouse.usage import StoredSource


class PipelineMetric(Protocol):
    """What is read of a percentile metric (``pipeline.PipelineMetric``)."""

    @property
    def source(self) -> StoredSource: ...
    @property
    def value_column(self) -> str | None: ...
    @property
    def criteria(self) -> Sequence[dict[str, Any]]: ...
    @property
    def percentile(self) -> float | None: ...


class PlanSql(Protocol):
    """The pipeline's statements of one plan (``pipeline.PlanSql``), as used here."""

    dialect: SqlDialect
    first_exposures: str

    def staging(self, table: str) -> str: ...
    def column(self, source: StoredSource, alias: str, name: str, field: str) -> str: ...
    def unit(self, source: StoredSource, alias: str) -> str: ...
    def rows(self, source: StoredSource) -> str: ...
    def end(self) -> str: ...
    def criterion(self, source: StoredSource, criterion: dict[str, Any]) -> str: ...


# The rank interval of a percentile metric's estimate: a 95% interval (Deng, Knoblich & Lu,
# 2018, section 4), from which its standard error is read.
Z = 1.959963984540054


def _number(value: Any) -> float:
    return float(value or 0)


def statements(sql: PlanSql, metric: PipelineMetric, groups: list[str]) -> list[str]:
    """The statements ``estimate`` sends, with placeholder estimates and fractions."""
    return [
        estimates(sql, metric),
        ranks(sql, metric, {g: 10.0 for g in groups}),
        bounds(sql, metric, {g: (0.4, 0.6) for g in groups}),
    ]


def rows(sql: PlanSql, metric: PipelineMetric) -> str:
    """A percentile metric's rows: (lg_u, lg_g, lg_v) for each non-null value of the
    analysed units' rows after their first exposure, passing the criteria."""
    d, source = sql.dialect, metric.source
    assert metric.value_column is not None
    ts = sql.column(source, "m", source.document["timestampColumn"], "timestamp")
    value = d.cast_float(sql.column(source, "m", metric.value_column, "value"))
    conditions = [f"{ts} >= fe.lg_first_ts", f"{ts} < {sql.end()}", "fe.lg_groups = 1"]
    conditions += [f"({sql.criterion(source, c)})" for c in metric.criteria]
    conditions.append(f"{value} IS NOT NULL")
    return (
        f"SELECT fe.lg_unit AS lg_u, fe.lg_group AS lg_g, {value} AS lg_v "
        f"FROM {sql.staging(sql.first_exposures)} fe "
        f"JOIN ({sql.rows(source)}) m ON {d.cast_string(sql.unit(source, 'm'))} = fe.lg_unit "
        f"WHERE {' AND '.join(conditions)}"
    )


def estimates(sql: PlanSql, metric: PipelineMetric) -> str:
    """Per group: the units and rows with a value, and the percentile of the values."""
    assert metric.percentile is not None
    p = sql.dialect.exact_percentile("lg_v", metric.percentile)
    return (
        "SELECT lg_g, COUNT(DISTINCT lg_u) AS lg_units, COUNT(*) AS lg_rows, "
        f"{p} AS lg_p FROM ({rows(sql, metric)}) r GROUP BY lg_g"
    )


def ranks(sql: PlanSql, metric: PipelineMetric, estimates: Mapping[str, float]) -> str:
    """Per group, the ratio statistics of the share of its values at or below its
    percentile, over units (S = the unit's values at or below, M = its values): what the
    rank interval's variance is computed from."""
    d = sql.dialect
    cases = " ".join(
        f"WHEN {d.string_literal(group)} THEN {float(p)!r}" for group, p in estimates.items()
    )
    below = f"CASE WHEN lg_v <= (CASE lg_g {cases} END) THEN 1 ELSE 0 END"
    units = (
        f"SELECT lg_u, lg_g, {d.cast_float(f'SUM({below})')} AS lg_s, "
        f"{d.cast_float('COUNT(*)')} AS lg_m "
        f"FROM ({rows(sql, metric)}) r GROUP BY lg_u, lg_g"
    )
    return (
        "SELECT lg_g, COUNT(*) AS n, SUM(lg_s) AS sx, SUM(lg_s * lg_s) AS sxx, "
        "SUM(lg_m) AS sy, SUM(lg_m * lg_m) AS syy, SUM(lg_s * lg_m) AS sxy "
        f"FROM ({units}) u GROUP BY lg_g"
    )


def bounds(
    sql: PlanSql, metric: PipelineMetric, fractions: Mapping[str, tuple[float, float]]
) -> str:
    """The values at each group's rank interval: its percentiles at q ± z·s."""
    d = sql.dialect
    columns = []
    for k, (group, (low, high)) in enumerate(fractions.items()):
        mine = f"CASE WHEN lg_g = {d.string_literal(group)} THEN lg_v END"
        columns += [
            f"{d.exact_percentile(mine, low)} AS lg_lo{k}",
            f"{d.exact_percentile(mine, high)} AS lg_hi{k}",
        ]
    return f"SELECT {', '.join(columns)} FROM ({rows(sql, metric)}) r"


def estimate(warehouse: Warehouse, sql: PlanSql, metric: PipelineMetric) -> dict[str, Any]:
    """Per group with values, a percentile metric's estimate: ``units`` and ``rows`` with a
    value, the percentile ``value``, and ``variance``, the unit-level variance whose
    var/units is the estimate's squared standard error, read from the width of its rank
    interval (the outer interval of Deng, Knoblich & Lu, 2018, section 4): the percentiles at
    q ± z·s, s² the delta-method variance of the share of values at or below the estimate,
    the units being the clusters of rows."""
    assert metric.percentile is not None
    q = metric.percentile
    found = warehouse.fetch(estimates(sql, metric))
    groups: dict[str, dict[str, Any]] = {}
    for row in found.rows:
        values = dict(zip(found.columns, row, strict=True))
        if values["lg_p"] is None:
            continue
        groups[str(values["lg_g"])] = {
            "units": int(values["lg_units"]),
            "rows": int(values["lg_rows"]),
            "value": float(values["lg_p"]),
        }
    if not groups:
        return {}
    shares = warehouse.fetch(ranks(sql, metric, {g: e["value"] for g, e in groups.items()}))
    fractions: dict[str, tuple[float, float]] = {}
    for row in shares.rows:
        values = dict(zip(shares.columns, row, strict=True))
        group = str(values["lg_g"])
        share = RatioStats(
            int(values["n"]), *(_number(values[k]) for k in ("sx", "sxx", "sy", "syy", "sxy"))
        )
        variance = share.linearized_variance
        sigma = math.sqrt(variance / share.n) if variance is not None and share.n > 1 else 0.0
        fractions[group] = (
            max(0.0, q - Z * sigma),
            min(1.0, q + Z * sigma),
        )
    ends = warehouse.fetch(bounds(sql, metric, fractions))
    at = dict(zip(ends.columns, ends.rows[0], strict=True))
    for k, group in enumerate(fractions):
        low, high = _number(at[f"lg_lo{k}"]), _number(at[f"lg_hi{k}"])
        se = (high - low) / (2 * Z)
        estimate = groups[group]
        estimate["variance"] = se * se * estimate["units"]
    return groups
