"""Read-only catalogs of dynamic configs and segments (their pages come later)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lockgate.domains.configs import service as configs_service
from lockgate.domains.configs.repository import ConfigFilter
from lockgate.domains.segments import service as segments_service
from lockgate.faces.web.pages import PAGE_SIZE, WebRoute, pager, render, when
from lockgate.faces.web.session import Web

router = APIRouter(route_class=WebRoute)


@router.get("/ui/dynamic_configs", include_in_schema=False)
def configs(request: Request, ctx: Web, page: int = 1) -> HTMLResponse:
    page = max(1, page)
    rows, total = configs_service.list_(
        ctx.session, ctx.project_id, ConfigFilter(), offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    cells = [
        [
            r["name"],
            "Enabled" if r.get("isEnabled") else "Disabled",
            len(r.get("rules") or []),
            when(int(r.get("lastModifiedTime") or 0)),
        ]
        for r in rows
    ]
    return render(
        request,
        "catalog.html",
        ctx,
        title="Dynamic configs",
        section="configs",
        columns=["Name", "Status", "Rules", "Last modified"],
        rows=cells,
        pager=pager(request, page, total),
    )


@router.get("/ui/segments", include_in_schema=False)
def segments(request: Request, ctx: Web, page: int = 1) -> HTMLResponse:
    page = max(1, page)
    rows, total = segments_service.list_(
        ctx.session, ctx.project_id, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    cells = [[r["name"], r.get("type", ""), r.get("description") or ""] for r in rows]
    return render(
        request,
        "catalog.html",
        ctx,
        title="Segments",
        section="segments",
        columns=["Name", "Type", "Description"],
        rows=cells,
        pager=pager(request, page, total),
    )
