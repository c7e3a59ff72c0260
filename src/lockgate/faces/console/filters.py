"""The experiment list filters of the query string, shared by every route that lists
experiments (``GET /experiments`` and the metric lineage ``GET /metrics/{id}/experiments``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi import Request

from lockgate.domains.experiments.repository import ExperimentFilter
from lockgate.errors import InvalidInput
from lockgate.faces.console.envelope import multi_value


def _day_ms(name: str, value: str | None, *, next_day: bool = False) -> int | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput.field(
            name, f"must be YYYY-MM-DD, got {value!r}", location="query"
        ) from None
    if next_day:
        day += timedelta(days=1)
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def experiment_filter(
    request: Request,
    layerID: str | None = None,
    teamID: str | None = None,
    targetAppID: str | None = None,
    createdStartDate: str | None = None,
    createdEndDate: str | None = None,
    creatorName: str | None = None,
    creatorID: str | None = None,
) -> ExperimentFilter:
    """A FastAPI dependency; ``idType``, ``status`` and ``tags`` may repeat."""
    return ExperimentFilter(
        layer_id=layerID,
        id_types=tuple(multi_value(request, "idType")),
        team_id=teamID,
        statuses=tuple(multi_value(request, "status")),
        target_app_id=targetAppID,
        created_from_ms=_day_ms("createdStartDate", createdStartDate),
        created_before_ms=_day_ms("createdEndDate", createdEndDate, next_day=True),
        creator_name=creatorName,
        creator_id=creatorID,
        tags=tuple(multi_value(request, "tags")),
    )
