"""``GET /console/v1/audit_logs``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from lockgate.domains.audit import repository
from lockgate.domains.audit.action_types import ACTION_TYPES
from lockgate.domains.audit.service import audit_dto
from lockgate.errors import InvalidInput
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import Page, multi_value, page_params, paginated

router = APIRouter(tags=["Audit Logs"])

SortKey = Literal[
    "id", "name", "changeLog", "actionType", "date", "time", "updatedBy", "updatedByUserID"
]


def _day_start_ms(name: str, raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            f"Invalid request. {name}: expected a date in the form YYYY-MM-DD, got {raw!r}"
        ) from None
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


@router.get("/audit_logs")
def list_audit_logs(
    ctx: Console,
    request: Request,
    page: Page = Depends(page_params),
    id: str | None = None,
    sortKey: SortKey = "date",
    sortOrder: Literal["asc", "desc"] = "desc",
    latestID: str | None = None,
    actionType: str | None = None,
    startDate: str | None = Query(None, description="YYYY-MM-DD"),
    endDate: str | None = Query(None, description="YYYY-MM-DD"),
) -> dict[str, Any]:
    action_types = multi_value(request, "actionTypes")
    if actionType:
        action_types.append(actionType)
    unknown = [a for a in action_types if a not in ACTION_TYPES]
    if unknown:
        raise InvalidInput(f"Invalid request. actionType: unknown action type {unknown[0]!r}")
    latest_seq = None
    if latestID:
        latest_seq = repository.seq_of(ctx.session, ctx.project_id, latestID)
        if latest_seq is None:
            raise InvalidInput(f"Invalid request. latestID: no audit log entry {latestID!r}")
    end_ms = _day_start_ms("endDate", endDate)
    flt = repository.AuditFilter(
        id=id,
        latest_seq=latest_seq,
        tags=tuple(multi_value(request, "tags")),
        action_types=tuple(action_types),
        start_ms=_day_start_ms("startDate", startDate),
        # endDate is inclusive: everything before the start of the next day.
        end_ms=None if end_ms is None else end_ms + int(timedelta(days=1).total_seconds() * 1000),
        sort_key=sortKey,
        descending=sortOrder == "desc",
    )
    rows, total = repository.list_entries(
        ctx.session, ctx.project_id, flt, offset=page.offset, limit=page.limit
    )
    return paginated(
        "Audit logs listed successfully.", [audit_dto(r) for r in rows], total, page, request
    )
