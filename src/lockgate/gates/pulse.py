"""Pulse on gate rules and metric rollout alerts, answered from the data that exists.

Until the Pulse pipeline computes gate results, a rule's results are an empty metric list for
today and its load history is empty. Alerts live in the gate document under ``alerts``
(``{metricId: {openedTime, resolvedAt, reasoning}}``); ``open_alert`` is what metric monitoring
calls when a guardrail moves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from lockgate.console.errors import BadRequest, NotFound
from lockgate.gates import gate_rules, service
from lockgate.gates.schemas import LoadPulseIn, ResolveAlertIn
from lockgate.kit.actor import Change


def _checked_rule(session: Session, project_id: str, gate_id: str, rule_id: str) -> None:
    gate_rules.require_rule(service.load_gate(session, project_id, gate_id).document, rule_id)


def load_pulse(session: Session, project_id: str, gate_id: str, body: LoadPulseIn) -> None:
    document = service.load_gate(session, project_id, gate_id).document
    if not body.rule_id.strip():
        raise BadRequest("Invalid request. ruleId: is required")
    try:
        gate_rules.require_rule(document, body.rule_id)
    except NotFound:
        raise BadRequest(
            f"Invalid request. ruleId: gate {gate_id!r} has no rule with id {body.rule_id!r}"
        ) from None


def _bool_text(name: str, value: str | None) -> bool | None:
    if value is None:
        return None
    if value not in ("true", "false"):
        raise BadRequest(f'Invalid request. {name}: must be "true" or "false", got {value!r}')
    return value == "true"


def _confidence(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise BadRequest(
            f"Invalid request. confidence: must be a number from 0 to 100, got {value!r}"
        ) from None
    if not 0 < number < 100:
        raise BadRequest(
            f"Invalid request. confidence: must be between 0 and 100 (exclusive), got {value!r}"
        )
    return number


def pulse_results(
    session: Session,
    project_id: str,
    gate_id: str,
    rule_id: str,
    *,
    cuped: str | None,
    confidence: str | None,
    now_ms: int,
) -> dict[str, Any]:
    _bool_text("cuped", cuped)
    _confidence(confidence)
    _checked_rule(session, project_id, gate_id, rule_id)
    day = datetime.fromtimestamp(now_ms / 1000, tz=UTC).strftime("%Y-%m-%d")
    # No monitored metric has results yet: the list is empty, not invented.
    return {"ds": day, "monitoringMetrics": []}


def pulse_load_history(
    session: Session, project_id: str, gate_id: str, rule_id: str
) -> list[dict[str, Any]]:
    _checked_rule(session, project_id, gate_id, rule_id)
    return []


def open_alert(session: Session, change: Change, gate_id: str, metric_id: str) -> Any:
    """Record a metric rollout alert on a gate (called by metric monitoring)."""

    def edit(document: dict[str, Any]) -> None:
        alerts = dict(document.get("alerts") or {})
        alerts[metric_id] = {"openedTime": change.now_ms, "resolvedAt": None, "reasoning": None}
        document["alerts"] = alerts

    return service.modify(
        session,
        change,
        gate_id,
        edit,
        action="create_guardrail_metric_alert",
        change_log=f"Metric rollout alert opened for {metric_id}",
    )


def resolve_alert(
    session: Session, change: Change, gate_id: str, metric_id: str, body: ResolveAlertIn
) -> dict[str, Any]:
    document = service.load_gate(session, change.project_id, gate_id, lock=True).document
    alert = (document.get("alerts") or {}).get(metric_id)
    if alert is None:
        raise NotFound(
            f"No metric rollout alert for metric {metric_id!r} on gate {gate_id!r}: "
            "this gate has no open alert for that metric."
        )
    if alert.get("resolvedAt") is not None:
        return {"resolvedAt": alert["resolvedAt"]}

    def edit(doc: dict[str, Any]) -> None:
        alerts = dict(doc["alerts"])
        alerts[metric_id] = {**alerts[metric_id], "resolvedAt": change.now_ms}
        alerts[metric_id]["reasoning"] = body.reasoning
        doc["alerts"] = alerts

    service.modify(
        session,
        change,
        gate_id,
        edit,
        action="resolve_guardrail_metric_alert",
        change_log=f"Metric rollout alert resolved for {metric_id}",
    )
    return {"resolvedAt": change.now_ms}
