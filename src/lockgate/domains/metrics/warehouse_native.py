"""Warehouse-native metrics (docs/warehouse.md §Warehouse-native metrics): a metric of type
``user_warehouse`` whose ``warehouseNative`` object names a metric source of the project's
warehouse, an aggregation and the column and row criteria it reads there.

``check_warehouse_native`` turns the request's object into the stored one, or raises
``InvalidInput`` naming the field. The source and its columns are checked against what the
source answered when it was last validated in the warehouse; the warehouse is not called.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.metrics import warehouse_funnels
from lockgate.domains.warehouse import service as warehouse_service
from lockgate.domains.warehouse import sources
from lockgate.domains.warehouse.filters import check_column, check_values, value_texts
from lockgate.domains.warehouse.usage import StoredSource
from lockgate.errors import InvalidInput

WAREHOUSE_TYPE = "user_warehouse"
# The aggregations the pipeline computes; the others of the official enum are refused by name
# (``AGGREGATIONS_LATER``). Funnels and retention are checked in ``warehouse_funnels``.
AGGREGATIONS = (
    "count", "sum", "mean", "ratio", "count_distinct", "daily_participation", "first_value",
    "latest_value", "max", "min", "percentile", "funnel", "retention",
)  # fmt: skip
AGGREGATIONS_LATER = ("composite",)
# Their own fields: refused on any other aggregation.
FUNNEL_FIELDS = warehouse_funnels.FUNNEL_FIELDS
RETENTION_FIELDS = warehouse_funnels.RETENTION_FIELDS
# What a ratio's numerator and denominator may each be.
COMPONENT_AGGREGATIONS = ("count", "sum", "count_distinct", "daily_participation")
# Aggregations that read no column: they count rows or units.
NO_VALUE_COLUMN = frozenset({"count", "daily_participation"})
# The unit count modes (``rollupTimeWindow``): one-time event, daily participation rate.
ROLLUPS = ("max", "daily")
ROLLUPS_LATER = ("custom",)
# Criterion conditions the pipeline turns into SQL (``warehouse.pipeline``).
CONDITIONS = (
    "in", "not_in", "=", ">", "<", ">=", "<=", "is_null", "non_null", "is_true", "is_false",
    "contains", "not_contains", "starts_with", "ends_with", "sql_filter", "after_exposure",
    "before_exposure",
)  # fmt: skip
NO_VALUE = frozenset({"is_null", "non_null", "is_true", "is_false"}) | {
    "after_exposure",
    "before_exposure",
}
ONE_VALUE = frozenset({"=", ">", "<", ">=", "<=", "sql_filter"})
NUMERIC = frozenset({">", "<", ">=", "<="})
NON_EMPTY = frozenset({"contains", "not_contains", "starts_with", "ends_with", "sql_filter"})
# Fields of the official object this server reads; any other field sent with a value is refused.
KNOWN_FIELDS = (
    "aggregation", "metricSourceName", "valueColumn", "criteria", "winsorizationHigh",
    "winsorizationLow", "cap", "rollupTimeWindow", "numeratorAggregation",
    "denominatorAggregation", "denominatorMetricSourceName", "denominatorValueColumn",
    "denominatorCriteria", "denominatorRollupTimeWindow", "winsorizationHighDenominator",
    "winsorizationLowDenominator", "allowNullRatioDenominator", "percentile", *FUNNEL_FIELDS,
    *RETENTION_FIELDS,
)  # fmt: skip
# Fields of a ratio's denominator (and its options): refused on any other aggregation.
RATIO_FIELDS = tuple(k for k in KNOWN_FIELDS if "enominator" in k)
# Aggregations checked by ``warehouse_funnels``, each with its own fields.
OWN_FIELDS = {"funnel": FUNNEL_FIELDS, "retention": RETENTION_FIELDS}
# Aggregations whose unit values may be winsorized (held between percentiles of the non-zero
# unit values, docs/statistics.md §Winsorization); a mean's and a ratio's numerator unit
# values, a ratio's denominator with the ``...Denominator`` bounds.
WINSORIZED = ("count", "sum", "mean", "ratio", "count_distinct", "max", "min")
# Aggregations with a per unit-day ``cap``.
CAPPED = ("count", "sum")
NOT_A_WAREHOUSE = (
    "applies only in a warehouse native project; set the project's warehouse connection with "
    "PATCH /console/v1/wh_connections first"
)


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(repr(v) for v in values)


def _criterion(raw: Any, where: str, source: StoredSource) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise InvalidInput.field(where, "must be an object {type, column, condition, values}")
    kind = raw.get("type") or "metadata"
    if kind != "metadata":
        raise InvalidInput.field(
            f"{where}.type", f"must be 'metadata' in a warehouse native metric, got {kind!r}"
        )
    condition = raw.get("condition")
    if condition not in CONDITIONS:
        raise InvalidInput.field(
            f"{where}.condition", f"must be one of {_quoted(CONDITIONS)}, got {condition!r}"
        )
    column = raw.get("column")
    found = None
    if condition != "sql_filter" or column:  # a SQL filter names its columns itself
        found = check_column(column, where, source, "metric source")
    texts = value_texts(raw.get("values"), where)
    check_values(
        texts,
        condition,
        where,
        no_value=NO_VALUE,
        one_value=ONE_VALUE,
        numeric=NUMERIC,
        non_empty=NON_EMPTY,
        sql=frozenset({"sql_filter"}),
    )
    criterion: dict[str, Any] = {"type": "metadata", "condition": condition}
    if found is not None:
        criterion["column"] = found
    if texts:
        criterion["values"] = texts
    return criterion


def _source(session: Session, project_id: str, name: Any, field: str) -> StoredSource:
    if not isinstance(name, str) or not name:
        raise InvalidInput.field(field, "is required")
    source = sources.stored(session, project_id, sources.METRIC, name)
    if source is None:
        raise InvalidInput.field(field, f"metric source {name!r} does not exist")
    return source


def _value_column(value: Any, aggregation: str, source: StoredSource, field: str) -> str | None:
    """The column an aggregation reads, as the source answers it; None for those that count."""
    if aggregation in NO_VALUE_COLUMN:
        if value:
            raise InvalidInput.field(
                field, f"does not apply to {aggregation!r} (it counts rows or units)"
            )
        return None
    if not isinstance(value, str) or not value:
        raise InvalidInput.field(
            field, f"is required for {aggregation!r} (the column of values it reads)"
        )
    return source.named_column(value, field)


def _criteria(raw: Any, field: str, source: StoredSource) -> list[dict[str, Any]]:
    criteria = raw or []
    if not isinstance(criteria, list):
        raise InvalidInput.field(field, "must be a list of criteria")
    return [_criterion(c, f"{field}[{i}]", source) for i, c in enumerate(criteria)]


def _rollup(raw: Any, aggregation: str, field: str) -> str | None:
    """A unit count's mode: ``max`` (one-time event, the default) or ``daily`` (daily
    participation rate); nothing on other aggregations."""
    if raw in (None, ""):
        return "max" if aggregation == "daily_participation" else None
    if aggregation != "daily_participation":
        raise InvalidInput.field(field, "applies to 'daily_participation' only")
    if raw in ROLLUPS_LATER:
        raise InvalidInput.field(
            field, f"{raw!r} is not computed by this server yet; use one of {_quoted(ROLLUPS)}"
        )
    if raw not in ROLLUPS:
        raise InvalidInput.field(field, f"must be one of {_quoted(ROLLUPS)}, got {raw!r}")
    return str(raw)


def _bounds(raw: Mapping[str, Any], low_field: str, high_field: str) -> dict[str, float]:
    """Winsorization percentiles as fractions: low in [0, 1), high in (0, 1]; 0 and 1 cap
    nothing and are not stored."""
    stored: dict[str, float] = {}
    low, high = raw.get(low_field), raw.get(high_field)
    for name, value in ((high_field, high), (low_field, low)):
        if value is None:
            continue
        number = isinstance(value, int | float) and not isinstance(value, bool)
        ok = number and (0 < value <= 1 if name == high_field else 0 <= value < 1)
        if not ok:
            shape = (
                "a fraction above 0 and at most 1 (0.999: the 99.9th percentile)"
                if name == high_field
                else "a fraction at least 0 and below 1 (0.001: the 0.1th percentile)"
            )
            raise InvalidInput.field(f"warehouseNative.{name}", f"must be {shape}, got {value!r}")
        if 0 < value < 1:
            stored[name] = float(value)
    if low_field in stored and high_field in stored and stored[low_field] >= stored[high_field]:
        raise InvalidInput.field(
            f"warehouseNative.{low_field}", f"must be below {high_field} ({high!r}), got {low!r}"
        )
    return stored


def _percentile(raw: Any) -> float:
    """A percentile metric's percentile as a fraction: given as one (0.9) or in percent (90)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw < 100 or raw == 1:
        raise InvalidInput.field(
            "warehouseNative.percentile",
            f"is required for 'percentile': a fraction between 0 and 1 (0.9) or a percent "
            f"between 1 and 100 (90), both excluded, got {raw!r}",
        )
    return float(raw) if raw < 1 else float(raw) / 100


