"""Warehouse-native funnel and retention metrics (docs/warehouse.md §Funnels and retention):
their ``warehouseNative`` fields checked and normalized, or refused naming the field.

``warehouse_native.check_warehouse_native`` hands these two aggregations here with its own
checks of a source name and of a list of criteria, so both read sources the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lockgate.domains.warehouse.usage import StoredSource
from lockgate.errors import InvalidInput

# (value, field) -> the stored metric source that name designates
SourceCheck = Callable[[Any, str], StoredSource]
# (value, field, source) -> the stored criteria
CriteriaCheck = Callable[[Any, str, StoredSource], list[dict[str, Any]]]

FUNNEL_FIELDS = (
    "funnelEvents", "funnelCountDistinct", "funnelStartCriteria", "funnelCalculationWindow",
    "funnelStrictOrdering", "funnelUseExposureAsFirstEvent", "funnelTimestampAllowanceMs",
    "funnelTimeToConvert",
)  # fmt: skip
RETENTION_FIELDS = ("retentionLength", "retentionEnd", "useSecondaryRetentionEvent")
# What a funnel counts: each unit's progress, or each session's (``sessionIdentifierField``).
FUNNEL_COUNTS = ("users", "sessions")
# Where the calculation window starts: the unit's first step, or its first exposure.
FUNNEL_STARTS = ("start_event", "exposure")
# The longest timestamp allowance: a day.
MOST_ALLOWANCE_MS = 86_400_000
# A step reads these; sessionIdentifierField only in session funnels, where it is required.
STEP_FIELDS = ("name", "metricSourceName", "criteria", "sessionIdentifierField")
# Days: the longest calculation window and retention period end this server accepts.
MOST_DAYS = 3650
# Fields of a ratio the two aggregations never read (a retention's start event is read from
# denominatorMetricSourceName and denominatorCriteria).
NOT_READ = (
    "valueColumn", "numeratorAggregation", "denominatorAggregation", "denominatorValueColumn",
    "denominatorRollupTimeWindow", "allowNullRatioDenominator", "rollupTimeWindow",
    "winsorizationHigh", "winsorizationLow", "winsorizationHighDenominator",
    "winsorizationLowDenominator", "cap", "percentile",
)  # fmt: skip


def is_set(value: Any) -> bool:
    """Whether a ``warehouseNative`` field was given a value (an empty one counts as absent)."""
    return value not in (None, "", [], False)


def _flag(raw: Mapping[str, Any], name: str) -> bool:
    value = raw.get(name)
    if value is not None and not isinstance(value, bool):
        raise InvalidInput.field(f"warehouseNative.{name}", f"must be a boolean, got {value!r}")
    return bool(value)


def _days(raw: Mapping[str, Any], name: str, required: bool) -> int | None:
    value: Any = raw.get(name)
    if value is None and not required:
        return None
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or value != int(value) or not 1 <= value <= MOST_DAYS:
        raise InvalidInput.field(
            f"warehouseNative.{name}",
            f"{'is required: ' if required else 'must be '}a whole number of days from 1 to "
            f"{MOST_DAYS}, got {value!r}",
        )
    return int(value)


def _refuse_foreign(raw: Mapping[str, Any], aggregation: str, foreign: tuple[str, ...]) -> None:
    for key in foreign:
        if is_set(raw.get(key)):
            raise InvalidInput.field(
                f"warehouseNative.{key}", f"does not apply to {aggregation!r} metrics"
            )


def check_funnel(
    raw: Mapping[str, Any], source_of: SourceCheck, criteria_of: CriteriaCheck
) -> tuple[dict[str, Any], list[StoredSource]]:
    """A funnel's stored fields, and its steps' sources (each must map the metric's unit
    types). A step without ``metricSourceName`` reads ``warehouseNative.metricSourceName``."""
    others = ("criteria", "denominatorMetricSourceName", "denominatorCriteria")
    _refuse_foreign(raw, "funnel", (*NOT_READ, *RETENTION_FIELDS, *others))
    count = raw.get("funnelCountDistinct") or "users"
    if count not in FUNNEL_COUNTS:
        raise InvalidInput.field(
            "warehouseNative.funnelCountDistinct",
            f"must be one of {', '.join(repr(c) for c in FUNNEL_COUNTS)}, got {count!r}",
        )
    sessions = count == "sessions"
    steps = raw.get("funnelEvents")
    exposure_first = _flag(raw, "funnelUseExposureAsFirstEvent")
    if exposure_first and sessions:
        raise InvalidInput.field(
            "warehouseNative.funnelUseExposureAsFirstEvent",
            "does not apply to session funnels (an exposure has no session)",
        )
    least = 1 if exposure_first else 2
    if not isinstance(steps, list) or len(steps) < least:
        raise InvalidInput.field(
            "warehouseNative.funnelEvents",
            f"must list at least {least} steps"
            + (" (the exposure is the first)" if exposure_first else "")
            + f", got {steps!r}",
        )
    default = raw.get("metricSourceName")
    stored_steps: list[dict[str, Any]] = []
    step_sources: list[StoredSource] = []
    for index, step in enumerate(steps):
        where = f"warehouseNative.funnelEvents[{index}]"
        if not isinstance(step, Mapping):
            raise InvalidInput.field(where, "must be an object {name, metricSourceName, criteria}")
        for key, value in step.items():
            if key not in STEP_FIELDS and is_set(value):
                raise InvalidInput.field(
                    f"{where}.{key}", f"is not read; a step reads {', '.join(STEP_FIELDS)}"
                )
        name = step.get("name")
        if name is not None and not isinstance(name, str):
            raise InvalidInput.field(f"{where}.name", f"must be a string, got {name!r}")
        source = source_of(step.get("metricSourceName") or default, f"{where}.metricSourceName")
        stored_step: dict[str, Any] = {"metricSourceName": source.name}
        if name:
            stored_step["name"] = name
        stored_step["criteria"] = criteria_of(step.get("criteria"), f"{where}.criteria", source)
        session = _session(step.get("sessionIdentifierField"), sessions, source, where)
        if session is not None:
            stored_step["sessionIdentifierField"] = session
        stored_steps.append(stored_step)
        step_sources.append(source)
    start = raw.get("funnelStartCriteria") or "start_event"
    if start not in FUNNEL_STARTS:
        raise InvalidInput.field(
            "warehouseNative.funnelStartCriteria",
            f"must be one of {', '.join(repr(s) for s in FUNNEL_STARTS)}, got {start!r}",
        )
    stored: dict[str, Any] = {
        "aggregation": "funnel",
        "metricSourceName": step_sources[0].name,
        "funnelEvents": stored_steps,
        "funnelCountDistinct": count,
        "funnelStartCriteria": start,
        "funnelStrictOrdering": _flag(raw, "funnelStrictOrdering"),
        "funnelUseExposureAsFirstEvent": exposure_first,
        "funnelTimeToConvert": _flag(raw, "funnelTimeToConvert"),
    }
    allowance: Any = raw.get("funnelTimestampAllowanceMs")
    if allowance is not None:
        number = isinstance(allowance, int | float) and not isinstance(allowance, bool)
        if not number or allowance != int(allowance) or not 0 <= allowance <= MOST_ALLOWANCE_MS:
            raise InvalidInput.field(
                "warehouseNative.funnelTimestampAllowanceMs",
                f"must be a whole number of milliseconds from 0 to {MOST_ALLOWANCE_MS}, "
                f"got {allowance!r}",
            )
        if allowance:
            stored["funnelTimestampAllowanceMs"] = int(allowance)
    window = _days(raw, "funnelCalculationWindow", required=False)
    if window is not None:
        stored["funnelCalculationWindow"] = window
    return stored, step_sources


def _session(value: Any, sessions: bool, source: StoredSource, where: str) -> str | None:
    """A session funnel step's session column, as its source answers it."""
    field = f"{where}.sessionIdentifierField"
    if not sessions:
        if is_set(value):
            raise InvalidInput.field(
                field, "applies to session funnels only (funnelCountDistinct 'sessions')"
            )
        return None
    if not isinstance(value, str) or not value:
        raise InvalidInput.field(
            field, "is required in a session funnel (the column of the step's session ids)"
        )
    return source.named_column(value, field)


