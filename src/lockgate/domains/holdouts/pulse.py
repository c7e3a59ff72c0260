"""Holdout Pulse results: held-out units against the units the holdout let through, on the
holdout's ``monitoringMetrics`` (``lockgate.domains.pulse.monitoring`` says how units are assigned).

Holdouts have no load endpoint: their sums are computed by the daily schedule (every enabled
holdout, ``lockgate.domains.pulse.service.schedule_daily``) or by ``load`` (for operators and
tests). A results request only reads the latest stored sums; before any load it answers an empty
metric list for today.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.holdouts import service
from lockgate.domains.pulse import monitoring
from lockgate.domains.pulse import service as pulse_service
from lockgate.kit.actor import Change


def load(session: Session, change: Change, holdout_id: str) -> None:
    """Queue a full load of one holdout's Pulse."""
    service.load(session, change.project_id, holdout_id)
    pulse_service.load(session, change, monitoring.HOLDOUT, holdout_id, None)


def pulse_results(
    session: Session,
    project_id: str,
    holdout_id: str,
    *,
    cuped: str | None,
    confidence: str | None,
    now_ms: int,
) -> dict[str, Any]:
    use_cuped = monitoring.bool_text("cuped", cuped)
    level = monitoring.confidence_text(confidence)
    service.load(session, project_id, holdout_id)
    return monitoring.monitoring_results(
        session,
        project_id,
        monitoring.HOLDOUT,
        holdout_id,
        cuped=use_cuped,
        confidence=level,
        now_ms=now_ms,
    )