def _aggregation(raw: Any, field: str, allowed: Sequence[str]) -> str:
    if raw in AGGREGATIONS_LATER or (raw in AGGREGATIONS and raw not in allowed):
        raise InvalidInput.field(
            field, f"{raw!r} is not computed by this server yet; use one of {_quoted(allowed)}"
        )
    if raw not in allowed:
        raise InvalidInput.field(field, f"must be one of {_quoted(allowed)}, got {raw!r}")
    return str(raw)


def check_warehouse_native(
    session: Session, project_id: str, raw: Any, unit_types: Sequence[str] | None
) -> dict[str, Any]:
    """The stored definition of a ``user_warehouse`` metric: ``warehouseNative`` checked and
    normalized (column names as the source answers them), ``unitTypes`` (by default every unit
    type the source maps, else each must be mapped by it), no events, and the lineage."""
    if not warehouse_service.is_warehouse_native(session, project_id):
        raise InvalidInput.field("warehouseNative", NOT_A_WAREHOUSE)
    if not isinstance(raw, Mapping) or not raw:
        raise InvalidInput.field(
            "warehouseNative", "is required for a 'user_warehouse' metric (its metric source)"
        )
    for key, value in raw.items():
        if key not in KNOWN_FIELDS and warehouse_funnels.is_set(value):
            raise InvalidInput.field(
                f"warehouseNative.{key}",
                f"is not computed by this server yet; it reads {_quoted(KNOWN_FIELDS)}",
            )
    aggregation = _aggregation(raw.get("aggregation"), "warehouseNative.aggregation", AGGREGATIONS)
    for owner, fields in OWN_FIELDS.items():
        for key in fields:
            if aggregation != owner and warehouse_funnels.is_set(raw.get(key)):
                raise InvalidInput.field(
                    f"warehouseNative.{key}", f"applies to {owner!r} metrics only"
                )
    if aggregation in OWN_FIELDS:
        return _funnel_or_retention(session, project_id, raw, aggregation, unit_types)
    ratio = aggregation == "ratio"
    if not ratio:
        for key in RATIO_FIELDS:
            if warehouse_funnels.is_set(raw.get(key)):
                raise InvalidInput.field(
                    f"warehouseNative.{key}", "applies to 'ratio' metrics only"
                )
    if raw.get("numeratorAggregation") not in (None, "") and not ratio:
        raise InvalidInput.field(
            "warehouseNative.numeratorAggregation", "applies to 'ratio' metrics only"
        )
    source = _source(
        session, project_id, raw.get("metricSourceName"), "warehouseNative.metricSourceName"
    )
    stored: dict[str, Any] = {"aggregation": aggregation, "metricSourceName": source.name}
    numerator = aggregation
    if ratio:
        numerator = _aggregation(
            raw.get("numeratorAggregation"),
            "warehouseNative.numeratorAggregation",
            COMPONENT_AGGREGATIONS,
        )
        stored["numeratorAggregation"] = numerator
    value_column = _value_column(
        raw.get("valueColumn"), numerator, source, "warehouseNative.valueColumn"
    )
    if value_column is not None:
        stored["valueColumn"] = value_column
    stored["criteria"] = _criteria(raw.get("criteria"), "warehouseNative.criteria", source)
    rollup = _rollup(raw.get("rollupTimeWindow"), numerator, "warehouseNative.rollupTimeWindow")
    if rollup is not None:
        stored["rollupTimeWindow"] = rollup
    if ratio:
        denominator_source = _source(
            session,
            project_id,
            raw.get("denominatorMetricSourceName") or source.name,
            "warehouseNative.denominatorMetricSourceName",
        )
        denominator = _aggregation(
            raw.get("denominatorAggregation"),
            "warehouseNative.denominatorAggregation",
            COMPONENT_AGGREGATIONS,
        )
        stored |= {
            "denominatorAggregation": denominator,
            "denominatorMetricSourceName": denominator_source.name,
        }
        column = _value_column(
            raw.get("denominatorValueColumn"),
            denominator,
            denominator_source,
            "warehouseNative.denominatorValueColumn",
        )
        if column is not None:
            stored["denominatorValueColumn"] = column
        stored["denominatorCriteria"] = _criteria(
            raw.get("denominatorCriteria"),
            "warehouseNative.denominatorCriteria",
            denominator_source,
        )
        rollup = _rollup(
            raw.get("denominatorRollupTimeWindow"),
            denominator,
            "warehouseNative.denominatorRollupTimeWindow",
        )
        if rollup is not None:
            stored["denominatorRollupTimeWindow"] = rollup
        allow = raw.get("allowNullRatioDenominator")
        if allow not in (None, False, True):
            raise InvalidInput.field(
                "warehouseNative.allowNullRatioDenominator", f"must be a boolean, got {allow!r}"
            )
        if allow:
            stored["allowNullRatioDenominator"] = True
        stored |= _bounds(raw, "winsorizationLowDenominator", "winsorizationHighDenominator")
    bounds = _bounds(raw, "winsorizationLow", "winsorizationHigh")
    for key in bounds:
        if aggregation not in WINSORIZED:
            raise InvalidInput.field(
                f"warehouseNative.{key}",
                f"applies to {_quoted(WINSORIZED)} metrics only, not to {aggregation!r}",
            )
    stored |= bounds
    percentile = raw.get("percentile")
    if aggregation != "percentile" and percentile is not None:
        raise InvalidInput.field("warehouseNative.percentile", "applies to 'percentile' only")
    if aggregation == "percentile":
        stored["percentile"] = _percentile(percentile)
    cap = raw.get("cap")
    if cap is not None:
        if isinstance(cap, bool) or not isinstance(cap, int | float) or not 0 < cap < 1e300:
            raise InvalidInput.field(
                "warehouseNative.cap", f"must be a number above 0 (a unit-day's most), got {cap!r}"
            )
        if aggregation not in CAPPED:
            raise InvalidInput.field(
                "warehouseNative.cap",
                f"applies to {_quoted(CAPPED)} metrics only, not to {aggregation!r}",
            )
        stored["cap"] = float(cap)
    return _stored(stored, [source], unit_types)


