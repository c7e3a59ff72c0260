"""``POST /metrics/{id}/reload`` (docs/warehouse.md §Metric values): a warehouse-native
metric's daily values loaded from its metric source as a Pulse job (progress, cancel and
failures as for Pulse loads) and stored as its results, one per day (view ``VALUES_VIEW``),
which ``GET /metrics`` and ``GET /metrics/values`` answer; any other metric's reload is
``metrics.values.reload``."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict
from typing import Any

import orjson
from sqlalchemy.orm import Session

from lockgate.domains.events import incoming
from lockgate.domains.metrics import service as metric_service
from lockgate.domains.metrics import values
from lockgate.domains.metrics.definitions import WAREHOUSE_TYPE
from lockgate.domains.pulse import jobs, repository
from lockgate.domains.pulse.engine import utc_day
from lockgate.domains.pulse.jobs import ComputedResult, Progress
from lockgate.domains.pulse.warehouse_loads import OpenWarehouse
from lockgate.domains.warehouse import metric_values, sources
from lockgate.domains.warehouse.metric_values import Series
from lockgate.errors import InvalidInput, NotFound
from lockgate.kit.actor import Change
from lockgate.kit.clock import Clock
from lockgate.storage.models import PulseJob

ENTITY = values.WAREHOUSE_ENTITY
VIEW = values.VALUES_VIEW


def reload(session: Session, change: Change, metric_id: str, incremental: str | None) -> str:
    """Reload a metric's daily values; ``full`` or ``incremental``. A warehouse-native
    metric's are loaded by a queued job (a 400 when its aggregation has no daily values
    here); any other's are computed on read (``values.reload``). Unknown metric: 404."""
    kind = values.reload_kind(incremental)
    incoming.settle_before(session)  # before the first statement: ``values.reload`` reads events
    document = metric_service.find_document(session, change.project_id, metric_id)
    if document is None:
        raise NotFound()
    if document["type"] != WAREHOUSE_TYPE:
        return values.reload(session, change, metric_id, incremental)
    reason = metric_values.unsupported(document.get("warehouseNative") or {})
    if reason is not None:
        raise InvalidInput.because(f"Metric {metric_id!r} cannot be reloaded: {reason}")
    repository.add_job(
        session,
        project_id=change.project_id,
        entity_type=ENTITY,
        entity_id=metric_id,
        now_ms=change.now_ms,
        requested_by=change.actor.name,
        details={"reloadType": kind},
    )
    queued = f"Queued a reload of the metric's daily values ({kind})"
    values.audit_reload(session, change, metric_id, document["name"], queued)
    return kind


def _series(session: Session, project_id: str, definition: dict[str, Any]) -> Series:
    """What a metric's daily values read: its metric source and a ratio's denominator's (a
    retention's start event's) and a funnel's steps'."""
    found = []
    names = [definition["metricSourceName"]]
    kind = definition["aggregation"]
    if kind == "ratio" or (kind == "retention" and definition.get("useSecondaryRetentionEvent")):
        names.append(definition.get("denominatorMetricSourceName") or names[0])
    steps = [step["metricSourceName"] for step in definition.get("funnelEvents") or []]
    for name in names + steps:
        source = sources.stored(session, project_id, sources.METRIC, name)
        if source is None:
            raise LookupError(f"metric source {name!r} is gone")
        found.append(source)
    return Series(
        definition, found[0], found[1] if len(names) > 1 else None, tuple(found[len(names) :])
    )


def _unit_types(series: Series) -> list[str]:
    """The unit types the metric's sources all map, as the first one names them."""
    others = [*([series.denominator_source] if series.denominator_source else [])]
    others += series.step_sources
    return [
        u
        for u in series.source.unit_types
        if all(u.lower() in {o.lower() for o in other.unit_types} for other in others)
    ]


def _signature(series: Series, units: list[str]) -> str:
    """What the stored values depend on besides their day: an incremental reload keeps them
    only when this is unchanged."""
    described: dict[str, Any] = {
        "definition": series.definition,
        "source": series.source.document,
        "unitTypes": units,
    }
    if series.denominator_source is not None:
        described["denominatorSource"] = series.denominator_source.document
    if series.step_sources:
        described["stepSources"] = [source.document for source in series.step_sources]
    return hashlib.sha256(orjson.dumps(described, option=orjson.OPT_SORT_KEYS)).hexdigest()


def make_metric_computation(clock: Clock, open_warehouse: OpenWarehouse | None) -> jobs.Computation:
    """The computation of a metric reload: the daily values of the ``LOADING_WINDOW_DAYS``
    days before the reload's day; an incremental reload only the days after the last stored
    one (all of them when the definition, its source or its unit types changed since)."""

    def compute(session: Session, job: PulseJob, progress: Progress) -> list[ComputedResult]:
        document = metric_service.find_document(session, job.project_id, job.entity_id)
        if document is None or document["type"] != WAREHOUSE_TYPE:
            raise LookupError(f"metric {job.entity_id!r} is gone or no longer warehouse-native")
        definition = document.get("warehouseNative") or {}
        reason = metric_values.unsupported(definition)
        if reason is not None:
            raise LookupError(reason)
        series = _series(session, job.project_id, definition)
        mapped = {u.lower(): u for u in _unit_types(series)}
        units = [mapped[u.lower()] for u in document.get("unitTypes") or [] if u.lower() in mapped]
        units = units or list(mapped.values())
        signature = _signature(series, units)
        now = clock.now_ms()
        last = dt.date.fromisoformat(utc_day(now)) - dt.timedelta(days=1)
        first = last - dt.timedelta(days=metric_values.LOADING_WINDOW_DAYS - 1)
        incremental = jobs.reload_type(job) == "incremental"
        stored = repository.latest_result(session, job.project_id, ENTITY, job.entity_id, view=VIEW)
        if incremental and stored is not None and stored.document.get("signature") == signature:
            first = max(first, dt.date.fromisoformat(stored.ds) + dt.timedelta(days=1))
        else:
            incremental = False
        if first > series.last_complete(last):
            return []
        if open_warehouse is None:
            raise LookupError("this process has no warehouse access for metric reloads")
        progress(10, f"daily values from {first} to {last} for {', '.join(units)}")
        with open_warehouse(session, job.project_id) as warehouse:
            found = metric_values.load(warehouse, series, units, first, last)
        return [
            ComputedResult(
                ds=ds,
                document={
                    "ds": ds,
                    "computedTime": now,
                    "signature": signature,
                    "values": {unit: asdict(value) for unit, value in of_day.items()},
                },
                view=VIEW,
                restates=not incremental,
            )
            for ds, of_day in found.items()
        ]

    return compute
