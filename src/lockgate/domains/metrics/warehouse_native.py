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

from lockgate.domains.warehouse import service as warehouse_service
from lockgate.domains.warehouse import sources
from lockgate.domains.warehouse.usage import StoredSource
from lockgate.errors import InvalidInput

WAREHOUSE_TYPE = "user_warehouse"
# The aggregations the pipeline computes today; the others of the official enum are refused
# by name (``AGGREGATIONS_LATER``).
AGGREGATIONS = ("count", "sum", "mean")
AGGREGATIONS_LATER = (
    "daily_participation", "ratio", "funnel", "count_distinct", "percentile", "first_value",
    "latest_value", "retention", "max", "min",
)  # fmt: skip
# Criterion conditions the pipeline turns into SQL (``warehouse.pipeline``).
CONDITIONS = (
    "in", "not_in", "=", ">", "<", ">=", "<=", "is_null", "non_null", "is_true", "is_false",
)  # fmt: skip
NO_VALUE = frozenset({"is_null", "non_null", "is_true", "is_false"})
ONE_VALUE = frozenset({"=", ">", "<", ">=", "<="})
NUMERIC = frozenset({">", "<", ">=", "<="})
# Fields of the official object this server reads; any other field sent with a value is refused.
KNOWN_FIELDS = ("aggregation", "metricSourceName", "valueColumn", "criteria", "winsorizationHigh")
# Aggregations whose unit values may be winsorized (capped above a percentile of the non-zero
# unit values, docs/statistics.md §Winsorization); a mean's numerator and denominator would be
# capped apart, which is not computed yet.
WINSORIZED = ("count", "sum")
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
    if not isinstance(column, str) or not column.strip():
        raise InvalidInput.field(f"{where}.column", "is required (a column of the metric source)")
    found = source.column(column.strip())
    if found is None:
        raise InvalidInput.field(
            f"{where}.column",
            f"column {column!r} is not among metric source {source.name!r}'s columns "
            f"({', '.join(source.columns) or 'none'})",
        )
    values = raw.get("values") or []
    if not isinstance(values, list) or not all(isinstance(v, str | int | float) for v in values):
        raise InvalidInput.field(f"{where}.values", "must be a list of strings")
    texts = [str(v) for v in values]
    if condition in NO_VALUE and texts:
        raise InvalidInput.field(f"{where}.values", f"{condition!r} takes no values")
    if condition not in NO_VALUE and not texts:
        raise InvalidInput.field(f"{where}.values", f"{condition!r} needs at least one value")
    if condition in ONE_VALUE and len(texts) != 1:
        raise InvalidInput.field(
            f"{where}.values", f"{condition!r} takes exactly one value, got {len(texts)}"
        )
    if condition in NUMERIC:
        try:
            float(texts[0])
        except ValueError:
            raise InvalidInput.field(
                f"{where}.values", f"{condition!r} compares numbers, got {texts[0]!r}"
            ) from None
    criterion: dict[str, Any] = {"type": "metadata", "column": found, "condition": condition}
    if texts:
        criterion["values"] = texts
    return criterion


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
        if key not in KNOWN_FIELDS and value not in (None, "", [], False):
            raise InvalidInput.field(
                f"warehouseNative.{key}",
                f"is not computed by this server yet; it reads {_quoted(KNOWN_FIELDS)}",
            )
    aggregation = raw.get("aggregation")
    if aggregation in AGGREGATIONS_LATER:
        raise InvalidInput.field(
            "warehouseNative.aggregation",
            f"{aggregation!r} is not computed by this server yet; use one of "
            f"{_quoted(AGGREGATIONS)}",
        )
    if aggregation not in AGGREGATIONS:
        raise InvalidInput.field(
            "warehouseNative.aggregation",
            f"must be one of {_quoted(AGGREGATIONS)}, got {aggregation!r}",
        )
    name = raw.get("metricSourceName")
    if not isinstance(name, str) or not name:
        raise InvalidInput.field("warehouseNative.metricSourceName", "is required")
    source = sources.stored(session, project_id, sources.METRIC, name)
    if source is None:
        raise InvalidInput.field(
            "warehouseNative.metricSourceName", f"metric source {name!r} does not exist"
        )
    stored: dict[str, Any] = {"aggregation": aggregation, "metricSourceName": source.name}
    value_column = raw.get("valueColumn")
    if aggregation == "count":
        if value_column:
            raise InvalidInput.field(
                "warehouseNative.valueColumn", "does not apply to 'count' (it counts rows)"
            )
    else:
        if not isinstance(value_column, str) or not value_column:
            raise InvalidInput.field(
                "warehouseNative.valueColumn",
                f"is required for {aggregation!r} (the column of numbers it reads)",
            )
        found = source.column(value_column)
        if found is None:
            raise InvalidInput.field(
                "warehouseNative.valueColumn",
                f"column {value_column!r} is not among metric source {source.name!r}'s columns "
                f"({', '.join(source.columns) or 'none'})",
            )
        stored["valueColumn"] = found
    criteria = raw.get("criteria") or []
    if not isinstance(criteria, list):
        raise InvalidInput.field("warehouseNative.criteria", "must be a list of criteria")
    stored["criteria"] = [
        _criterion(c, f"warehouseNative.criteria[{i}]", source) for i, c in enumerate(criteria)
    ]
    high = raw.get("winsorizationHigh")
    if high is not None:
        if isinstance(high, bool) or not isinstance(high, int | float) or not 0 < high <= 1:
            raise InvalidInput.field(
                "warehouseNative.winsorizationHigh",
                f"must be a fraction above 0 and at most 1 (0.999: the 99.9th percentile), "
                f"got {high!r}",
            )
        if aggregation not in WINSORIZED:
            raise InvalidInput.field(
                "warehouseNative.winsorizationHigh",
                f"applies to {_quoted(WINSORIZED)} metrics only, not to {aggregation!r}",
            )
        if high < 1:  # 1 caps nothing
            stored["winsorizationHigh"] = float(high)
    mapped = source.unit_types
    units = list(dict.fromkeys(u.strip() for u in unit_types or [] if u.strip())) or mapped
    for index, unit in enumerate(units):
        if source.unit_column(unit) is None:
            raise InvalidInput.field(
                f"unitTypes[{index}]",
                f"{unit!r} is not mapped by metric source {source.name!r} "
                f"(it maps {_quoted(mapped)})",
            )
    return {
        "unitTypes": units,
        "metricEvents": [],
        "warehouseNative": stored,
        "lineage": {"events": [], "metrics": []},
    }
