"""Sign in, sign out, the home page (recent changes, experiments needing attention) and the
project audit log."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lockgate.domains.audit import service as audit_service
from lockgate.domains.audit.action_types import ACTION_TYPES
from lockgate.domains.experiments import service as experiments_service
from lockgate.domains.projects import repository as projects_repository
from lockgate.domains.users.signin import sign_in, upgrade_hash
from lockgate.errors import InvalidInput
from lockgate.faces.web.pages import PAGE_SIZE, Filter, WebRoute, filter_bar, pager, render, when
from lockgate.faces.web.routes.experiments import href as experiment_href
from lockgate.faces.web.session import COOKIE, SESSION_MS, SignInThrottle, Web
from lockgate.kit.db import Database

router = APIRouter(route_class=WebRoute)
WRONG = "That email and password do not match a member of this project."


def _safe_next(raw: str) -> str:
    """Only paths inside the console: never an open redirect."""
    target = unquote(raw or "")
    return target if target.startswith("/ui/") and not target.startswith("//") else "/ui/"


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=307)


@router.get("/ui", include_in_schema=False)
def ui_root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=307)


@router.get("/ui/login", include_in_schema=False)
def login_form(request: Request, next: str = "") -> HTMLResponse:
    return render(request, "login.html", None, title="Sign in", next=next, email="")


def _login_page(request: Request, status_code: int, error: str, next: str, email: str) -> Response:
    return render(
        request,
        "login.html",
        None,
        title="Sign in",
        status_code=status_code,
        error=error,
        next=next,
        email=email,
    )


def _throttled_page(request: Request, wait_ms: int, next: str, email: str) -> Response:
    minutes = math.ceil(wait_ms / 60_000)
    error = (
        "Too many failed sign-ins for this email; try again in "
        f"{minutes} minute{'s' if minutes > 1 else ''}."
    )
    response = _login_page(request, 429, error, next, email)
    response.headers["Retry-After"] = str(math.ceil(wait_ms / 1000))
    return response


@router.post("/ui/login", include_in_schema=False)
def login(
    request: Request,
    email: str = Form(""),
    password: str = Form(""),
    next: str = Form(""),
) -> Response:
    state = request.app.state
    database: Database = state.database
    throttle: SignInThrottle = state.web_sign_ins
    wait_ms = throttle.admit(email)
    if wait_ms is not None:
        return _throttled_page(request, wait_ms, next, email)
    with database.transaction(write=False) as session:
        project = projects_repository.first_project(session)
        signed_in = sign_in(session, project.id, email, password) if project else None
    if signed_in is None:
        return _login_page(request, 401, WRONG, next, email)  # the attempt stays counted
    throttle.succeeded(email)
    if signed_in.stale_hash:
        # Rehashed with today's scheme and parameters (docs/operations.md).
        with database.transaction() as session:
            upgrade_hash(session, signed_in, password)
    member = signed_in.member
    data = state.web_sessions.new(member.project_id, member.id, state.clock.now_ms())
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        state.web_sessions.encode(data),
        max_age=SESSION_MS // 1000,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/ui/logout", include_in_schema=False)
def logout(ctx: Web) -> Response:
    del ctx  # signing out needs a session and its CSRF token, like every post
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _entries(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {
            "when": f"{row['date']} {row['time'][:8]}",
            "who": row["updatedBy"] or "",
            "action": row["actionType"],
            "text": f"{row['name']}: {row['changeLog']}",
        }
        for row in rows
    ]


def _audit_page(ctx: Web, offset: int, limit: int) -> tuple[list[dict[str, str]], int]:
    rows, total = audit_service.list_(
        ctx.session,
        ctx.project_id,
        entity_id=None,
        tags=(),
        action_types=(),
        latest_id=None,
        start_date=None,
        end_date=None,
        sort_key="date",
        descending=True,
        offset=offset,
        limit=limit,
    )
    return _entries(rows), total


def _attention(ctx: Web) -> list[dict[str, Any]]:
    """Running experiments to look at: target duration reached, or health checks that warn."""
    found = experiments_service.needing_attention(ctx.session, ctx.project_id, ctx.clock.now_ms())
    rows = []
    for item in found:
        experiment = item["experiment"]
        reasons = [f"{c['name']}: {c['status'].capitalize()}" for c in item["checks"]]
        if item["targetReachedMs"] is not None:
            reached = when(item["targetReachedMs"])[:10]
            reasons.insert(
                0, f"Target duration of {experiment['duration']} days reached on {reached}"
            )
        rows.append(
            {
                "name": experiment["name"],
                "href": experiment_href(experiment["id"]),
                "reasons": reasons,
            }
        )
    return rows


@router.get("/ui/", include_in_schema=False)
def home(request: Request, ctx: Web) -> HTMLResponse:
    attention = _attention(ctx)
    entries, _ = _audit_page(ctx, 0, 10)
    return render(
        request,
        "home.html",
        ctx,
        title="Home",
        section="home",
        entries=entries,
        attention=attention,
    )


def _audit_filters(ctx: Web) -> list[Filter]:
    types = audit_service.entity_types(ctx.session, ctx.project_id)
    return [
        Filter("entityType", "Entity type", [(t, t.replace("_", " ")) for t in types]),
        Filter("name", "Entity name"),
        Filter("actionType", "Action", [(a, a) for a in sorted(ACTION_TYPES)]),
        Filter("user", "User (name or email)"),
        Filter("startDate", "From (YYYY-MM-DD)"),
        Filter("endDate", "To (YYYY-MM-DD)"),
    ]


@router.get("/ui/audit", include_in_schema=False)
def audit(request: Request, ctx: Web, page: int = 1) -> HTMLResponse:
    """The project's audit log, filtered through the same domain list as ``GET /audit_logs``:
    an unknown action or a malformed date is refused with its message (422)."""
    page, query, status_code, error = max(1, page), request.query_params, 200, None
    try:
        rows, total = audit_service.list_(
            ctx.session,
            ctx.project_id,
            entity_id=None,
            tags=(),
            action_types=[v for v in query.getlist("actionType") if v],
            latest_id=None,
            start_date=query.get("startDate", "").strip() or None,
            end_date=query.get("endDate", "").strip() or None,
            sort_key="date",
            descending=True,
            offset=(page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
            entity_type=query.get("entityType"),
            name_contains=query.get("name", "").strip(),
            author=query.get("user", "").strip(),
        )
    except InvalidInput as exc:
        status_code, error, rows, total = 422, exc.message, [], 0
    return render(
        request,
        "audit.html",
        ctx,
        title="Audit log",
        section="audit",
        status_code=status_code,
        error=error,
        entries=_entries(rows),
        filters=filter_bar(request, _audit_filters(ctx), search=False),
        pager=pager(request, page, total),
    )
