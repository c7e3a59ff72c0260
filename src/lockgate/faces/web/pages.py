"""Rendering: the Jinja environment, the page context every template sees, and the route class
that turns errors into pages (a sign-in redirect, a 403 or 404 page) instead of JSON."""

from __future__ import annotations

import html
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from math import ceil
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

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
