"""Search (Ctrl+K): entities of every kind whose name contains the text, a few of each kind,
found in SQL. A full page for a plain GET; only the hits for an htmx request from the header."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import (
    DYNAMIC_CONFIG,
    EXPERIMENT,
    GATE,
    LAYER,
    METRIC,
    SEGMENT,
    EntityKind,
)
from lockgate.faces.web.pages import WebRoute, render, templates
from lockgate.faces.web.session import Web

router = APIRouter(route_class=WebRoute)
HITS_PER_KIND = 8
MAX_QUERY = 200
CATALOGS_WITH_SEARCH = frozenset({"/ui/gates"})

# Each kind searched, with its heading and where its pages live (docs/console.md §Web console).
KINDS: Final[tuple[tuple[EntityKind, str, str], ...]] = (
    (GATE, "Feature gates", "/ui/gates"),
    (DYNAMIC_CONFIG, "Dynamic configs", "/ui/dynamic_configs"),
    (SEGMENT, "Segments", "/ui/segments"),
    (EXPERIMENT, "Experiments", "/ui/experiments"),
    (LAYER, "Layers", "/ui/layers"),
    (METRIC, "Metrics", "/ui/metrics"),
)


@router.get("/ui/search", include_in_schema=False)
def search(request: Request, ctx: Web, q: str = "") -> HTMLResponse:
    text = q.strip()[:MAX_QUERY]
    groups = []
    if text:
        found = entities.search_names(
            ctx.session, [kind for kind, _, _ in KINDS], ctx.project_id, text, limit=HITS_PER_KIND
        )
        for (_, heading, base), (_, rows, total) in zip(KINDS, found, strict=True):
            if total:
                hits = [(name, f"{base}/{quote(i, safe='')}") for i, name in rows]
                more = ""
                if total > len(rows) and base in CATALOGS_WITH_SEARCH:
                    more = f"{base}?q={quote(text)}"
                groups.append({"heading": heading, "hits": hits, "total": total, "more": more})
    values: dict[str, Any] = {"q": text, "groups": groups}
    if request.headers.get("hx-request"):
        return templates.TemplateResponse(request, "_search_hits.html", values)
    return render(request, "search.html", ctx, title="Search", **values)
