"""What Lockgate observes of experiments through logged exposures: cumulative exposures and
exposure counts, and the metric rollout alerts monitoring opens (health checks: ``health.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.entities import service as entities
from lockgate.domains.events import incoming
from lockgate.domains.experiments import documents, repository
from lockgate.domains.experiments.schemas import ResolveAlertIn
from lockgate.domains.metrics.sql import DAY_MS
from lockgate.errors import InvalidInput, NotFound
from lockgate.kit.actor import Change

MAX_IDS = 25


def _day(day_number: int) -> str:
    return datetime.fromtimestamp(day_number * DAY_MS / 1000, tz=UTC).strftime("%Y-%m-%d")


def cumulative_exposures(
    session: Session, project_id: str, experiment_id: str
) -> list[dict[str, Any]]:
    """Per group, the running count of distinct units by the day of their first exposure."""
    incoming.settle_before(session)
    document = documents.load(session, project_id, experiment_id).document
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


def recent(
    session: Session, project_id: str, experiment_id: str, *, limit: int
) -> tuple[str, list[dict[str, Any]]]:
    """The experiment's ID type, and its newest exposures, newest first: time, the unit of that
    type, and the group it was given (its name now, else the name logged with it)."""
    incoming.settle_before(session)
    document = documents.load(session, project_id, experiment_id).document
    names = {g["id"]: g["name"] for g in document["groups"]}
    rows = repository.recent_exposures(
        session, project_id, experiment_id, document["idType"], limit=limit
    )
    return document["idType"], [
        {
            "time": time,
            "unitID": unit or "",
            "groupID": rule_id or "",
            "groupName": names.get(rule_id or "") or group_name or "",
        }
        for time, unit, rule_id, group_name in rows
    ]


def _ids(values: Sequence[str], name: str) -> list[str]:
    ids = list(dict.fromkeys(v for value in values for v in value.split(",") if v))
    if len(ids) > MAX_IDS:
        raise InvalidInput.field(name, f"at most {MAX_IDS} ids, got {len(ids)}", location="query")
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
    incoming.settle_before(session)
    wanted = {
        "gates": ("gate", _ids(gates, "gates")),
        "experiments": ("config", _ids(experiments, "experiments")),
        "dynamicConfigs": ("config", _ids(dynamic_configs, "dynamicConfigs")),
    }
    if not any(ids for _, ids in wanted.values()):
        raise InvalidInput.because("Name at least one id in gates, experiments or dynamicConfigs")
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
    row = documents.load(session, change.project_id, experiment_id, lock=True)
    document = entities.editable(row)
    alerts = dict(document.get("alerts") or {})
    alerts[metric_id] = {"openedTime": change.now_ms, "resolvedAt": None, "reasoning": None}
    document["alerts"] = alerts
    documents.save_document(
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
    row = documents.load(session, change.project_id, experiment_id, lock=True)
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
    documents.save_document(
        session,
        change,
        row,
        document,
        "resolve_guardrail_metric_alert",
        f"Metric rollout alert resolved for {metric_id}",
    )
    return {"resolvedAt": change.now_ms}
