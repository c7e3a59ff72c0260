"""A warehouse-native metric's daily values, the series ``POST /metrics/{id}/reload`` loads
(docs/warehouse.md §Metric values): per UTC day and unit type, the day's topline over its
metric source's rows that pass its criteria and have an id of that unit type, computed in the
warehouse by one grouped query per unit type."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from lockgate.domains.warehouse.adapters import Warehouse
from lockgate.domains.warehouse.dialects import SqlDialect
from lockgate.domains.warehouse.pipeline import EPOCH, column_sql, criterion_sql, day_of
from lockgate.domains.warehouse.sources import source_query
from lockgate.domains.warehouse.usage import StoredSource

# The aggregations whose day value is computed here, and what they take of the day's rows.
AGGREGATIONS = ("count", "sum", "mean", "max", "min", "count_distinct", "daily_participation")
# Criteria that compare with an exposure: a metric's own series has none.
EXPOSURE_CONDITIONS = frozenset({"after_exposure", "before_exposure"})
# The days a full reload covers, ending with the day before the reload (``loadingWindow``).
LOADING_WINDOW_DAYS = 90


@dataclass(frozen=True)
class DayValue:
    """One day's value for one unit type: ``numerator`` and ``denominator`` for a mean (the
    values' sum and count), ``rows`` the source rows it read."""

    value: float
    numerator: float | None
    denominator: float | None
    rows: int


def unsupported(definition: dict[str, Any]) -> str | None:
    """Why a ``warehouseNative`` definition has no series here, or None."""
    aggregation = definition.get("aggregation")
    if aggregation not in AGGREGATIONS:
        return (
            f"the daily values of a {aggregation!r} warehouse-native metric are not computed "
            f"(only {', '.join(AGGREGATIONS)})"
        )
    for criterion in definition.get("criteria") or []:
        if criterion.get("condition") in EXPOSURE_CONDITIONS:
            return (
                f"criterion {criterion['condition']!r} compares with an exposure, which a "
                "metric's own daily values have none of"
            )
    return None


def _moment(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def daily_select(
    dialect: SqlDialect,
    source: StoredSource,
    definition: dict[str, Any],
    unit_type: str,
    first: dt.date,
    last: dt.date,
) -> str:
    """Per day number (``lg_day``, days since ``EPOCH``) from ``first`` to ``last``, the day's
    value (``lg_v``), its denominator (``lg_n``: a mean's count of values) and its rows
    (``lg_rows``) for ``unit_type``."""
    d = dialect
    unit_column = source.unit_column(unit_type)
    if unit_column is None:
        raise ValueError(f"source {source.name!r} does not map unit type {unit_type!r}")
    unit = column_sql(d, source, "m", unit_column, "unit id")
    ts = column_sql(d, source, "m", source.document["timestampColumn"], "timestamp")
    kind = definition["aggregation"]
    value = "1"
    if definition.get("valueColumn"):
        value = column_sql(d, source, "m", definition["valueColumn"], "value")
    number = d.cast_float(value)
    numbers = {
        "count": "COUNT(*)",
        "sum": f"SUM({number})",
        "mean": f"SUM({number})",
        "max": f"MAX({number})",
        "min": f"MIN({number})",
        "count_distinct": f"COUNT(DISTINCT {d.cast_nullable_string(value)})",
        "daily_participation": f"COUNT(DISTINCT {d.cast_string(unit)})",
    }
    conditions = [
        f"{unit} IS NOT NULL",
        f"{ts} >= {d.timestamp_literal(_moment(first))}",
        f"{ts} < {d.timestamp_literal(_moment(last + dt.timedelta(days=1)))}",
        *(f"({criterion_sql(d, source, c)})" for c in definition.get("criteria") or []),
    ]
    # a mean's denominator; only a mean's value column is read as a number besides its value
    counted = d.cast_float(f"COUNT({number})" if kind == "mean" else "0")
    day = d.days_between(d.date_literal(EPOCH), ts)
    rows = source_query(source.document, d, last + dt.timedelta(days=1), first)
    return (
        f"SELECT {day} AS lg_day, {d.cast_float(numbers[kind])} AS lg_v, "
        f"{counted} AS lg_n, COUNT(*) AS lg_rows "
        f"FROM ({rows}) m WHERE {' AND '.join(conditions)} GROUP BY {day}"
    )


def load(
    warehouse: Warehouse,
    source: StoredSource,
    definition: dict[str, Any],
    unit_types: list[str],
    first: dt.date,
    last: dt.date,
) -> dict[str, dict[str, DayValue]]:
    """Per day (``YYYY-MM-DD``) from ``first`` to ``last`` and unit type, the metric's value
    (0 on a day without rows; a mean without values is 0 over 0)."""
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    found: dict[str, dict[str, DayValue]] = {
        day.isoformat(): {u: DayValue(0.0, *_empty(definition), 0) for u in unit_types}
        for day in days
    }
    mean = definition["aggregation"] == "mean"
    for unit_type in unit_types:
        result = warehouse.fetch(
            daily_select(warehouse.dialect, source, definition, unit_type, first, last)
        )
        for number, value, count, rows in result.rows:
            total, values = float(value or 0), float(count or 0)
            found[day_of(number).isoformat()][unit_type] = DayValue(
                (total / values if values else 0.0) if mean else total,
                total if mean else None,
                values if mean else None,
                int(rows),
            )
    return found


def _empty(definition: dict[str, Any]) -> tuple[float | None, float | None]:
    return (0.0, 0.0) if definition["aggregation"] == "mean" else (None, None)
