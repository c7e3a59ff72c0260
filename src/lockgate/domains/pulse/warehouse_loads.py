"""The Pulse load of an experiment bound to a warehouse assignment source: its group sums
computed in the project's warehouse (``warehouse.pipeline``) over its analysis window, stored
as the cumulative and daily views of every day in the shapes ``engine.compute_group_sums``
and ``engine.daily_sums`` give, so ``results`` and ``since_exposure`` answer them unchanged;
and the load's health checks."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import orjson
from sqlalchemy.orm import Session

from lockgate.cores.stats.srm import srm_check
from lockgate.domains.metrics import service as metric_service
from lockgate.domains.metrics.definitions import WAREHOUSE_TYPE, metric_id
from lockgate.domains.pulse import repository
from lockgate.domains.pulse.engine import DAILY_KEYS
from lockgate.domains.pulse.jobs import ComputedResult, Progress
from lockgate.domains.warehouse import funnels, pipeline, sources
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
    shape, gone = _shape(session, project_id, definition)
    if gone is not None:
        entry["unsupported"] = f"metric source {gone!r} is gone"
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
        shape=shape,
    )


def _shape(
    session: Session, project_id: str, definition: dict[str, Any]
) -> tuple[funnels.Shape | None, str | None]:
    """A funnel's or retention's steps (None for the other aggregations), or the name of a
    metric source it reads that is gone."""
    steps = []
    aggregation = definition["aggregation"]
    if aggregation == "funnel":
        read = [
            (s["metricSourceName"], s.get("criteria") or [], s.get("sessionIdentifierField"))
            for s in definition["funnelEvents"]
        ]
    elif aggregation == "retention":
        completion = (definition["metricSourceName"], definition.get("criteria") or [], None)
        start = completion
        if definition.get("useSecondaryRetentionEvent"):
            start = (
                definition.get("denominatorMetricSourceName") or completion[0],
                definition.get("denominatorCriteria") or [],
                None,
            )
        read = [completion, start]
    else:
        return None, None
    for name, criteria, session_column in read:
        source = sources.stored(session, project_id, sources.METRIC, name)
        if source is None:
            return None, name
        steps.append(funnels.Step(source, criteria, session_column))
    if aggregation == "retention":
        return funnels.Retention(
            steps[0], steps[1], definition["retentionEnd"], definition["retentionLength"]
        ), None
    return funnels.Funnel(
        steps,
        strict=bool(definition.get("funnelStrictOrdering")),
        exposure_first=bool(definition.get("funnelUseExposureAsFirstEvent")),
        window_days=definition.get("funnelCalculationWindow"),
        from_exposure=definition.get("funnelStartCriteria") == "exposure",
        time_to_convert=bool(definition.get("funnelTimeToConvert")),
        allowance_ms=int(definition.get("funnelTimestampAllowanceMs") or 0),
    ), None


# The stored rolling views are named this and their window (rolling_7, ...).
ROLLING_VIEW = "rolling_"
# An incremental load computes again the unit-day values from this many days before the last
# day of the previous load (late rows of those days are picked up).
INCREMENTAL_BUFFER_DAYS = 1
# Crossover shares (percent) above which the health check warns and fails: analysis-only
# experiments, and experiments Lockgate assigns.
CROSSOVER_LIMITS = {True: (1.0, 10.0), False: (0.1, 1.0)}
# A source whose latest row is older than this before the analysis end is behind.
BEHIND = dt.timedelta(days=1)


def _midnight(day: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time())


def analysis_window(
    document: dict[str, Any], now_ms: int
) -> tuple[dt.datetime | None, dt.datetime]:
    """The analysis window of a bound experiment (UTC, naive): from ``analysisStartTime``'s
    midnight (None: every exposure) to the earliest of the load's time, the end of
    ``analysisEndTime``'s day and ``fixedAnalysisDuration`` days after the analysis start (or
    the experiment's start)."""
    now = dt.datetime.fromtimestamp(now_ms / 1000, tz=dt.UTC).replace(tzinfo=None)
    start = _midnight(document["analysisStartTime"]) if document.get("analysisStartTime") else None
    end = now
    if document.get("analysisEndTime"):
        end = min(end, _midnight(document["analysisEndTime"]) + dt.timedelta(days=1))
    origin = start
    if origin is None and document.get("startTime"):
        origin = dt.datetime.fromtimestamp(document["startTime"] / 1000, tz=dt.UTC).replace(
            tzinfo=None
        )
    fixed = document.get("fixedAnalysisDuration")
    if fixed and origin is not None:
        end = min(end, origin + dt.timedelta(days=int(fixed)))
    return start, end