def _stored(
    stored: dict[str, Any], read: Sequence[StoredSource], unit_types: Sequence[str] | None
) -> dict[str, Any]:
    """The stored metric: ``unitTypes`` by default the unit types the first source maps (and
    every other source it reads), else each must be mapped by every source it reads."""
    mapped = [u for u in read[0].unit_types if all(s.unit_column(u) for s in read)]
    units = list(dict.fromkeys(u.strip() for u in unit_types or [] if u.strip())) or mapped
    for index, unit in enumerate(units):
        for source in read:
            if source.unit_column(unit) is None:
                raise InvalidInput.field(
                    f"unitTypes[{index}]",
                    f"{unit!r} is not mapped by metric source {source.name!r} "
                    f"(it maps {_quoted(source.unit_types)})",
                )
    return {
        "unitTypes": units,
        "metricEvents": [],
        "warehouseNative": stored,
        "lineage": {"events": [], "metrics": []},
    }


def _funnel_or_retention(
    session: Session,
    project_id: str,
    raw: Mapping[str, Any],
    aggregation: str,
    unit_types: Sequence[str] | None,
) -> dict[str, Any]:
    def source_of(name: Any, field: str) -> StoredSource:
        return _source(session, project_id, name, field)

    check = (
        warehouse_funnels.check_funnel
        if aggregation == "funnel"
        else warehouse_funnels.check_retention
    )
    stored, read = check(raw, source_of, _criteria)
    distinct = {source.name: source for source in read}
    return _stored(stored, list(distinct.values()), unit_types)
