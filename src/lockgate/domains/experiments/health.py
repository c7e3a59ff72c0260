"""The health checks of started experiments, computed from logged exposures and events.

They follow the five Statsig shows (the seed `List Experiments` example): exposure checks
seen, unit type seen, event metric data seen, Pulse metrics available (the latest stored Pulse
result has a metric with units in every group), and exposure balance
(``lockgate.cores.stats.srm`` with Statsig's thresholds).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from lockgate.cores.stats.srm import HEALTH_CHECK_TYPE, srm_check
from lockgate.domains.experiments import repository
from lockgate.domains.experiments.repository import ExposureSummary

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
