"""Daily metric values (``GET /metrics`` and ``GET /metrics/values``), computed from events.

A day is a UTC calendar day. For each unit type of a metric the value is the day's topline:
additive metrics add their unit values up (events, sums, active units for event_user);
ratio-type metrics divide the summed numerators by the summed denominators. Event-level metrics
(event counts, sums, means) also get an ``overall`` row that counts events without a unit id.
One aggregate query per (metric, unit type); the pages are cut before anything is computed.
A warehouse-native metric's values are those its last reload stored (``pulse.metric_loads``,
docs/warehouse.md §Metric values).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.audit.service import audit_change
from lockgate.domains.events import incoming
from lockgate.domains.metrics import repository, service
from lockgate.domains.metrics.definitions import WAREHOUSE_TYPE
from lockgate.domains.metrics.sql import DAY_MS, RATIO_TYPES, MetricSpec
from lockgate.errors import InvalidInput, NotFound
from lockgate.kit.actor import Change

OVERALL = "overall"
OVERALL_TYPES = frozenset({"event_count", "event_count_custom", "sum", "mean"})
# A warehouse-native metric's daily values are loaded by ``POST /metrics/{id}/reload`` and
# stored as the Pulse results of this entity type and view (``pulse.metric_loads``).
WAREHOUSE_ENTITY = "metric"
VALUES_VIEW = "values"


@dataclass(frozen=True)
class DayValue:
    value: float
    units: int
    numerator: float | None
    denominator: float | None


def day_window(raw: str) -> tuple[int, int]:
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput.field(
            "date", f"must be a date as YYYY-MM-DD, got {raw!r}", location="query"
        ) from None
    start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    return start, start + DAY_MS


def unit_rows(document: dict[str, Any]) -> list[str]:
    overall = [OVERALL] if document["type"] in OVERALL_TYPES else []
    return overall + [u for u in document.get("unitTypes") or ["userID"] if u != OVERALL]


def day_value(
    session: Session, spec: MetricSpec, start_ms: int, end_ms: int, unit_type: str
) -> DayValue:
    # Only participating units (a non-zero denominator) count
    # (docs/statistics.md §Exposures and events).
    count, total, numerator, denominator = repository.unit_totals(
        session,
        spec,
        start_ms,
        end_ms,
        None if unit_type == OVERALL else unit_type,
        participating_only=spec.type in RATIO_TYPES,
    )
    if spec.type in RATIO_TYPES:
        num, den = float(numerator or 0), float(denominator or 0)
        return DayValue(num / den if den else 0.0, int(count), num, den)
    return DayValue(float(total or 0), int(count), None, None)


def _number(value: float) -> float | int:
    return int(value) if value.is_integer() else value


def _values_dto(document: dict[str, Any], unit_type: str, found: DayValue) -> dict[str, Any]:
    """``MetricValuesDto`` (snake_case, as Statsig sends it)."""
    dto: dict[str, Any] = {"value": _number(found.value), "unit_type": unit_type}
    if unit_type != OVERALL:
        dto["row_count"] = found.units
    if found.numerator is not None and found.denominator is not None:
        dto |= {"numerator": _number(found.numerator), "denominator": _number(found.denominator)}
    return dto | {"metric_name": document["name"], "metric_type": document["type"]}


def _value_dto(document: dict[str, Any], unit_type: str, found: DayValue) -> dict[str, Any]:
    """``MetricValueDto``."""
    dto: dict[str, Any] = {"value": _number(found.value), "unitType": unit_type}
    if found.numerator is not None and found.denominator is not None:
        dto |= {"numerator": _number(found.numerator), "denominator": _number(found.denominator)}
    if unit_type != OVERALL:
        dto["inputRows"] = found.units
    return dto | {"metricName": document["name"], "metricType": document["type"]}


def _loaded(
    session: Session, project_id: str, document: dict[str, Any], day: str
) -> list[tuple[str, DayValue]]:
    """A warehouse-native metric's stored values of ``day`` per unit type (none when the day
    was not loaded)."""
    stored = repository.stored_values(
        session, project_id, WAREHOUSE_ENTITY, document["id"], VALUES_VIEW, day
    )
    return [
        (unit, DayValue(v["value"], v["rows"], v["numerator"], v["denominator"]))
        for unit, v in (stored or {}).get("values", {}).items()
    ]


def read(session: Session, project_id: str, metric_id: str, day: str) -> list[dict[str, Any]]:
    incoming.settle_before(session)
    start, end = day_window(day)
    document = service.find_document(session, project_id, metric_id)
    if document is None:
        raise NotFound()
    if document["type"] == WAREHOUSE_TYPE:
        return [
            _values_dto(document, unit, found)
            for unit, found in _loaded(session, project_id, document, day)
        ]
    spec = service.spec_of(session, project_id, document)
    return [
        _values_dto(document, unit, day_value(session, spec, start, end, unit))
        for unit in unit_rows(document)
    ]


def reload_kind(incremental: str | None) -> str:
    """``full`` or ``incremental``, from ``POST /metrics/{id}/reload``'s ``incremental``."""
    if incremental not in (None, "", "true", "false"):
        raise InvalidInput.field(
            "incremental", f'must be "true" or "false", got {incremental!r}', location="query"
        )
    return "incremental" if incremental == "true" else "full"


