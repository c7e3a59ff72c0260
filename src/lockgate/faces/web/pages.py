"""Rendering: the Jinja environment, the page context every template sees, and the route class
that turns errors into pages (a sign-in redirect, a 403 or 404 page) instead of JSON."""

from __future__ import annotations

import html
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from math import ceil
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from lockgate.domains.tags import service as tags_service
from lockgate.errors import Forbidden, LockgateError, NotFound
from lockgate.faces.web.session import SignInRequired, WebContext

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["static"] = lambda path: f"/ui/static/{path}"
PAGE_SIZE = 50


def render(
    request: Request,
    template: str,
    ctx: WebContext | None,
    *,
    title: str,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "title": title,
        "member": ctx.member if ctx else None,
        "csrf": ctx.csrf if ctx else "",
        **values,
    }
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def render_catalog(
    request: Request,
    ctx: WebContext,
    *,
    title: str,
    page: int,
    total: int,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    """A catalog page (``catalog.html``): one kind's rows, paged, with its Create form for a
    member who may create configs."""
    return render(
        request,
        "catalog.html",
        ctx,
        title=title,
        status_code=status_code,
        pager=pager(request, page, total),
        can_create=ctx.member.can("create_configs"),
        **values,
    )


def when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def pager(request: Request, page: int, total: int, size: int = PAGE_SIZE) -> dict[str, Any]:
    pages = max(1, ceil(total / size))

    def link(number: int) -> str:
        params = dict(request.query_params)
        params["page"] = str(number)
        return f"{request.url.path}?{urlencode(params)}"

    return {
        "page": page,
        "pages": pages,
        "total": total,
        "prev": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < pages else None,
    }


@dataclass(frozen=True)
class Filter:
    """One list filter of a page's filter bar: a query parameter, a select over ``choices``
    (``(value, label)``) or, without choices, a text box."""

    name: str
    label: str
    choices: Sequence[tuple[str, str]] | None = None


def _link(request: Request, params: Sequence[tuple[str, str]]) -> str:
    return f"{request.url.path}?{urlencode(params)}" if params else request.url.path


def filter_bar(
    request: Request, filters: Sequence[Filter], *, search: bool = True
) -> dict[str, Any]:
    """The filter bar's form values and one removable chip per active filter (a link to the
    same page without it). Every view is a link: the filters are the query string."""
    query = request.query_params
    kept = [(k, v) for k, v in query.multi_items() if k != "page" and v]
    fields, chips = [], []
    for flt in filters:
        value = query.get(flt.name, "")
        fields.append(
            {"name": flt.name, "label": flt.label, "choices": flt.choices, "value": value}
        )
        labels = dict(flt.choices or ())
        for chosen in query.getlist(flt.name):
            if chosen:
                without = [(k, v) for k, v in kept if (k, v) != (flt.name, chosen)]
                text = f"{flt.label}: {labels.get(chosen, chosen)}"
                chips.append({"text": text, "href": _link(request, without)})
    return {
        "action": request.url.path,
        "search": search,
        "q": query.get("q", ""),
        "sort": query.get("sort", ""),
        "fields": fields,
        "chips": chips,
        "clear": request.url.path if chips else None,
    }


# Filter selects list at most this many choices (tags, ID types, layers).
CHOICES_LIMIT = 500


def tag_filter(ctx: WebContext) -> Filter:
    """The ``tags`` filter over the project's tags, as the Console API's lists name it."""
    tags, _ = tags_service.list_(ctx.session, ctx.project_id, offset=0, limit=CHOICES_LIMIT)
    return Filter("tags", "Tag", [(t["name"], t["name"]) for t in tags])


def sort_headers(
    request: Request, columns: Sequence[tuple[str, str | None]], current: str
) -> list[dict[str, Any]]:
    """Column headers; a column with a sort key links to the list sorted by it (ascending, or
    descending when it is already ascending), and says how the list is sorted now."""
    query = request.query_params.multi_items()
    kept = [(k, v) for k, v in query if k not in ("page", "sort") and v]
    headers = []
    for label, key in columns:
        header: dict[str, Any] = {"label": label, "href": None, "aria_sort": None}
        if key is not None:
            target = f"-{key}" if current == key else key
            header["href"] = _link(request, [*kept, ("sort", target)])
            if current == key:
                header["aria_sort"] = "ascending"
            elif current == f"-{key}":
                header["aria_sort"] = "descending"
        headers.append(header)
    return headers


def _error_page(status_code: int, title: str) -> HTMLResponse:
    # A bare page: the error may come before there is a member to render the shell for.
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        ' · Lockgate</title><link rel="stylesheet" href="/ui/static/lockgate.css"></head><body>'
        f'<main id="main" class="bare"><h1>{html.escape(title)}</h1>'
        '<p><a href="/ui/">Back to the console home</a></p></main></body></html>'
    )
    return HTMLResponse(body, status_code=status_code)


class WebRoute(APIRoute):
    """Pages answer errors as pages: no session redirects to sign in, refusals are 403 pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as exc:
                return RedirectResponse(f"/ui/login?next={exc.next_path}", status_code=303)
            except Forbidden as exc:
                return _error_page(403, f"Not allowed: {exc.message}")
            except NotFound as exc:
                return _error_page(404, f"Not found: {exc.message}")
            except LockgateError as exc:
                return _error_page(400, exc.message)

        return route
