"""Experiments: the catalog, Create, and the experiment page (setup, diagnostics, JSON). Every
change goes through the experiments domain, as the Console API's do, under the review rules; the
setup forms are in ``experiment_setup.py``, the lifecycle bar in ``experiment_lifecycle.py``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lockgate.domains.entities import writes as entity_writes
from lockgate.domains.events import catalog as events_catalog
from lockgate.domains.experiments import service
from lockgate.domains.experiments.repository import ExperimentFilter
from lockgate.domains.experiments.schemas import ExperimentCreate
from lockgate.domains.gates import repository as gates_repository
from lockgate.domains.gates import service as gates_service
from lockgate.domains.layers import service as layers_service
from lockgate.domains.metrics import service as metrics_service
from lockgate.domains.reviews import people as review_people
from lockgate.domains.reviews import service as reviews
from lockgate.errors import LockgateError
from lockgate.faces.web import figures
from lockgate.faces.web.forms import disabled
from lockgate.faces.web.pages import PAGE_SIZE, WebRoute, render, render_catalog, when
from lockgate.faces.web.session import Web, WebContext

router = APIRouter(route_class=WebRoute)

STATUS_LABELS: Final = {
    "setup": "Setup",
    "active": "Active",
    "decision_made": "Decision made",
    "abandoned": "Abandoned",
    "archived": "Archived",
}
CHECK_LABELS: Final = {
    "WAITING": "Waiting",
    "PASSED": "Passed",
    "WARNING": "Warning",
    "FAILED": "Failed",
}
TABS: Final = ("setup", "diagnostics", "json")
PARAMETER_TYPES: Final = (
    ("string", "Text"),
    ("number", "Number"),
    ("boolean", "Boolean"),
    ("json", "JSON (object or array)"),
)
# Pickers list at most this many choices; a bigger catalog is searched on its own page.
CHOICES_LIMIT: Final = 500
NEEDS_PRIMARY: Final = "Add a primary metric before starting: results are judged by it."
ARCHIVED_REFUSAL: Final = "An archived experiment is read-only: unarchive it first"
REVIEW_NOTICE: Final = "The change needs a review: it was submitted for review, not applied."


def href(experiment_id: str, suffix: str = "") -> str:
    return f"/ui/experiments/{quote(experiment_id, safe='')}{suffix}"


def back(experiment_id: str, reviewed: bool = False) -> RedirectResponse:
    return RedirectResponse(
        href(experiment_id, "?submitted=review" if reviewed else ""), status_code=303
    )


def reviewed_change(ctx: WebContext, run: Callable[[], object]) -> bool:
    """Run a change under the review rules, as the Console API does for a caller that respects
    them: True when it became a pending review instead of being applied."""
    proposal = reviews.begin(ctx.session)
    try:
        run()
    except BaseException:
        entity_writes.unwatch(ctx.session)
        proposal.savepoint.rollback()
        raise
    approver = review_people.approver_of(ctx.session, ctx.project_id, ctx.member.actor())
    return reviews.settle(ctx.session, ctx.change, approver, proposal) is not None


# --- catalog --------------------------------------------------------------------------------


def _catalog(
    request: Request,
    ctx: WebContext,
    q: str,
    status: str,
    page: int,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    page = max(1, page)
    flt = ExperimentFilter(
        name_contains=q.strip() or None,
        statuses=(status,) if status in STATUS_LABELS else (),
    )
    found, total = service.list_(
        ctx.session, ctx.project_id, flt, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    trends = events_catalog.exposure_trends(
        ctx.session, ctx.project_id, "config", [e["id"] for e in found], ctx.clock.now_ms()
    )
    rows = [
        {
            "href": href(e["id"]),
            "spark": figures.checks_sparkline(trends[e["id"]], "Exposures"),
            "cells": [
                e["name"],
                STATUS_LABELS.get(e["status"], e["status"]),
                e.get("layerID") or "",
                f"{e.get('allocation', 0):g}%",
                when(int(e["startTime"])) if e.get("startTime") else "Not started",
            ],
        }
        for e in found
    ]
    return render_catalog(
        request,
        ctx,
        title="Experiments",
        section="experiments",
        status_code=status_code,
        columns=["Name", "Status", "Layer", "Allocation", "Started", "Exposures (14 days)"],
        rows=rows,
        page=page,
        total=total,
        search={
            "action": "/ui/experiments",
            "q": q,
            "status": status,
            "statuses": list(STATUS_LABELS.items()),
        },
        create_action="/ui/experiments",
        create_what="experiment",
        create_fields=[
            {"name": "hypothesis", "label": "Hypothesis", "value": extra.pop("form_hypothesis", "")}
        ],
        **extra,
    )


@router.get("/ui/experiments", include_in_schema=False)
def catalog(
    request: Request, ctx: Web, q: str = "", status: str = "", page: int = 1
) -> HTMLResponse:
    return _catalog(request, ctx, q, status, page)


@router.post("/ui/experiments", include_in_schema=False)
def create(
    request: Request, ctx: Web, name: str = Form(""), hypothesis: str = Form("")
) -> Response:
    ctx.require("create_configs")
    try:
        body = ExperimentCreate.model_validate({"name": name.strip(), "hypothesis": hypothesis})
        created = service.create(ctx.session, ctx.change, body)
    except LockgateError as exc:
        ctx.session.rollback()
        return _catalog(
            request,
            ctx,
            "",
            "",
            1,
            status_code=422,
            error=exc.message,
            form_name=name,
            form_hypothesis=hypothesis,
        )
    return back(str(created["id"]))


# --- the experiment page --------------------------------------------------------------------


def parameter_names(groups: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(p for g in groups for p in g.get("parameterValues") or {}))


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _metric_label(metric: dict[str, Any]) -> str:
    return f"{metric['name']} ({metric['type']})"


def experiment_page(
    request: Request,
    ctx: WebContext,
    experiment_id: str,
    *,
    tab: str = "setup",
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    experiment = service.read(ctx.session, ctx.project_id, experiment_id)
    tab = tab if tab in TABS else "setup"
    status = experiment["status"]
    groups = experiment["groups"]
    names = parameter_names(groups)
    grid = [
        {"name": p, "values": [_shown((g.get("parameterValues") or {}).get(p, "")) for g in groups]}
        for p in names
    ]
    catalog = metrics_service.list_(
        ctx.session, ctx.project_id, ctx.clock.now_ms(), show_hidden=False, tags=[]
    )[:CHOICES_LIMIT]
    layers, _ = layers_service.list_(ctx.session, ctx.project_id, offset=0, limit=CHOICES_LIMIT)
    gates, _ = gates_service.list_(
        ctx.session,
        ctx.project_id,
        gates_repository.ColumnFilter(),
        gates_service.DocumentFilter(),
        offset=0,
        limit=CHOICES_LIMIT,
    )
    has_primary = bool(experiment.get("primaryMetrics") or experiment.get("primaryMetricTags"))
    launched = next((g for g in groups if g["id"] == experiment.get("launchedGroupID")), None)
    may_edit = ctx.member.can("edit_or_delete_configs")
    can_edit = may_edit and status != "archived"
    edit_refusal = "Your role cannot edit experiments" if not may_edit else ARCHIVED_REFUSAL
    checks = [
        dict(c, label=CHECK_LABELS.get(c["status"], c["status"]))
        for c in experiment.get("healthChecks") or []
    ]
    if request.query_params.get("submitted") == "review":
        extra.setdefault("notice", REVIEW_NOTICE)
    return render(
        request,
        "experiment.html",
        ctx,
        title=f"Experiment {experiment['name']}",
        section="experiments",
        status_code=status_code,
        experiment=experiment,
        href=href(experiment_id),
        tab=tab,
        status=status,
        status_label=STATUS_LABELS.get(status, status),
        launched=launched,
        decided_on=when(int(experiment["decisionTime"]))[:10]
        if experiment.get("decisionTime")
        else "",
        groups=groups,
        grid=grid,
        parameter_types=PARAMETER_TYPES,
        metric_choices=[(m["id"], _metric_label(m)) for m in catalog],
        primary=[
            (f"{m['name']}::{m['type']}", _metric_label(m))
            for m in experiment.get("primaryMetrics") or []
        ],
        secondary=[
            (f"{m['name']}::{m['type']}", _metric_label(m))
            for m in experiment.get("secondaryMetrics") or []
        ],
        layers=[(layer["id"], layer["name"]) for layer in layers],
        gate_names=[g["id"] for g in gates],
        checks=checks,
        json_text=json.dumps(experiment, indent=2, sort_keys=True),
        start_reason="" if has_primary else NEEDS_PRIMARY,
        deciding=request.query_params.get("decide") == "1" and status == "active",
        disabled_edit=disabled(can_edit, edit_refusal),
        disabled_setup=disabled(
            can_edit and status == "setup",
            "Only an experiment in setup can change this" if can_edit else edit_refusal,
        ),
        disabled_start=disabled(
            ctx.member.can("start_experiments") and has_primary,
            "Your role cannot start experiments" if has_primary else NEEDS_PRIMARY,
        ),
        disabled_unarchive=disabled(may_edit, "Your role cannot edit experiments"),
        disabled_reset=disabled(
            ctx.member.can("reset_experiments"), "Your role cannot reset experiments"
        ),
        **extra,
    )


@router.get("/ui/experiments/{experiment_id}", include_in_schema=False)
def page(request: Request, ctx: Web, experiment_id: str, tab: str = "setup") -> HTMLResponse:
    return experiment_page(request, ctx, experiment_id, tab=tab)
