"""Which metrics a Pulse analysis measures and how each becomes a ``MetricQuery``.

Every logged event has Statsig's automatic metrics ``<event>::event_count`` and
``<event>::event_user``; custom metrics come from the metrics table. Funnel and composite
metrics are not a ``MetricQuery``: their unit values come from ``metrics.sql`` (the per-unit
values the metric values API uses), two extra passes over the events each (after exposure, and
the CUPED pre-period before it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.pulse import repository
from lockgate.domains.pulse.sql import Criterion, EventSource, MetricQuery

_OPERATORS = {
    "=": "in",
    "eq": "in",
    "any": "in",
    "in": "in",
    "is_one_of": "in",
    "!=": "not_in",
    "neq": "not_in",
    "none": "not_in",
    "not_in": "not_in",
    "is_not_one_of": "not_in",
    ">": "gt",
    "gt": "gt",
    ">=": "gte",
    "gte": "gte",
    "<": "lt",
    "lt": "lt",
    "<=": "lte",
    "lte": "lte",
    "contains": "contains",
    "str_contains_any": "contains",
    "is_null": "is_null",
    "is_not_null": "not_null",
    "non_null": "not_null",
}


# docs/statistics.md §Winsorization: Statsig Cloud caps count and sum metrics at the 99.9th
# percentile, never participation (event_user) or user-accounting metrics. Ratio and mean metrics
# (whose numerator and denominator WHN caps separately) are left uncapped for now.
WINSORIZED_TYPES = frozenset({"event_count", "event_count_custom", "sum"})
# Unit values from ``metrics.sql.unit_values_query``: a funnel's and a composite's are a ratio
# (numerator / denominator per unit), a composite_sum's the sum of its components.
DERIVED_TYPES = frozenset({"funnel", "composite", "composite_sum"})


@dataclass(frozen=True)
class MetricPlan:
    metric_id: str
    name: str
    type: str
    directionality: str
    query: MetricQuery | None
    unsupported: str | None = None
    derived: Mapping[str, Any] | None = None  # the stored definition of a DERIVED_TYPES metric

    @property
    def is_ratio(self) -> bool:
        if self.derived is not None:
            return self.type != "composite_sum"
        return self.query is not None and self.query.denominator is not None

    @property
    def winsorized(self) -> bool:
        return self.query is not None and not self.is_ratio and self.type in WINSORIZED_TYPES


def _criteria(raw: Any) -> tuple[Criterion, ...]:
    criteria = []
    for item in raw or []:
        if not isinstance(item, Mapping):
            continue
        operator = _OPERATORS.get(str(item.get("condition") or item.get("operator") or "").lower())
        if operator is None:
            continue
        if item.get("type") not in ("value", "metadata"):
            continue  # user and user_custom criteria need the user table; not pushed down yet
        field = "value" if item.get("type") == "value" else str(item.get("column") or "")
        if not field:
            continue
        values = item.get("values") or ([] if item.get("value") is None else [item["value"]])
        criteria.append(Criterion(field, operator, tuple(values)))  # type: ignore[arg-type]
    return tuple(criteria)


def _source(event: Mapping[str, Any], aggregation: str | None = None) -> EventSource:
    """An event reference of ``metricEvents``: its ``type`` says what each event contributes
    (``count``, ``value``, ``metadata`` with ``metadataKey``); ``aggregation`` overrides it."""
    kind = event.get("type") or "count"
    if aggregation is None:
        aggregation = "sum" if kind in ("value", "metadata") else "count"
    key = event.get("metadataKey") if kind == "metadata" else None
    return EventSource(
        str(event.get("name")),
        aggregation,  # type: ignore[arg-type]
        _criteria(event.get("criteria")),
        str(key) if key else None,
    )


def plan_for(document: Mapping[str, Any] | None, metric_id: str) -> MetricPlan:
    name, _, kind = metric_id.partition("::")
    direction = str((document or {}).get("directionality") or "increase")
    if document is None:
        if kind == "event_count":
            query = MetricQuery(EventSource(name, "count"), cuped=True)
        elif kind in ("event_user", "event_dau"):
            query = MetricQuery(EventSource(name, "any"), cuped=True)
        else:
            return MetricPlan(metric_id, name, kind, direction, None, "no such metric")
        return MetricPlan(metric_id, name, kind, direction, query)
    if kind in DERIVED_TYPES:
        return MetricPlan(metric_id, name, kind, direction, None, derived=document)
    events = [e for e in document.get("metricEvents") or [] if isinstance(e, Mapping)]
    if not events:
        return MetricPlan(metric_id, name, kind, direction, None, f"{kind} metrics need events")
    first = events[0]
    if kind in ("event_count", "event_count_custom"):
        query = MetricQuery(_source(first, "count"), cuped=True)
    elif kind == "event_user":
        query = MetricQuery(_source(first, "any"), cuped=True)
    elif kind == "sum":
        query = MetricQuery(_source(first, "sum"), cuped=True)
    elif kind == "mean":
        query = MetricQuery(_source(first, "sum"), _source(first, "count"), cuped=True)
    elif kind == "ratio" and len(events) >= 2:
        numerator = _source(events[0], "sum" if events[0].get("aggregation") == "sum" else "count")
        denominator = _source(
            events[1], "sum" if events[1].get("aggregation") == "sum" else "count"
        )
        query = MetricQuery(numerator, denominator, cuped=True)
    else:
        return MetricPlan(metric_id, name, kind, direction, None, f"{kind} metrics need events")
    return MetricPlan(metric_id, name, kind, direction, query)


def plans(session: Session, project_id: str, refs: list[Mapping[str, Any]]) -> list[MetricPlan]:
    """Plans for metric references ``{name, type}`` (as experiments store them)."""
    ids = [f"{r.get('name')}::{r.get('type')}" for r in refs if r.get("name")]
    stored = repository.metric_documents(session, project_id, ids)
    return [plan_for(stored.get(metric_id), metric_id) for metric_id in dict.fromkeys(ids)]
