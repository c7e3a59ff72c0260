"""A warehouse-native metric's daily values, the series ``POST /metrics/{id}/reload`` loads
(docs/warehouse.md §Metric values): per UTC day and unit type, the day's topline over its
metric source's rows that pass its criteria and have an id of that unit type (a retention's
and a funnel's per start day), computed in the warehouse by one query per unit type."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from lockgate.domains.warehouse.adapters import Warehouse
from lockgate.domains.warehouse.dialects import SqlDialect
from lockgate.domains.warehouse.pipeline import EPOCH, column_sql, criterion_sql, day_of
from lockgate.domains.warehouse.sources import source_query
from lockgate.domains.warehouse.usage import StoredSource

# The aggregations whose day value is computed here, and what they take of the day's rows.
AGGREGATIONS = (
    "count",
    "sum",
    "mean",
    "max",
    "min",
    "count_distinct",
    "daily_participation",
    "ratio",
    "first_value",
    "latest_value",
    "percentile",
    "retention",
    "funnel",
)
# Aggregations whose day value is a quotient, stored with its numerator and denominator.
QUOTIENTS = frozenset({"mean", "ratio", "first_value", "latest_value", "retention", "funnel"})
# Funnel options that start from an exposure: a metric's own series has none.
EXPOSURE_FUNNEL_OPTIONS = {
    "funnelUseExposureAsFirstEvent": True,
    "funnelStartCriteria": "exposure",
}
# Criteria that compare with an exposure: a metric's own series has none.
EXPOSURE_CONDITIONS = frozenset({"after_exposure", "before_exposure"})
# The days a full reload covers, ending with the day before the reload (``loadingWindow``).
LOADING_WINDOW_DAYS = 90


@dataclass(frozen=True)
class DayValue:
    """One day's value for one unit type: ``numerator`` and ``denominator`` for a quotient
    (``QUOTIENTS``: a mean's sum and count of values, a ratio's sides, first and latest
    values' sum and units), ``rows`` the source rows it read."""

    value: float
    numerator: float | None
    denominator: float | None
    rows: int


@dataclass(frozen=True)
class Series:
    """What one metric's daily values read: its definition (``warehouseNative``), its metric
    source and, for a ratio, its denominator's source (a retention's start event's with
    ``useSecondaryRetentionEvent``); a funnel's steps' sources, in step order."""

    definition: dict[str, Any]
    source: StoredSource
    denominator_source: StoredSource | None = None
    step_sources: tuple[StoredSource, ...] = ()

    def last_complete(self, last: dt.date) -> dt.date:
        """The last day with a value when rows up to ``last`` are read: for a retention or a
        funnel with a calculation window, the last start day whose window has ended by then."""
        kind = self.definition["aggregation"]
        if kind == "retention":
            return last - dt.timedelta(days=int(self.definition["retentionEnd"]))
        if kind == "funnel" and self.definition.get("funnelCalculationWindow") is not None:
            return last - dt.timedelta(days=int(self.definition["funnelCalculationWindow"]))
        return last


def unsupported(definition: dict[str, Any]) -> str | None:
    """Why a ``warehouseNative`` definition has no series here, or None."""
    aggregation = definition.get("aggregation")
    if aggregation not in AGGREGATIONS:
        return (
            f"the daily values of a {aggregation!r} warehouse-native metric are not computed "
            f"(only {', '.join(AGGREGATIONS)})"
        )
    for field, value in EXPOSURE_FUNNEL_OPTIONS.items():
        if definition.get(field) == value:
            return (
                f"{field} {value!r} starts the funnel at an exposure, which a metric's own "
                "daily values have none of"
            )
    criteria = [
        *(definition.get("criteria") or []),
        *(definition.get("denominatorCriteria") or []),
        *(c for step in definition.get("funnelEvents") or [] for c in step.get("criteria") or []),
    ]
    for criterion in criteria:
        if criterion.get("condition") in EXPOSURE_CONDITIONS:
            return (
                f"criterion {criterion['condition']!r} compares with an exposure, which a "
                "metric's own daily values have none of"
            )
    return None


def _moment(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


@dataclass(frozen=True)
class _Rows:
    """One source's rows of a series in SQL: ``m``'s unit id, timestamp, day number and a
    value column read as a number, the conditions that keep a row and the rows' query."""

    d: SqlDialect
    unit: str
    ts: str
    day: str
    conditions: str
    rows: str

    def column(self, source: StoredSource, name: str | None) -> str:
        return "1" if not name else column_sql(self.d, source, "m", name, "value")


def _rows(
    d: SqlDialect,
    source: StoredSource,
    criteria: list[dict[str, Any]],
    unit_type: str,
    first: dt.date,
    last: dt.date,
) -> _Rows:
    unit_column = source.unit_column(unit_type)
    if unit_column is None:
        raise ValueError(f"source {source.name!r} does not map unit type {unit_type!r}")
    unit = column_sql(d, source, "m", unit_column, "unit id")
    ts = column_sql(d, source, "m", source.document["timestampColumn"], "timestamp")
    conditions = [
        f"{unit} IS NOT NULL",
        f"{ts} >= {d.timestamp_literal(_moment(first))}",
        f"{ts} < {d.timestamp_literal(_moment(last + dt.timedelta(days=1)))}",
        *(f"({criterion_sql(d, source, c)})" for c in criteria),
    ]
    return _Rows(
        d,
        unit,
        ts,
        d.days_between(d.date_literal(EPOCH), ts),
        " AND ".join(conditions),
        source_query(source.document, d, last + dt.timedelta(days=1), first),
    )


def _select(day: str, value: str, counted: str, rows: str, query: str, where: str = "") -> str:
    """The shape every series query answers: per day number ``lg_day``, ``lg_v``, ``lg_n`` (a
    quotient's denominator) and ``lg_rows``."""
    return (
        f"SELECT {day} AS lg_day, {value} AS lg_v, {counted} AS lg_n, {rows} AS lg_rows "
        f"FROM ({query}) {where}GROUP BY {day}"
    )


def _topline(series: Series, unit_type: str, first: dt.date, last: dt.date, d: SqlDialect) -> str:
    """The day's aggregate over the rows (count, sum, mean, max, min, count_distinct and
    daily_participation)."""
    definition, source = series.definition, series.source
    r = _rows(d, source, definition.get("criteria") or [], unit_type, first, last)
    value = r.column(source, definition.get("valueColumn"))
    number = d.cast_float(value)
    kind = definition["aggregation"]
    numbers = {
        "count": "COUNT(*)",
        "sum": f"SUM({number})",
        "mean": f"SUM({number})",
        "max": f"MAX({number})",
        "min": f"MIN({number})",
        "count_distinct": f"COUNT(DISTINCT {d.cast_nullable_string(value)})",
        "daily_participation": f"COUNT(DISTINCT {d.cast_string(r.unit)})",
    }
    # a mean's denominator; only a mean's value column is read as a number besides its value
    counted = d.cast_float(f"COUNT({number})" if kind == "mean" else "0")
    return _select(
        r.day, d.cast_float(numbers[kind]), counted, "COUNT(*)", r.rows, f"m WHERE {r.conditions} "
    )


def _unit_days(d: SqlDialect, r: _Rows, piece: str, *, numerator: bool) -> str:
    """A ratio side's value per unit and day (``lg_u``, ``lg_day``): ``lg_x`` the numerator's,
    ``lg_y`` the denominator's (0 on the other side, as the union takes columns by
    position), with the rows read (``lg_r``)."""
    unit, value, zero = d.cast_string(r.unit), d.cast_float(piece), d.cast_float("0")
    x, y = (value, zero) if numerator else (zero, value)
    return (
        f"SELECT {unit} AS lg_u, {r.day} AS lg_day, {x} AS lg_x, {y} AS lg_y, "
        f"COUNT(*) AS lg_r FROM ({r.rows}) m WHERE {r.conditions} GROUP BY {unit}, {r.day}"
    )


def _ratio(series: Series, unit_type: str, first: dt.date, last: dt.date, d: SqlDialect) -> str:
    """Σ numerator and Σ denominator of the day's unit values; a unit's numerator counts only
    on a day it has a non-zero denominator, unless ``allowNullRatioDenominator``."""
    definition = series.definition
    sides = (
        (series.source, "criteria", "valueColumn", "numeratorAggregation"),
        (
            series.denominator_source or series.source,
            "denominatorCriteria",
            "denominatorValueColumn",
            "denominatorAggregation",
        ),
    )
    selects: list[str] = []
    for source, criteria, column, kind in sides:
        r = _rows(d, source, definition.get(criteria) or [], unit_type, first, last)
        value = r.column(source, definition.get(column))
        pieces = {
            "count": "COUNT(*)",
            "sum": f"SUM({d.cast_float(value)})",
            "count_distinct": f"COUNT(DISTINCT {d.cast_nullable_string(value)})",
            "daily_participation": "1",
        }
        selects.append(_unit_days(d, r, pieces[definition[kind]], numerator=not selects))
    # each level names its columns anew: ClickHouse's aliases shadow the columns they sum
    units = (
        "SELECT lg_u, lg_day AS lg_d, SUM(lg_x) AS lg_ux, SUM(lg_y) AS lg_uy, "
        f"SUM(lg_r) AS lg_ur FROM ({' UNION ALL '.join(selects)}) s GROUP BY lg_u, lg_day"
    )
    numerator = "SUM(lg_ux)"
    if not definition.get("allowNullRatioDenominator"):
        numerator = "SUM(CASE WHEN lg_uy <> 0 THEN lg_ux ELSE 0 END)"
    return _select(
        "lg_d", d.cast_float(numerator), d.cast_float("SUM(lg_uy)"), "SUM(lg_ur)", units, "u "
    )


def _edge(series: Series, unit_type: str, first: dt.date, last: dt.date, d: SqlDialect) -> str:
    """Per unit the day's first (latest) non-null value, rows at the same moment by the
    smallest (largest) value; the day's sum of them and the units with one."""
    definition, source = series.definition, series.source
    r = _rows(d, source, definition.get("criteria") or [], unit_type, first, last)
    number = d.cast_float(r.column(source, definition.get("valueColumn")))
    order = "ASC" if definition["aggregation"] == "first_value" else "DESC"
    unit = d.cast_string(r.unit)
    ranked = (
        f"SELECT {unit} AS lg_u, {r.day} AS lg_day, {number} AS lg_val, ROW_NUMBER() OVER "
        f"(PARTITION BY {unit}, {r.day} ORDER BY CASE WHEN {number} IS NULL THEN 1 ELSE 0 END, "
        f"{r.ts} {order}, {number} {order}) AS lg_rank FROM ({r.rows}) m WHERE {r.conditions}"
    )
    units = (
        "SELECT lg_u, lg_day AS lg_d, MAX(CASE WHEN lg_rank = 1 THEN lg_val END) AS lg_first, "
        f"COUNT(*) AS lg_ur FROM ({ranked}) k GROUP BY lg_u, lg_day"
    )
    return _select(
        "lg_d",
        d.cast_float("SUM(lg_first)"),
        d.cast_float("COUNT(lg_first)"),
        "SUM(lg_ur)",
        units,
        "u ",
    )


def _percentile(
    series: Series, unit_type: str, first: dt.date, last: dt.date, d: SqlDialect
) -> str:
    """The day's exact percentile of the rows' non-null values (``exact_percentile``)."""
    definition, source = series.definition, series.source
    r = _rows(d, source, definition.get("criteria") or [], unit_type, first, last)
    number = d.cast_float(r.column(source, definition.get("valueColumn")))
    value = d.cast_float(d.exact_percentile(number, float(definition["percentile"])))
    return _select(r.day, value, d.cast_float("0"), "COUNT(*)", r.rows, f"m WHERE {r.conditions} ")


def _retention(series: Series, unit_type: str, first: dt.date, last: dt.date, d: SqlDialect) -> str:
    """Per start day ``s`` (up to ``last_complete``): the units whose start event fired that
    day, and of them those whose completion event fired on one of the days
    ``s + retentionEnd - retentionLength + 1`` to ``s + retentionEnd``."""
    definition = series.definition
    end = int(definition["retentionEnd"])
    since = end - int(definition["retentionLength"]) + 1
    start_criteria = definition.get("criteria") or []
    if definition.get("useSecondaryRetentionEvent"):
        start_criteria = definition.get("denominatorCriteria") or []
    began = _rows(
        d, series.denominator_source or series.source, start_criteria, unit_type, first, last
    )
    done = _rows(d, series.source, definition.get("criteria") or [], unit_type, first, last)
    # the units stay nullable: ClickHouse may cast them before the join filters NULLs out
    unit, did = d.cast_nullable_string(began.unit), d.cast_nullable_string(done.unit)
    starts = (
        f"SELECT {unit} AS lg_u, {began.day} AS lg_sd, COUNT(*) AS lg_r FROM ({began.rows}) m "
        f"WHERE {began.conditions} GROUP BY {unit}, {began.day}"
    )
    completions = (
        f"SELECT DISTINCT {did} AS lg_u, {done.day} AS lg_cd FROM ({done.rows}) m "
        f"WHERE {done.conditions}"
    )
    # an equality join, the window tested per pair (as the pipeline's retention)
    inside = f"c.lg_cd >= s.lg_sd + {since} AND c.lg_cd <= s.lg_sd + {end}"
    complete = (series.last_complete(last) - EPOCH).days
    pairs = (
        f"SELECT s.lg_u AS lg_u, s.lg_sd AS lg_d, MAX(CASE WHEN {inside} THEN 1 ELSE 0 END) "
        f"AS lg_hit, MAX(s.lg_r) AS lg_ur FROM ({starts}) s LEFT JOIN ({completions}) c "
        f"ON c.lg_u = s.lg_u WHERE s.lg_sd <= {complete} GROUP BY s.lg_u, s.lg_sd"
    )
    return _select(
        "lg_d", d.cast_float("SUM(lg_hit)"), d.cast_float("COUNT(*)"), "SUM(lg_ur)", pairs, "u "
    )


def _funnel(series: Series, unit_type: str, first: dt.date, last: dt.date, d: SqlDialect) -> str:
    """Per start day ``s`` (up to ``last_complete``): the funnels started that day (per unit,
    or per session of a session funnel: its first step's first row of the day) and those
    completed from that start, each step's canonical time its first row at or after
    (strictly after) the previous step's, less the allowance, every step within the
    calculation window of the start; with the time to convert, the completed funnels'
    seconds from start to last step over their number."""
    definition = series.definition
    steps = definition["funnelEvents"]
    sessions = definition.get("funnelCountDistinct") == "sessions"
    keys = ["lg_u", "lg_s"] if sessions else ["lg_u"]
    step_rows = []
    for step, source in zip(
        steps, series.step_sources or (series.source,) * len(steps), strict=True
    ):
        r = _rows(d, source, step.get("criteria") or [], unit_type, first, last)
        session = ""
        if sessions:
            column = column_sql(d, source, "m", step["sessionIdentifierField"], "session")
            session = f", {d.cast_nullable_string(column)} AS lg_s"
            r = replace(r, conditions=f"{r.conditions} AND {column} IS NOT NULL")
        # the unit stays nullable: ClickHouse may cast it before the join filters NULLs out
        unit = d.cast_nullable_string(r.unit)
        step_rows.append(
            f"SELECT {unit} AS lg_u{session}, {r.ts} AS lg_ts, {r.day} AS lg_d "
            f"FROM ({r.rows}) m WHERE {r.conditions}"
        )
    listed = ", ".join(keys)
    reached = (
        f"SELECT {listed}, lg_d AS lg_sd, MIN(lg_ts) AS lg_a, MIN(lg_ts) AS lg_t, "
        f"COUNT(*) AS lg_r FROM ({step_rows[0]}) r GROUP BY {listed}, lg_d"
    )
    started = reached
    order = ">" if definition.get("funnelStrictOrdering") else ">="
    previous = "p.lg_t"
    if definition.get("funnelTimestampAllowanceMs"):
        previous = d.minus_milliseconds(previous, int(definition["funnelTimestampAllowanceMs"]))
    window = definition.get("funnelCalculationWindow")
    carried = ["p.lg_sd", "p.lg_a"]
    for rows in step_rows[1:]:
        inside = [f"r.lg_ts {order} {previous}"]
        if window is not None:
            inside.append(f"r.lg_ts < {d.add_days('p.lg_a', int(window))}")
        joined = " AND ".join(f"r.{key} = p.{key}" for key in keys)
        reached = (
            f"SELECT {', '.join(f'p.{key} AS {key}' for key in keys)}, "
            f"{', '.join(f'{c} AS {c[2:]}' for c in carried)}, MIN(r.lg_ts) AS lg_t "
            f"FROM ({reached}) p JOIN ({rows}) r ON {joined} WHERE {' AND '.join(inside)} "
            f"GROUP BY {', '.join(f'p.{key}' for key in keys)}, {', '.join(carried)}"
        )
    zero, one = d.cast_float("0"), d.cast_float("1")
    if definition.get("funnelTimeToConvert"):
        done = f"{d.cast_float(d.seconds_between('lg_a', 'lg_t'))} AS lg_nv, {one} AS lg_nc"
        began = f"{zero} AS lg_nv, {zero} AS lg_nc"
    else:
        done = f"{one} AS lg_nv, {zero} AS lg_nc"
        began = f"{zero} AS lg_nv, {one} AS lg_nc"
    flags = (
        f"SELECT lg_sd, {began}, lg_r FROM ({started}) s "
        f"UNION ALL SELECT lg_sd, {done}, 0 AS lg_r FROM ({reached}) f"
    )
    complete = (series.last_complete(last) - EPOCH).days
    return _select(
        "lg_sd",
        d.cast_float("SUM(lg_nv)"),
        d.cast_float("SUM(lg_nc)"),
        "SUM(lg_r)",
        flags,
        f"v WHERE lg_sd <= {complete} ",
    )


_SELECTS: dict[str, Callable[[Series, str, dt.date, dt.date, SqlDialect], str]] = {
    "ratio": _ratio,
    "first_value": _edge,
    "latest_value": _edge,
    "percentile": _percentile,
    "retention": _retention,
    "funnel": _funnel,
}


def daily_select(
    dialect: SqlDialect, series: Series, unit_type: str, first: dt.date, last: dt.date
) -> str:
    """Per day number (``lg_day``, days since ``EPOCH``) from ``first`` to ``last``, the day's
    value (``lg_v``: a quotient's numerator), its denominator (``lg_n``) and its rows
    (``lg_rows``) for ``unit_type``."""
    select = _SELECTS.get(series.definition["aggregation"], _topline)
    return select(series, unit_type, first, last, dialect)


def load(
    warehouse: Warehouse, series: Series, unit_types: list[str], first: dt.date, last: dt.date
) -> dict[str, dict[str, DayValue]]:
    """Per day (``YYYY-MM-DD``) from ``first`` to ``last_complete`` and unit type, the
    metric's value (0 on a day without rows; a quotient without a denominator is 0, its sides
    as found), from the rows of ``first`` to ``last``."""
    quotient = series.definition["aggregation"] in QUOTIENTS
    empty = DayValue(0.0, 0.0, 0.0, 0) if quotient else DayValue(0.0, None, None, 0)
    complete = series.last_complete(last)
    days = [first + dt.timedelta(days=n) for n in range((complete - first).days + 1)]
    found = {day.isoformat(): dict.fromkeys(unit_types, empty) for day in days}
    for unit_type in unit_types:
        result = warehouse.fetch(daily_select(warehouse.dialect, series, unit_type, first, last))
        for number, value, count, rows in result.rows:
            total, values = float(value or 0), float(count or 0)
            found[day_of(number).isoformat()][unit_type] = DayValue(
                (total / values if values else 0.0) if quotient else total,
                total if quotient else None,
                values if quotient else None,
                int(rows),
            )
    return found
