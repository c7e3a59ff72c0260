"""The Pulse load of an experiment bound to a warehouse assignment source: its group sums
computed in the project's warehouse (``warehouse.pipeline``), stored as the day's cumulative
view in the shape ``engine.compute_group_sums`` gives, so ``results`` answers it unchanged."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.metrics import service as metric_service
from lockgate.domains.metrics.definitions import WAREHOUSE_TYPE, metric_id
from lockgate.domains.pulse.jobs import Progress
from lockgate.domains.warehouse import pipeline, sources
from lockgate.domains.warehouse.adapters import Warehouse
from lockgate.errors import InvalidInput

# Opens (not yet connected) the warehouse of a project.
OpenWarehouse = Callable[[Session, str], Warehouse]


def is_bound(document: dict[str, Any]) -> bool:
    """Whether an experiment's results come from its warehouse assignment source."""
    return bool(document.get("assignmentSourceName"))


def _metric(
    session: Session, project_id: str, role: str, ref: dict[str, Any]
) -> tuple[dict[str, Any], pipeline.PipelineMetric | None]:
    """The result entry of one experiment metric and, when the pipeline computes it, its plan."""
    id_ = metric_id(ref["name"], ref["type"])
    document = metric_service.find_document(session, project_id, id_) or {}
    definition = document.get("warehouseNative") or {}
    ratio = definition.get("aggregation") in pipeline.RATIO_AGGREGATIONS
    entry: dict[str, Any] = {
        "metricID": id_,
        "metricName": document.get("name") or ref["name"],
        "type": ref["type"],
        "directionality": document.get("directionality") or "increase",
        "role": role,
        "ratio": ratio,
    }
    if document.get("type") != WAREHOUSE_TYPE:
        entry["unsupported"] = (
            "only warehouse-native metrics (type 'user_warehouse') are computed for an "
            "experiment bound to an assignment source"
        )
        return entry, None
    source = sources.stored(session, project_id, sources.METRIC, definition["metricSourceName"])
    if source is None:
        entry["unsupported"] = f"metric source {definition['metricSourceName']!r} is gone"
        return entry, None
    denominator = None
    if definition["aggregation"] == "ratio":
        name = definition.get("denominatorMetricSourceName") or source.name
        denominator_source = sources.stored(session, project_id, sources.METRIC, name)
        if denominator_source is None:
            entry["unsupported"] = f"metric source {name!r} is gone"
            return entry, None
        denominator = pipeline.PipelineComponent(
            aggregation=definition["denominatorAggregation"],
            source=denominator_source,
            value_column=definition.get("denominatorValueColumn"),
            criteria=definition.get("denominatorCriteria") or [],
            rollup=definition.get("denominatorRollupTimeWindow"),
        )
    return entry, pipeline.PipelineMetric(
        aggregation=definition["aggregation"],
        source=source,
        value_column=definition.get("valueColumn"),
        criteria=definition.get("criteria") or [],
        winsorize_high=definition.get("winsorizationHigh"),
        winsorize_low=definition.get("winsorizationLow"),
        rollup=definition.get("rollupTimeWindow"),
        cap=definition.get("cap"),
        numerator_aggregation=definition.get("numeratorAggregation"),
        denominator=denominator,
        denominator_bounds=pipeline.Bounds(
            definition.get("winsorizationLowDenominator"),
            definition.get("winsorizationHighDenominator"),
        ),
        allow_null_denominator=bool(definition.get("allowNullRatioDenominator")),
        percentile=definition.get("percentile"),
    )


def warehouse_group_sums(
    session: Session,
    project_id: str,
    document: dict[str, Any],
    refs: Sequence[tuple[str, dict[str, Any]]],
    now_ms: int,
    progress: Progress,
    open_warehouse: OpenWarehouse,
) -> dict[str, Any]:
    """``units``, ``crossoverUnits`` and ``metrics`` (with their ``sums``) of an experiment
    bound to an assignment source, computed in the project's warehouse."""
    name = document["assignmentSourceName"]
    source = sources.stored(session, project_id, sources.ASSIGNMENT, name)
    if source is None:
        raise InvalidInput.because(f"Assignment source {name!r} does not exist anymore")
    entries: list[dict[str, Any]] = []
    planned: list[tuple[dict[str, Any], pipeline.PipelineMetric]] = []
    for role, ref in refs:
        entry, metric = _metric(session, project_id, role, ref)
        entries.append(entry)
        if metric is not None:
            planned.append((entry, metric))
    start = document.get("startTime")
    plan = pipeline.PipelinePlan(
        key=pipeline.PipelinePlan.key_of(project_id, document["id"]),
        source=source,
        experiment_value=document["assignmentSourceExperimentName"],
        unit_type=document.get("idType") or "userID",
        groups=[g["name"] for g in document.get("groups") or []],
        end=dt.datetime.fromtimestamp(now_ms / 1000, tz=dt.UTC).replace(tzinfo=None),
        metrics=[metric for _, metric in planned],
        start_day=dt.datetime.fromtimestamp(start / 1000, tz=dt.UTC).date() if start else None,
    )
    with open_warehouse(session, project_id) as warehouse:
        computed = pipeline.run(warehouse, plan, progress)
    for (entry, _), sums, winsorization, capped, percentile in zip(
        planned,
        computed["sums"],
        computed["winsorization"],
        computed["cappedSums"],
        computed["percentiles"],
        strict=True,
    ):
        entry["sums"] = sums
        if percentile is not None:
            # a percentile metric has no unit sums: results read its per-group estimates
            entry["percentile"] = percentile
        if winsorization is not None:
            # as Pulse stores a winsorized metric: results read the capped sums by default
            entry["winsorization"] = winsorization
        if capped is not None:
            entry["cappedSums"] = capped
    return {
        "units": computed["units"],
        "crossoverUnits": computed["crossoverUnits"],
        "metrics": entries,
    }
