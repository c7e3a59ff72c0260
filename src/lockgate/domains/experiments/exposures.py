"""What Lockgate observes of experiments through logged exposures: health checks, cumulative
exposures, exposure counts, and the Pulse and alert answers made from the data that exists.

Health checks follow the five Statsig shows (the seed `List Experiments` example): exposure
checks seen, unit type seen, event metric data seen, Pulse metrics available (the latest stored
Pulse result has a metric with units in every group), and exposure balance
(``lockgate.cores.stats.srm`` with Statsig's thresholds).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from lockgate.cores.stats.srm import HEALTH_CHECK_TYPE, srm_check
from lockgate.domains.entities import service as entities
from lockgate.domains.experiments import repository, service
from lockgate.domains.experiments.repository import ExposureSummary
from lockgate.domains.experiments.schemas import ResolveAlertIn
from lockgate.domains.metrics.sql import DAY_MS
from lockgate.errors import InvalidInput, NotFound
from lockgate.kit.actor import Change

MAX_IDS = 25
_ORDER = ("FAILED", "WARNING", "WAITING", "PASSED")


def _check(name: str, status: str, description: str, kind: str) -> dict[str, Any]:
    return {"name": name, "status": status, "description": description, "type": kind}


def _unit_checks(summary: ExposureSummary, id_type: str) -> list[dict[str, Any]]:
    if summary.exposures == 0:
        return [
            _check(
                "Checks not yet detected",
                "WAITING",
                "This experiment has not recorded any exposure checks in production yet.",
                "has_checks",
            ),
            _check(
                "Valid unit type not yet verified",
                "WAITING",
                "Exposure checks for this experiment are pending evaluation. This experiment "
                f"requires exposure checks with unit IDs of type {id_type}",
                "has_valid_unit_type",
            ),
        ]
    checks = [
        _check(
            "Checks detected",
            "PASSED",
            f"This experiment has recorded {summary.exposures} exposure checks.",
            "has_checks",
        )
    ]
    if summary.with_unit:
        checks.append(
            _check(
                "Valid unit type",
                "PASSED",
                f"{summary.with_unit} of {summary.exposures} exposure checks carry a unit ID "
                f"of type {id_type}.",
                "has_valid_unit_type",
            )
        )
    else:
        checks.append(
            _check(
                "Invalid unit type",
                "FAILED",
                f"None of the {summary.exposures} exposure checks carries a unit ID of type "
                f"{id_type}, which this experiment requires.",
                "has_valid_unit_type",
            )
        )
    return checks


def _balance_check(document: dict[str, Any], summary: ExposureSummary) -> dict[str, Any]:
    groups = [g for g in document["groups"] if not g.get("disabled") and g["size"] > 0]
    units = [summary.units_by_rule.get(g["id"], 0) for g in groups]
    if sum(units) == 0:
        return _check(
            "Exposure balance not yet verified",
            "WAITING",
            "Exposure balance for this experiment is pending evaluation. As the experiment "
            "records more exposures, Statsig will continue to evaluate experiment exposure "
            "balance.",
            HEALTH_CHECK_TYPE,
        )
    return srm_check(units, [g["size"] for g in groups]).to_health_check()


def _pulse_ready(pulse: dict[str, Any] | None) -> bool:
    """Some metric of the stored result has units in every group the result assigned."""
    if not pulse:
        return False
    groups = [g["name"] for g in pulse.get("groups") or []]
    if not groups:
        return False
    for metric in pulse.get("metrics") or []:
        sums = metric.get("sums") or {}
        if all((sums.get(name) or {}).get("n", 0) > 0 for name in groups):
            return True
    return False


def _pulse_check(pulse: dict[str, Any] | None) -> dict[str, Any]:
    if pulse is not None and _pulse_ready(pulse):
        return _check(
            "Pulse metrics available",
            "PASSED",
            f"Pulse results were computed on {pulse.get('ds')}, with metric data in every group.",
            "has_pulse_metrics",
        )
    return _check(
        "Pulse metrics not yet available",
        "WAITING",
        "Expect to see your Pulse Results within 24 hours. Statsig computes Pulse results "
        "on a daily basis.",
        "has_pulse_metrics",
    )


def _health(
    session: Session,
    project_id: str,
    document: dict[str, Any],
    summary: ExposureSummary,
    pulse: dict[str, Any] | None,
) -> dict[str, Any]:
    if document.get("startTime") is None:
        return {"healthChecks": [], "healthCheckStatus": "PASSED"}
    id_type = document["idType"]
    checks = _unit_checks(summary, id_type)
    if repository.has_events_with_unit(session, project_id, id_type, document["startTime"]):
        checks.append(
            _check(
                "Event metric data verified",
                "PASSED",
                f"Events with unit IDs of type {id_type} were logged since the start.",
                "has_event_metrics",
            )
        )
    else:
        checks.append(
            _check(
                "Event metric data not yet verified",
                "WAITING",
                "This experiment has recorded no event metric with a valid unit ID yet, or "
                "these event metrics are pending evaluation. If you are importing events, this "
                "may take up to a day to reflect. This experiment requires metrics with unit "
                f"IDs of type {id_type}",
                "has_event_metrics",
            )
        )
    checks.append(_pulse_check(pulse))
    checks.append(_balance_check(document, summary))
    status = next(s for s in _ORDER if any(c["status"] == s for c in checks) or s == "PASSED")
    return {"healthChecks": checks, "healthCheckStatus": status}


def health_of(
    session: Session, project_id: str, documents: Sequence[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Health of each experiment, with one pair of aggregate queries per unit type."""
    by_type: dict[str, list[str]] = {}
    for document in documents:
        if document.get("startTime") is not None:
            by_type.setdefault(document["idType"], []).append(document["id"])
    summaries: dict[str, ExposureSummary] = {}
    for id_type, ids in by_type.items():
        summaries.update(repository.exposure_summaries(session, project_id, id_type, ids))
    started = [i for ids in by_type.values() for i in ids]
    pulse = repository.latest_pulse_documents(session, project_id, started)
    empty = ExposureSummary(0, 0, {})
    return {
        d["id"]: _health(session, project_id, d, summaries.get(d["id"], empty), pulse.get(d["id"]))
        for d in documents
    }