def check_retention(
    raw: Mapping[str, Any], source_of: SourceCheck, criteria_of: CriteriaCheck
) -> tuple[dict[str, Any], list[StoredSource]]:
    """A retention metric's stored fields, and its sources: the completion event's
    (``metricSourceName``, ``criteria``) and, with ``useSecondaryRetentionEvent``, the start
    event's (``denominatorMetricSourceName``, default the same source, ``denominatorCriteria``)."""
    _refuse_foreign(raw, "retention", (*NOT_READ, *FUNNEL_FIELDS))
    source = source_of(raw.get("metricSourceName"), "warehouseNative.metricSourceName")
    stored: dict[str, Any] = {
        "aggregation": "retention",
        "metricSourceName": source.name,
        "criteria": criteria_of(raw.get("criteria"), "warehouseNative.criteria", source),
    }
    end = _days(raw, "retentionEnd", required=True)
    length = _days(raw, "retentionLength", required=True)
    assert end is not None and length is not None
    if length > end:
        raise InvalidInput.field(
            "warehouseNative.retentionLength",
            f"must be at most retentionEnd ({end}): the window is the days "
            f"retentionEnd - retentionLength + 1 to retentionEnd after the start day, got {length}",
        )
    stored |= {"retentionEnd": end, "retentionLength": length}
    found = [source]
    secondary = _flag(raw, "useSecondaryRetentionEvent")
    stored["useSecondaryRetentionEvent"] = secondary
    if not secondary:
        for key in ("denominatorMetricSourceName", "denominatorCriteria"):
            if is_set(raw.get(key)):
                raise InvalidInput.field(
                    f"warehouseNative.{key}",
                    "applies to retention only with useSecondaryRetentionEvent (the start event)",
                )
        return stored, found
    start = source_of(
        raw.get("denominatorMetricSourceName") or source.name,
        "warehouseNative.denominatorMetricSourceName",
    )
    stored["denominatorMetricSourceName"] = start.name
    stored["denominatorCriteria"] = criteria_of(
        raw.get("denominatorCriteria"), "warehouseNative.denominatorCriteria", start
    )
    found.append(start)
    return stored, found
