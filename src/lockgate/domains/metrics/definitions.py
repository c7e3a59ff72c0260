"""Rules for metric definitions: which fields each metric type needs, and their vocabularies.

``check_definition`` turns request fields into the stored definition (the ``metricEvents``,
components, funnel steps, rollup and lineage of an ``ExternalMetricDefinitionContractDto``) or
raises ``InvalidInput`` naming the field. ``to_spec`` turns a stored definition into the
``MetricSpec`` the SQL computes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from lockgate.domains.metrics.schemas import (
    CriterionIn,
    MetricDefinitionFields,
    MetricEventIn,
    MetricRefIn,
)
from lockgate.domains.metrics.sql import OPERATORS, Criterion, EventSelector
from lockgate.domains.warehouse.filters import check_values
from lockgate.errors import InvalidInput

CREATABLE_TYPES = (
    "ratio",
    "mean",
    "event_count_custom",
    "event_user",
    "funnel",
    "composite",
    "composite_sum",
    "sum",
)
# Every logged event has these, derived from the events table (never stored).
AUTOMATIC_TYPES = ("event_count", "event_user")
EVENT_MEASURES = ("count", "count_distinct", "value", "metadata")
CRITERION_TYPES = ("value", "metadata", "user", "user_custom")
WAREHOUSE_ONLY_CONDITIONS = (
    "sql_filter",
    "starts_with",
    "ends_with",
    "after_exposure",
    "before_exposure",
)
NO_VALUE_CONDITIONS = frozenset({"is_null", "non_null", "is_true", "is_false"})
NUMERIC_CONDITIONS = frozenset({">", "<", ">=", "<="})
SINGLE_VALUE_CONDITIONS = NUMERIC_CONDITIONS | {"="}
FUNNEL_STEP_TYPES = ("event_dau", "event_user", "event_count", "event_count_custom")
FUNNEL_COUNTS = ("users", "events")
# Composites combine additive unit values; allowing composites inside them would allow cycles.
COMPONENT_TYPES = ("event_count", "event_count_custom", "event_user", "sum")
ROLLUP_WINDOWS = ("default", "custom")
# Warehouse-native metrics (metrics.warehouse_native): defined by their warehouseNative object.
WAREHOUSE_TYPE = "user_warehouse"
DIRECTIONS = ("increase", "decrease")
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_.\-()/ %:]*$")

# Which measures each type's metricEvents may use (None: metricEvents do not apply).
_MEASURES_BY_TYPE: dict[str, tuple[str, ...] | None] = {
    "event_count_custom": ("count",),
    "event_user": ("count", "count_distinct"),
    "sum": ("value", "metadata"),
    "mean": ("value", "metadata"),
    "ratio": EVENT_MEASURES,
    "funnel": None,
    "composite": None,
    "composite_sum": None,
}
# The measure an event gets when its ``type`` is left out.
_DEFAULT_MEASURE = {
    "event_count_custom": "count",
    "event_user": "count_distinct",
    "sum": "value",
    "mean": "value",
    "ratio": "count",
}

Exists = Callable[[str, str], bool]


def _quoted(options: Sequence[str]) -> str:
    return ", ".join(f"'{o}'" for o in options)


def metric_id(name: str, metric_type: str) -> str:
    return f"{name}::{metric_type}"


def split_id(metric_id_: str) -> tuple[str, str] | None:
    if "::" not in metric_id_:
        return None
    name, metric_type = metric_id_.rsplit("::", 1)
    return (name, metric_type) if name and metric_type else None


def check_name(raw: str | None) -> str:
    if raw is None or not raw.strip():
        raise InvalidInput.field("name", "is required")
    name = raw.strip()
    if not 4 <= len(name) <= 200:
        raise InvalidInput.field("name", f"must be 4 to 200 characters, got {len(name)}")
    if not NAME_PATTERN.match(name) or "::" in name:
        raise InvalidInput.field(
            "name",
            f"{name!r} may contain only letters, digits, spaces and _ . - ( ) / % : (but not "
            "'::', which separates a metric id's name and type)",
        )
    return name


def check_type(raw: str | None) -> str:
    if raw is None or not raw.strip():
        raise InvalidInput.field("type", "is required")
    if raw == WAREHOUSE_TYPE:
        return raw  # checked with its warehouseNative object (metrics.warehouse_native)
    if raw not in CREATABLE_TYPES:
        raise InvalidInput.field("type", f"must be one of {_quoted(CREATABLE_TYPES)}, got {raw!r}")
    return raw


def check_directionality(raw: str | None) -> str:
    if raw is None:
        return "increase"
    if raw not in DIRECTIONS:
        raise InvalidInput.field("directionality", f"must be 'increase' or 'decrease', got {raw!r}")
    return raw


def check_description(raw: str | None) -> str:
    if raw is None:
        return ""
    if len(raw) > 1000:
        raise InvalidInput.field("description", f"must be at most 1000 characters, got {len(raw)}")
    return raw


def check_unit_types(raw: Sequence[str] | None) -> list[str]:
    if raw is None:
        return ["userID"]
    unit_types = []
    for index, unit_type in enumerate(raw):
        if not unit_type.strip() or len(unit_type) > 100:
            raise InvalidInput.field(
                f"unitTypes[{index}]",
                "must be a unit id type of 1 to 100 characters (e.g. userID, stableID)",
            )
        unit_types.append(unit_type.strip())
    if not unit_types:
        raise InvalidInput.field("unitTypes", "must name at least one unit id type")
    return list(dict.fromkeys(unit_types))


# -- metricEvents ----------------------------------------------------------------------------


def _criterion(raw: CriterionIn, where: str) -> dict[str, Any]:
    if raw.type not in CRITERION_TYPES:
        raise InvalidInput.field(
            f"{where}.type", f"must be one of {_quoted(CRITERION_TYPES)}, got {raw.type!r}"
        )
    condition = raw.condition
    if condition in WAREHOUSE_ONLY_CONDITIONS:
        raise InvalidInput.field(
            f"{where}.condition",
            f"{condition!r} applies only to warehouse native metrics; use one of "
            f"{_quoted(list(OPERATORS))}",
        )
    if condition not in OPERATORS:
        raise InvalidInput.field(
            f"{where}.condition", f"must be one of {_quoted(list(OPERATORS))}, got {condition!r}"
        )
    column = (raw.column or "").strip() or None
    if raw.type == "value":
        if column is not None:
            raise InvalidInput.field(
                f"{where}.column", "a 'value' criterion tests the event's value and takes no column"
            )
    elif column is None:
        raise InvalidInput.field(
            f"{where}.column", f"is required for a {raw.type!r} criterion (the field to test)"
        )
    values = [v if isinstance(v, str) else _scalar_text(v) for v in raw.values or []]
    check_values(
        values,
        condition,
        where,
        no_value=NO_VALUE_CONDITIONS,
        one_value=SINGLE_VALUE_CONDITIONS,
        numeric=NUMERIC_CONDITIONS,
    )
    criterion: dict[str, Any] = {"type": raw.type, "condition": condition}
    if column is not None:
        criterion["column"] = column
    if condition not in NO_VALUE_CONDITIONS:
        criterion["values"] = values
    if raw.null_vacuous_override is not None:
        criterion["nullVacuousOverride"] = raw.null_vacuous_override
    return criterion


def _scalar_text(value: float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(int(value)) if float(value).is_integer() else str(value)


def _metric_event(raw: MetricEventIn, where: str, metric_type: str) -> dict[str, Any]:
    name = (raw.name or "").strip()
    if not name:
        raise InvalidInput.field(f"{where}.name", "is required (the event's name)")
    allowed = _MEASURES_BY_TYPE[metric_type] or ()
    measure = raw.type if raw.type is not None else _DEFAULT_MEASURE[metric_type]
    if measure not in EVENT_MEASURES:
        raise InvalidInput.field(
            f"{where}.type", f"must be one of {_quoted(EVENT_MEASURES)}, got {measure!r}"
        )
    if measure not in allowed:
        raise InvalidInput.field(
            f"{where}.type",
            f"a {metric_type!r} metric's events may be {_quoted(allowed)}, got {measure!r}",
        )
    key = (raw.metadata_key or "").strip() or None
    if measure == "metadata" and key is None:
        raise InvalidInput.field(
            f"{where}.metadataKey",
            "is required when type is 'metadata' (the metadata field holding the number)",
        )
    if measure != "metadata" and key is not None:
        raise InvalidInput.field(f"{where}.metadataKey", "only applies when type is 'metadata'")
    event: dict[str, Any] = {"name": name, "type": measure}
    if key is not None:
        event["metadataKey"] = key
    event["criteria"] = [
        _criterion(c, f"{where}.criteria[{j}]") for j, c in enumerate(raw.criteria or [])
    ]
    return event


def _metric_events(fields: MetricDefinitionFields, metric_type: str) -> list[dict[str, Any]]:
    raw = fields.metric_events or []
    if _MEASURES_BY_TYPE[metric_type] is None:
        if raw:
            source = "funnelEventList" if metric_type == "funnel" else "metricComponentMetrics"
            raise InvalidInput.field(
                "metricEvents", f"{metric_type!r} metrics are defined by {source}, not by events"
            )
        return []
    if metric_type == "ratio" and len(raw) != 2:
        raise InvalidInput.field(
            "metricEvents",
            "'ratio' metrics need exactly two events, the numerator then the denominator; got "
            f"{len(raw)}",
        )
    if not raw:
        raise InvalidInput.field("metricEvents", f"{metric_type!r} metrics need at least one event")
    return [_metric_event(e, f"metricEvents[{i}]", metric_type) for i, e in enumerate(raw)]


# -- references to other metrics -------------------------------------------------------------


def _reference(
    raw: MetricRefIn, where: str, types: Sequence[str], exists: Exists
) -> dict[str, str]:
    name = (raw.name or "").strip()
    if not name:
        raise InvalidInput.field(f"{where}.name", "is required")
    metric_type = raw.type
    if metric_type is None or metric_type not in types:
        raise InvalidInput.field(
            f"{where}.type", f"must be one of {_quoted(types)}, got {metric_type!r}"
        )
    if not exists(name, metric_type):
        raise InvalidInput.field(where, f"metric {metric_id(name, metric_type)!r} does not exist")
    return {"name": name, "type": metric_type}


def _components(fields: MetricDefinitionFields, metric_type: str, exists: Exists) -> list[Any]:
    raw = fields.metric_component_metrics or []
    if metric_type not in ("composite", "composite_sum"):
        if raw:
            raise InvalidInput.field(
                "metricComponentMetrics", "only applies to 'composite' and 'composite_sum' metrics"
            )
        return []
    if metric_type == "composite" and len(raw) != 2:
        raise InvalidInput.field(
            "metricComponentMetrics",
            "'composite' metrics need exactly two component metrics, the numerator then the "
            f"denominator; got {len(raw)}",
        )
    if len(raw) < 2:
        raise InvalidInput.field(
            "metricComponentMetrics",
            f"'composite_sum' metrics need at least two component metrics; got {len(raw)}",
        )
    return [
        _reference(r, f"metricComponentMetrics[{i}]", COMPONENT_TYPES, exists)
        for i, r in enumerate(raw)
    ]


def _funnel(fields: MetricDefinitionFields, metric_type: str, exists: Exists) -> dict[str, Any]:
    steps = fields.funnel_event_list or []
    count = fields.funnel_count_distinct
    if metric_type != "funnel":
        for given, field in ((steps, "funnelEventList"), (count, "funnelCountDistinct")):
            if given:
                raise InvalidInput.field(field, "only applies to 'funnel' metrics")
        return {}
    if len(steps) < 2:
        raise InvalidInput.field(
            "funnelEventList", f"a funnel needs at least two steps; got {len(steps)}"
        )
    if count is not None and count not in FUNNEL_COUNTS:
        raise InvalidInput.field(
            "funnelCountDistinct", f"must be 'users' or 'events', got {count!r}"
        )
    return {
        "funnelEventList": [
            _reference(s, f"funnelEventList[{i}]", FUNNEL_STEP_TYPES, exists)
            for i, s in enumerate(steps)
        ],
        "funnelCountDistinct": count or "users",
    }


def _rollup(fields: MetricDefinitionFields) -> dict[str, Any]:
    window = fields.rollup_time_window
    start, end = fields.custom_roll_up_start, fields.custom_roll_up_end
    if window is None:
        if start is not None or end is not None:
            raise InvalidInput.field(
                "customRollUpStart/customRollUpEnd", "only apply when rollupTimeWindow is 'custom'"
            )
        return {}
    if window not in ROLLUP_WINDOWS:
        raise InvalidInput.field(
            "rollupTimeWindow", f"must be one of {_quoted(ROLLUP_WINDOWS)}, got {window!r}"
        )
    if window != "custom":
        if start is not None or end is not None:
            raise InvalidInput.field(
                "customRollUpStart/customRollUpEnd", "only apply when rollupTimeWindow is 'custom'"
            )
        return {"rollupTimeWindow": window}
    if start is None or end is None:
        missing = "customRollUpStart" if start is None else "customRollUpEnd"
        raise InvalidInput.field(
            missing, "is required when rollupTimeWindow is 'custom' (days since exposure)"
        )
    if start < 0 or end < 0 or start != int(start) or end != int(end):
        raise InvalidInput.field(
            "customRollUpStart/customRollUpEnd",
            "must be whole numbers of days since exposure, 0 or more",
        )
    if start > end:
        raise InvalidInput.field(
            "customRollUpStart", f"must not be after customRollUpEnd ({int(start)} > {int(end)})"
        )
    return {
        "rollupTimeWindow": "custom",
        "customRollUpStart": int(start),
        "customRollUpEnd": int(end),
    }


def check_definition(
    fields: MetricDefinitionFields, metric_type: str, exists: Exists
) -> dict[str, Any]:
    """The stored definition fields of a metric of ``metric_type``, lineage included."""
    if fields.warehouse_native:
        raise InvalidInput.field(
            "warehouseNative",
            f"applies only to warehouse native metrics (type {WAREHOUSE_TYPE!r}); a "
            f"{metric_type!r} metric is defined with metricEvents",
        )
    events = _metric_events(fields, metric_type)
    components = _components(fields, metric_type, exists)
    funnel = _funnel(fields, metric_type, exists)
    definition: dict[str, Any] = {
        "unitTypes": check_unit_types(fields.unit_types),
        "metricEvents": events,
        **_rollup(fields),
        **funnel,
    }
    if components:
        definition["metricComponentMetrics"] = components
    referenced = components or funnel.get("funnelEventList", [])
    definition["lineage"] = {
        "events": list(dict.fromkeys(e["name"] for e in events)),
        "metrics": [metric_id(r["name"], r["type"]) for r in referenced],
    }
    return definition


DEFINITION_FIELDS = (
    "unitTypes",
    "metricEvents",
    "metricComponentMetrics",
    "rollupTimeWindow",
    "customRollUpStart",
    "customRollUpEnd",
    "funnelEventList",
    "funnelCountDistinct",
    "warehouseNative",
)


# -- stored definition -> computation --------------------------------------------------------


def selectors(events: Sequence[dict[str, Any]]) -> tuple[EventSelector, ...]:
    return tuple(
        EventSelector(
            name=e["name"],
            measure=e.get("type") or "count",
            metadata_key=e.get("metadataKey"),
            criteria=tuple(
                Criterion(
                    type=c["type"],
                    condition=c["condition"],
                    column=c.get("column"),
                    values=tuple(c.get("values") or ()),
                    null_passes=bool(c.get("nullVacuousOverride")),
                )
                for c in e.get("criteria") or ()
            ),
        )
        for e in events
    )