def reload(session: Session, change: Change, metric_id: str, incremental: str | None) -> str:
    """``POST /metrics/{id}/reload``: what reloading a metric's daily values means here, and
    which kind of reload was asked (``full`` or ``incremental``).

    Lockgate stores no daily values for a metric: ``read`` and ``list_`` compute them from the
    event tables on each request, so there is nothing to recompute and both kinds do the same
    thing. The reload moves every acknowledged event into those tables (``incoming.settle``, as
    any read does first), so the values read next count every event the server has taken, and
    records who asked in the audit log. An unknown metric is a 404."""
    kind = reload_kind(incremental)
    incoming.settle_before(session)
    document = service.find_document(session, change.project_id, metric_id)
    if document is None:
        raise NotFound()
    audit_reload(session, change, metric_id, document["name"], f"Reloaded metric data ({kind})")
    return kind


def audit_reload(
    session: Session, change: Change, metric_id: str, name: str, change_log: str
) -> None:
    """The audit entry of a metric's reload (``load_echidna_metric``), whichever kind of metric
    it is; ``change_log`` says what the reload did (computed on read here, a queued load for a
    warehouse-native metric in ``pulse.metric_loads``)."""
    audit_change(
        session,
        change,
        entity_type="metric",
        entity_id=metric_id,
        name=name,
        action_type="load_echidna_metric",
        change_log=change_log,
    )


def list_(
    session: Session,
    project_id: str,
    day: str,
    now_ms: int,
    *,
    metric_name: str | None,
    metric_type: str | None,
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    incoming.settle_before(session)
    start, end = day_window(day)
    documents = service.list_(session, project_id, now_ms, show_hidden=True, tags=())
    chosen = [
        document
        for document in documents
        if (metric_name is None or document["name"] == metric_name)
        and (metric_type is None or document["type"] == metric_type)
    ]
    loaded = {
        document["id"]: dict(_loaded(session, project_id, document, day))
        for document in chosen
        if document["type"] == WAREHOUSE_TYPE
    }
    rows = [
        (document, unit)
        for document in chosen
        for unit in (loaded[document["id"]] if document["id"] in loaded else unit_rows(document))
    ]
    page = rows[offset : offset + limit]
    specs: dict[str, MetricSpec] = {}
    found = []
    for document, unit in page:
        if document["id"] in loaded:
            found.append(_value_dto(document, unit, loaded[document["id"]][unit]))
            continue
        spec = specs.get(document["id"])
        if spec is None:
            spec = specs[document["id"]] = service.spec_of(session, project_id, document)
        found.append(_value_dto(document, unit, day_value(session, spec, start, end, unit)))
    return found, len(rows)


CHART_DAYS = 14


@dataclass(frozen=True)
class DailySeries:
    """A metric's value on each of the last days (UTC, oldest first), per unit row; None on a
    day a warehouse-native metric has no loaded value for (``loaded``: its values are those
    its reloads stored, not computed on read)."""

    days: list[str]
    values: dict[str, list[float | int | None]]
    loaded: bool = False


def daily_series(
    session: Session, project_id: str, metric_id: str, now_ms: int, days: int = CHART_DAYS
) -> DailySeries:
    """The metric's daily values over the last ``days`` UTC days, today included, each computed
    as ``GET /metrics/values`` computes one day: one aggregate query per (day, unit row); a
    warehouse-native metric's as its last reload stored them."""
    incoming.settle_before(session)
    document = service.find_document(session, project_id, metric_id)
    if document is None:
        raise NotFound()
    today = now_ms // DAY_MS
    numbers = range(today - days + 1, today + 1)
    labels = [
        datetime.fromtimestamp(n * DAY_MS / 1000, tz=UTC).strftime("%Y-%m-%d") for n in numbers
    ]
    if document["type"] == WAREHOUSE_TYPE:
        return _loaded_series(session, project_id, document, labels)
    spec = service.spec_of(session, project_id, document)
    return DailySeries(
        days=labels,
        values={
            unit: [
                _number(day_value(session, spec, n * DAY_MS, (n + 1) * DAY_MS, unit).value)
                for n in numbers
            ]
            for unit in unit_rows(document)
        },
    )


def _loaded_series(
    session: Session, project_id: str, document: dict[str, Any], labels: list[str]
) -> DailySeries:
    """A warehouse-native metric's stored values of the days ``labels``, per unit type any of
    them has (in the order first found)."""
    loaded = {day: dict(_loaded(session, project_id, document, day)) for day in labels}
    units = dict.fromkeys(unit for of_day in loaded.values() for unit in of_day)
    return DailySeries(
        days=labels,
        values={
            unit: [
                _number(loaded[day][unit].value) if unit in loaded[day] else None for day in labels
            ]
            for unit in units
        },
        loaded=True,
    )
