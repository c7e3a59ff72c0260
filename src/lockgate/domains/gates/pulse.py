"""Pulse on gate rules and metric rollout alerts.

A rule's Pulse compares the units that reached it and passed its rollout with those that reached
it and failed (``lockgate.domains.pulse.monitoring``) on the gate's ``monitoringMetrics``.
``load_pulse`` queues a job (entity type ``gate_rule``, rule id = the rule's ``baseID``, so
history and results survive rollout changes, which give the rule a new ``id``); results are
read from the latest stored sums, never computed by the request. Alerts live in the gate
document under ``alerts`` (``{metricId: {openedTime, resolvedAt, reasoning}}``); ``open_alert``
is what metric monitoring calls when a guardrail moves.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.gates import gate_rules, service
from lockgate.domains.gates.schemas import LoadPulseIn, ResolveAlertIn
from lockgate.domains.pulse import monitoring
from lockgate.domains.pulse import service as pulse_service
from lockgate.errors import InvalidInput, NotFound
from lockgate.kit.actor import Change


def _rule_key(session: Session, project_id: str, gate_id: str, rule_id: str) -> str:
    """The stable key of a rule addressed by id or baseID (404 when the gate has none)."""
    rule = gate_rules.require_rule(service.load(session, project_id, gate_id).document, rule_id)
    return str(rule.get("baseID") or rule["id"])


def load_pulse(session: Session, change: Change, gate_id: str, body: LoadPulseIn) -> None:
    document = service.load(session, change.project_id, gate_id).document
    if not body.rule_id.strip():
        raise InvalidInput.field("ruleId", "is required")
    try:
        rule = gate_rules.require_rule(document, body.rule_id)
    except NotFound:
        raise InvalidInput.field(
            "ruleId", f"gate {gate_id!r} has no rule with id {body.rule_id!r}"
        ) from None
    key = str(rule.get("baseID") or rule["id"])
    pulse_service.load(
        session,
        change,
        monitoring.GATE_RULE,
        gate_id,
        body,
        rule_id=key,
        analysed=pulse_service.analysed_metrics(document, "monitoringMetrics"),
    )


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
    use_cuped = monitoring.bool_text("cuped", cuped)
    level = monitoring.confidence_text(confidence)
    key = _rule_key(session, project_id, gate_id, rule_id)
    return monitoring.monitoring_results(
        session,
        project_id,
        monitoring.GATE_RULE,
        gate_id,
        rule_id=key,
        cuped=use_cuped,
        confidence=level,
        now_ms=now_ms,
    )


def pulse_load_history(
    session: Session, project_id: str, gate_id: str, rule_id: str, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the rule's loads (``PulseLoadHistoryDto``s, newest first) and the total."""
    key = _rule_key(session, project_id, gate_id, rule_id)
    return pulse_service.list_loads(
        session, project_id, monitoring.GATE_RULE, gate_id, rule_id=key, offset=offset, limit=limit
    )


def open_alert(session: Session, change: Change, gate_id: str, metric_id: str) -> Any:
    """Record a metric rollout alert on a gate (called by metric monitoring)."""

    def edit(document: dict[str, Any]) -> None:
        alerts = dict(document.get("alerts") or {})
        alerts[metric_id] = {"openedTime": change.now_ms, "resolvedAt": None, "reasoning": None}
        document["alerts"] = alerts

    return service.apply_edit(
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
    document = service.load(session, change.project_id, gate_id, lock=True).document
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

    service.apply_edit(
        session,
        change,
        gate_id,
        edit,
        action="resolve_guardrail_metric_alert",
        change_log=f"Metric rollout alert resolved for {metric_id}",
    )
    return {"resolvedAt": change.now_ms}
