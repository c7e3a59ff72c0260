"""Holdout Pulse results, answered from the data that exists (as gate rules answer theirs).

Until the Pulse pipeline computes holdout results, a holdout's results are an empty metric list
for today: nothing is invented.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from lockgate.gates.pulse import _bool_text, _confidence
from lockgate.holdouts import service


def pulse_results(
    session: Session,
    project_id: str,
    holdout_id: str,
    *,
    cuped: str | None,
    confidence: str | None,
    now_ms: int,
) -> dict[str, Any]:
    _bool_text("cuped", cuped)
    _confidence(confidence)
    service.load_holdout(session, project_id, holdout_id)
    day = datetime.fromtimestamp(now_ms / 1000, tz=UTC).strftime("%Y-%m-%d")
    return {"ds": day, "monitoringMetrics": []}