def _day(day_number: int) -> str:
    return datetime.fromtimestamp(day_number * DAY_MS / 1000, tz=UTC).strftime("%Y-%m-%d")


def cumulative_exposures(
    session: Session, project_id: str, experiment_id: str
) -> list[dict[str, Any]]:
    """Per group, the running count of distinct units by the day of their first exposure."""
    document = service.load_experiment(session, project_id, experiment_id).document
    groups = document["groups"]
    rows = repository.first_exposures_by_day(
        session, project_id, experiment_id, document["idType"], [g["id"] for g in groups]
    )
    days = sorted({day for _, day, _ in rows})
    new_units = {(rule_id, day): count for rule_id, day, count in rows}
    result = []
    for group in groups:
        running = 0
        results = []
        for day in range(days[0], days[-1] + 1) if days else ():
            running += new_units.get((group["id"], day), 0)
            results.append({"date": _day(day), "exposures": running})
        result.append({"groupID": group["id"], "groupName": group["name"], "results": results})
    return result


def _ids(values: Sequence[str], name: str) -> list[str]:
    ids = list(dict.fromkeys(v for value in values for v in value.split(",") if v))
    if len(ids) > MAX_IDS:
        raise InvalidInput(f"Invalid request. {name}: at most {MAX_IDS} ids, got {len(ids)}")
    return ids


def exposure_count(
    session: Session,
    project_id: str,
    now_ms: int,
    *,
    experiments: Sequence[str],
    gates: Sequence[str],
    dynamic_configs: Sequence[str],
) -> dict[str, Any]:
    wanted = {
        "gates": ("gate", _ids(gates, "gates")),
        "experiments": ("config", _ids(experiments, "experiments")),
        "dynamicConfigs": ("config", _ids(dynamic_configs, "dynamicConfigs")),
    }
    if not any(ids for _, ids in wanted.values()):
        raise InvalidInput(
            "Invalid request. Name at least one id in gates, experiments or dynamicConfigs"
        )
    answer: dict[str, Any] = {}
    for key, (kind, ids) in wanted.items():
        counts = repository.exposure_counts(session, project_id, kind, ids, now_ms)
        answer[key] = [
            {"id": i, "pastDay": counts.get(i, (0, 0))[0], "past7Days": counts.get(i, (0, 0))[1]}
            for i in ids
        ]
    return answer


# -- Pulse and alerts ------------------------------------------------------------------------


def open_alert(session: Session, change: Change, experiment_id: str, metric_id: str) -> None:
    """Record a metric rollout alert on an experiment (called by metric monitoring)."""
    row = service.load_experiment(session, change.project_id, experiment_id, lock=True)
    document = entities.editable(row)
    alerts = dict(document.get("alerts") or {})
    alerts[metric_id] = {"openedTime": change.now_ms, "resolvedAt": None, "reasoning": None}
    document["alerts"] = alerts
    service.save(
        session,
        change,
        row,
        document,
        "create_guardrail_metric_alert",
        f"Metric rollout alert opened for {metric_id}",
    )


def resolve_alert(
    session: Session, change: Change, experiment_id: str, metric_id: str, body: ResolveAlertIn
) -> dict[str, Any]:
    row = service.load_experiment(session, change.project_id, experiment_id, lock=True)
    alert = (row.document.get("alerts") or {}).get(metric_id)
    if alert is None:
        raise NotFound(
            f"No metric rollout alert for metric {metric_id!r} on experiment "
            f"{experiment_id!r}: this experiment has no open alert for that metric."
        )
    if alert.get("resolvedAt") is not None:
        return {"resolvedAt": alert["resolvedAt"]}
    document = entities.editable(row)
    document["alerts"][metric_id].update(resolvedAt=change.now_ms, reasoning=body.reasoning)
    service.save(
        session,
        change,
        row,
        document,
        "resolve_guardrail_metric_alert",
        f"Metric rollout alert resolved for {metric_id}",
    )
    return {"resolvedAt": change.now_ms}