def _signature(plan: pipeline.PipelinePlan) -> str:
    """What the staging tables of a load depend on besides its end: an incremental load
    keeps the last one's values only when this is unchanged."""
    described = {
        "source": plan.source.document,
        "experiment": plan.experiment_value,
        "unitType": plan.unit_type,
        "groups": list(plan.groups),
        "start": plan.start.isoformat() if plan.start else None,
        "filters": list(plan.exposure_filters),
        "startDay": plan.start_day.isoformat() if plan.start_day else None,
        "metrics": [_described(m) for m in plan.metrics],
    }
    return hashlib.sha256(orjson.dumps(described, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _described(metric: pipeline.PipelineMetric) -> list[Any]:
    """Everything of a metric its unit-day values (and its winsorization) depend on."""
    parts = [
        [c.aggregation, c.source.document, c.value_column, list(c.criteria), c.rollup, c.cap]
        for _, c in metric.sides()
    ]
    bounds = [metric.bounds, metric.denominator_bounds]
    return [
        metric.aggregation,
        parts,
        [[b.low, b.high] for b in bounds],
        metric.allow_null_denominator,
        metric.percentile,
        metric.shape.described() if metric.shape is not None else None,
    ]


def _resume_day(
    session: Session,
    project_id: str,
    experiment_id: str,
    plan: pipeline.PipelinePlan,
    signature: str,
) -> tuple[dt.date | None, str]:
    """Where an incremental load resumes, or None and why it computes everything."""
    stored = repository.latest_result(session, project_id, "experiment", experiment_id)
    previous = (stored.document if stored is not None else {}).get("warehouse")
    if not previous:
        return None, "no earlier warehouse load of this experiment"
    if previous.get("restatedMetrics"):
        # a metric load computed them in staging tables of their own: the experiment's
        # unit-day values of those metrics are older than their stored results
        return None, "the last load reloaded metrics " + ", ".join(previous["restatedMetrics"])
    if previous.get("signature") != signature:
        return None, "the experiment, its sources or its metrics changed since the last load"
    if dt.datetime.fromisoformat(previous["end"]) > plan.end:
        return None, "the analysis ends before the last load's end"
    last = dt.date.fromisoformat(previous["lastDay"])
    return last - dt.timedelta(days=INCREMENTAL_BUFFER_DAYS), ""


def warehouse_results(
    session: Session,
    project_id: str,
    document: dict[str, Any],
    refs: Sequence[tuple[str, dict[str, Any]]],
    now_ms: int,
    progress: Progress,
    open_warehouse: OpenWarehouse,
    *,
    refresh: str,
    metric_ids: Sequence[str] = (),
    turbo: bool = False,
) -> list[ComputedResult]:
    """The results of a load of an experiment bound to an assignment source, computed in the
    project's warehouse: the cumulative view of the analysis' last day (the load's), of every
    earlier day and the daily view of every day; the first carries the load's health checks
    and what it computed (``job_details``). ``refresh`` ``metric`` restates the metrics of
    ``metric_ids`` alone in the views the last load stored (``_restated``). A ``turbo`` load
    computes the last day's cumulative view alone and keeps the views stored for earlier days
    (docs/warehouse.md §Turbo mode)."""
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
    started = document.get("startTime")
    start, end = analysis_window(document, now_ms)
    start_day = start.date() if start else None
    if start_day is None and started:
        start_day = dt.datetime.fromtimestamp(started / 1000, tz=dt.UTC).date()
    plan = pipeline.PipelinePlan(
        key=pipeline.PipelinePlan.key_of(project_id, document["id"]),
        source=source,
        experiment_value=document["assignmentSourceExperimentName"],
        unit_type=document.get("idType") or "userID",
        groups=[g["name"] for g in document.get("groups") or []],
        end=end,
        metrics=[metric for _, metric in planned],
        start_day=start_day,
        start=start,
        exposure_filters=document.get("assignmentSourceFilters") or [],
        turbo=turbo,
    )
    signature = _signature(plan)
    loaded_as: dict[str, Any] = {"reloadType": "full"}
    if refresh == "metric":
        stored = repository.latest_result(session, project_id, "experiment", document["id"])
        previous = (stored.document if stored is not None else {}).get("warehouse")
        if previous:
            restated = [(e, m) for e, m in planned if e["metricID"] in metric_ids]
            plan = plan.restating(
                [m for _, m in restated], end=dt.datetime.fromisoformat(previous["end"])
            )
            computed = None  # none of them is computed in the warehouse
            if restated:
                with open_warehouse(session, project_id) as warehouse:
                    computed = _run_and_drop(warehouse, plan, progress)
            kept = repository.stored_results(session, project_id, "experiment", document["id"])
            if turbo:
                # the last load's last day alone: the views of earlier days stay as stored
                kept = [k for k in kept if k[0] == "cumulative" and k[2].get("warehouse")]
            return _restated(
                document,
                plan,
                computed,
                [e for e in entries if e["metricID"] in metric_ids],
                restated,
                kept,
            )
        loaded_as["fullBecause"] = "no earlier warehouse load of this experiment"
    if refresh == "incremental":
        resume, why = _resume_day(session, project_id, document["id"], plan, signature)
        if resume is None:
            loaded_as["fullBecause"] = why
        else:
            plan = replace(plan, resume_day=resume)
            loaded_as = {"reloadType": "incremental", "resumeDay": resume.isoformat()}
    with open_warehouse(session, project_id) as warehouse:
        computed = pipeline.run(warehouse, plan, progress)
    _fill(planned, computed)
    groups = [
        {"id": g["id"], "name": g["name"], "size": g.get("size")}
        for g in document.get("groups") or []
    ]
    last_day = plan.last_day.isoformat()
    analysed = {
        "start": start.isoformat(sep=" ") if start else None,
        "end": end.isoformat(sep=" "),
    }
    checks = health_checks(document, plan, computed, [e for e, _ in planned])
    head = {"computedTime": now_ms, "startTime": started, "groups": groups}
    cumulative = {
        "ds": last_day,
        **head,
        "units": computed["units"],
        "crossoverUnits": computed["crossoverUnits"],
        "metrics": entries,
        "analysisWindow": analysed,
        "warehouse": {
            "signature": signature,
            "end": end.isoformat(),
            "lastDay": last_day,
            "turboMode": turbo,
            **loaded_as,
        },
    }
    details = {
        "loadedAs": loaded_as,
        "analysisWindow": analysed,
        "healthChecks": checks,
        "healthCheckStatus": _worst(checks),
    }
    if turbo:
        # the views of earlier days stay as earlier loads stored them; those of the last day
        # (and of later days, outside a narrowed analysis window) go
        return [
            ComputedResult(
                ds=last_day, document=cumulative, job_details=details, restates_from=last_day
            )
        ]
    results = [ComputedResult(ds=last_day, document=cumulative, job_details=details, restates=True)]
    for ds, of_day in computed["days"].items():
        results.append(
            ComputedResult(ds=ds, document=_earlier_day(ds, head, entries, planned, of_day))
        )
    for ds, view in _daily_views(computed, planned, last_day).items():
        results.append(ComputedResult(ds=ds, document={"ds": ds, **head, **view}, view="daily"))
    for ds, window, view in _rolling_views(computed, planned, last_day):
        results.append(
            ComputedResult(
                ds=ds, document={"ds": ds, **head, **view}, view=f"{ROLLING_VIEW}{window}"
            )
        )
    return results


def _run_and_drop(
    warehouse: Warehouse, plan: pipeline.PipelinePlan, progress: Progress
) -> dict[str, Any]:
    """Run a metric load's ``plan`` and drop its staging tables, which no later load reads,
    whether it succeeds or fails (a failure to drop does not hide the load's own error)."""
    try:
        computed = pipeline.run(warehouse, plan, progress)
    except BaseException:
        with contextlib.suppress(Exception):
            pipeline.drop_staging(warehouse, plan)
        raise
    pipeline.drop_staging(warehouse, plan)
    return computed


def _fill(
    planned: Sequence[tuple[dict[str, Any], pipeline.PipelineMetric]], computed: dict[str, Any]
) -> None:
    """Put in each planned metric's result entry what the pipeline computed for the last day."""
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


# What a result entry holds that a load computes (the rest describes the metric).
_COMPUTED_KEYS = ("sums", "cappedSums", "winsorization", "percentile")


def _restated(
    document: dict[str, Any],
    plan: pipeline.PipelinePlan,
    computed: dict[str, Any] | None,
    entries: Sequence[dict[str, Any]],
    restated: list[tuple[dict[str, Any], pipeline.PipelineMetric]],
    kept: Sequence[tuple[str, str, dict[str, Any]]],
) -> list[ComputedResult]:
    """The results of a metric load (docs/warehouse.md §Metric loads): every view the last
    load stored (``kept``: view, day, document), each reloaded metric's entry (``entries``;
    ``restated``: those the pipeline computed, over the last load's analysis window) replaced
    by what it computed, and every other metric's entry left as stored."""
    last_day = plan.last_day.isoformat()
    described = {e["metricID"]: {k: e[k] for k in DAILY_KEYS} for e in entries}
    daily: dict[str, dict[str, Any]] = {}
    rolling: dict[tuple[str, str], dict[str, Any]] = {}
    checks: list[dict[str, Any]] = []
    if computed is not None:
        _fill(restated, computed)
        daily = {
            ds: {m["metricID"]: m for m in view["metrics"]}
            for ds, view in _daily_views(computed, restated, last_day).items()
        }
        rolling = {
            (ds, f"{ROLLING_VIEW}{window}"): {m["metricID"]: m for m in view["metrics"]}
            for ds, window, view in _rolling_views(computed, restated, last_day)
        }
        checks = health_checks(document, plan, computed, [e for e, _ in restated])
    results = []
    for view, ds, stored in kept:
        merged = dict(stored)
        details = None
        if view == "cumulative" and stored.get("warehouse"):
            replacement = {e["metricID"]: e for e in entries}
            merged["warehouse"] = {**stored["warehouse"], "restatedMetrics": list(replacement)}
            details = {
                "loadedAs": {"reloadType": "metric", "metricIDs": list(replacement)},
                "healthChecks": checks,
                "healthCheckStatus": _worst(checks),
            }
        elif view == "cumulative":
            of_day = computed["days"].get(ds) if computed is not None else None
            replacement = {}
            for j, (entry, metric) in enumerate(restated):
                copied = {k: v for k, v in entry.items() if k not in _COMPUTED_KEYS}
                if of_day is not None and metric.unit_level:
                    copied["sums"] = of_day["sums"][j]
                replacement[entry["metricID"]] = copied
            for entry in entries:
                replacement.setdefault(
                    entry["metricID"], {k: v for k, v in entry.items() if k not in _COMPUTED_KEYS}
                )
        else:
            found = (daily.get(ds) if view == "daily" else rolling.get((ds, view))) or {}
            empty: dict[str, Any] = {"sums": {}}
            if view == "daily":
                empty["cohorts"] = {}
            replacement = {i: found.get(i) or {**d, **empty} for i, d in described.items()}
        merged["metrics"] = _merged(stored.get("metrics") or [], replacement)
        results.append(ComputedResult(ds=ds, document=merged, view=view, job_details=details))
    return results


def _merged(
    metrics: Sequence[dict[str, Any]], replacement: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """``metrics`` with the entries of ``replacement``'s ids replaced (appended when absent)."""
    present = {m.get("metricID") for m in metrics}
    return [replacement.get(m.get("metricID") or "", m) for m in metrics] + [
        entry for i, entry in replacement.items() if i not in present
    ]


def _earlier_day(
    ds: str,
    head: dict[str, Any],
    entries: list[dict[str, Any]],
    planned: list[tuple[dict[str, Any], pipeline.PipelineMetric]],
    of_day: dict[str, Any],
) -> dict[str, Any]:
    """An earlier day's cumulative view: its units and sums (not winsorized)."""
    sums_of = {id(entry): sums for (entry, _), sums in zip(planned, of_day["sums"], strict=True)}
    metrics = []
    for entry in entries:
        copied = {
            k: v
            for k, v in entry.items()
            if k not in ("sums", "cappedSums", "winsorization", "percentile")
        }
        if id(entry) in sums_of:
            copied["sums"] = sums_of[id(entry)]
        metrics.append(copied)
    return {"ds": ds, **head, "units": of_day["units"], "metrics": metrics}


def _exposed_by_day(
    new_units: dict[str, dict[str, int]], last_day: str
) -> list[tuple[str, dict[str, int]]]:
    """Every day from the first exposure to the last day, with the units per group exposed
    by its end."""
    if not new_units:
        return []
    first, last = dt.date.fromisoformat(min(new_units)), dt.date.fromisoformat(last_day)
    exposed: dict[str, int] = {}
    days = []
    for offset in range((last - first).days + 1):
        ds = (first + dt.timedelta(days=offset)).isoformat()
        for group, count in new_units.get(ds, {}).items():
            exposed[group] = exposed.get(group, 0) + count
        days.append((ds, dict(exposed)))
    return days


def _period_sums(
    sums: dict[str, dict[str, float]], metric: pipeline.PipelineMetric, exposed: dict[str, int]
) -> dict[str, dict[str, float]]:
    """A period's sums of one metric as the daily view keeps them: a mean metric over every
    exposed unit (0 where it had no row), a ratio over the units with a denominator; a
    percentile metric has none (only the last day's cumulative view has its estimates)."""
    if not metric.unit_level:
        return {}
    if metric.ratio:
        return sums
    return {
        group: {**sums.get(group, {"sx": 0.0, "sxx": 0.0}), "n": float(count)}
        for group, count in exposed.items()
    }


def _daily_views(
    computed: dict[str, Any],
    planned: list[tuple[dict[str, Any], pipeline.PipelineMetric]],
    last_day: str,
) -> dict[str, dict[str, Any]]:
    """The daily view of every day from the first exposure to the last day, as
    ``engine.daily_sums`` stores Lockgate's own: ``units`` exposed by the day's end,
    ``newUnits``, and per metric its ``sums`` and ``cohorts``."""
    views: dict[str, dict[str, Any]] = {}
    for ds, exposed in _exposed_by_day(computed["newUnits"], last_day):
        of_day = computed["daily"].get(ds)
        metrics = [
            {
                **{key: entry[key] for key in DAILY_KEYS},
                "sums": _period_sums(of_day["sums"][i] if of_day else {}, metric, exposed),
                "cohorts": of_day["cohorts"][i] if of_day else {},
            }
            for i, (entry, metric) in enumerate(planned)
        ]
        views[ds] = {
            "units": exposed,
            "newUnits": dict(computed["newUnits"].get(ds, {})),
            "metrics": metrics,
        }
    return views


def _rolling_views(
    computed: dict[str, Any],
    planned: list[tuple[dict[str, Any], pipeline.PipelineMetric]],
    last_day: str,
) -> list[tuple[str, int, dict[str, Any]]]:
    """(day, window, view) of the rolling views: each unit's values over the window's days
    ending with that day, over the units exposed by its end, as the daily view keeps its."""
    views = []
    for window, by_day in computed["rolling"].items():
        for ds, exposed in _exposed_by_day(computed["newUnits"], last_day):
            of_day = by_day.get(ds)
            metrics = [
                {
                    **{key: entry[key] for key in DAILY_KEYS},
                    "sums": _period_sums(of_day[i] if of_day else {}, metric, exposed),
                }
                for i, (entry, metric) in enumerate(planned)
            ]
            views.append((ds, window, {"units": exposed, "window": window, "metrics": metrics}))
    return views


_ORDER = {"PASSED": 0, "WAITING": 1, "WARNING": 2, "FAILED": 3}


def _worst(checks: Sequence[dict[str, Any]]) -> str:
    return max((c["status"] for c in checks), key=_ORDER.__getitem__, default="PASSED")


def _check(kind: str, name: str, status: str, description: str, **metadata: Any) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "status": status,
        "type": kind,
        "metadata": {"type": kind, **metadata},
    }


def _behind(latest: str | None, end: dt.datetime) -> bool:
    return latest is None or dt.datetime.fromisoformat(latest) < end - BEHIND


def health_checks(
    document: dict[str, Any],
    plan: pipeline.PipelinePlan,
    computed: dict[str, Any],
    metric_entries: Sequence[dict[str, Any]],
) -> list[dict[str, Any]]:
    """The health checks of a load (docs/warehouse.md §Health checks): exposures found,
    exposures balanced (sample ratio mismatch), crossover units, exposures and metric sources
    up to date."""
    units: dict[str, int] = computed["units"]
    total = sum(units.values())
    source = document["assignmentSourceName"]
    checks = [
        _check(
            "has_exposures",
            "Exposures found",
            "PASSED" if total else "FAILED",
            f"{total} units exposed within the analysis window"
            if total
            else f"No exposure of {plan.experiment_value!r} in assignment source {source!r} "
            "within the analysis window",
            assignmentSourceName=source,
        )
    ]
    groups = document.get("groups") or []
    srm = srm_check(
        [units.get(g["name"], 0) for g in groups], [float(g.get("size") or 0) for g in groups]
    )
    checks.append(srm.to_health_check() | {"metadata": {"type": "has_balanced_exposures"}})
    crossovers = computed["crossoverUnits"]
    percent = 100.0 * crossovers / (crossovers + total) if crossovers + total else 0.0
    warn, fail = CROSSOVER_LIMITS[bool(document.get("isAnalysisOnly"))]
    status = "FAILED" if percent > fail else "WARNING" if percent > warn else "PASSED"
    checks.append(
        _check(
            "has_crossover",
            "Crossover units",
            status,
            f"{crossovers} units were seen in more than one group ({percent:.2f}%); they are "
            "left out of the results",
            crossoverPercent=percent,
        )
    )
    _, latest = computed["freshness"]["exposures"]
    checks.append(
        _check(
            "exposures_data_is_behind",
            "Exposures are up to date",
            "WARNING" if _behind(latest, plan.end) else "PASSED",
            f"Latest exposure {latest or 'none'}; the analysis ends {plan.end.isoformat(sep=' ')}",
            assignmentSourceName=source,
        )
    )
    spans = computed["freshness"]["metricSources"]
    listed = [
        {
            "metric_name": entry["metricName"],
            "earliest_date": spans[metric.source.name][0] or "",
            "latest_date": spans[metric.source.name][1] or "",
        }
        for entry, metric in zip(metric_entries, plan.metrics, strict=True)
    ]
    behind = sorted(name for name, span in spans.items() if _behind(span[1], plan.end))
    checks.append(
        _check(
            "user_metrics_exist",
            "Metric sources are up to date",
            "WARNING" if behind else "PASSED",
            f"Metric sources without rows in the day before the analysis end: {', '.join(behind)}"
            if behind
            else "Every metric source has rows in the day before the analysis end",
            metrics=listed,
        )
    )
    return checks
