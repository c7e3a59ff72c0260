"""``GET /console/v1/audit_logs``."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from lockgate.domains.audit import service
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import Page, multi_value, page_params, paginated

router = APIRouter(tags=["Audit Logs"])

SortKey = Literal[
    "id", "name", "changeLog", "actionType", "date", "time", "updatedBy", "updatedByUserID"
]


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
    data, total = service.list_(
        ctx.session,
        ctx.project_id,
        entity_id=id,
        tags=multi_value(request, "tags"),
        action_types=action_types,
        latest_id=latestID,
        start_date=startDate,
        end_date=endDate,
        sort_key=sortKey,
        descending=sortOrder == "desc",
        offset=page.offset,
        limit=page.limit,
    )
    return paginated("Audit logs listed successfully.", data, total, page, request)
