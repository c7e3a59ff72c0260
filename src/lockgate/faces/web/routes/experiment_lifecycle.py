"""The experiment page's lifecycle bar: Start, Make decision, Abandon, Reset, Archive and
Unarchive. Each is
the experiments domain's lifecycle action, with the Console API's permission and review rules."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from lockgate.domains.experiments import lifecycle, service
from lockgate.domains.experiments.schemas import AbandonIn, ArchiveIn, DecisionIn
from lockgate.errors import InvalidInput, LockgateError, NotFound
from lockgate.faces.web.changes import reviewed_change
from lockgate.faces.web.pages import WebRoute
from lockgate.faces.web.routes.experiments import (
    NEEDS_PRIMARY,
    back,
    experiment_page,
)
from lockgate.faces.web.session import Web, WebContext

router = APIRouter(route_class=WebRoute)


def _act(
    request: Request, ctx: WebContext, experiment_id: str, run: Callable[[], object]
) -> Response:
    try:
        reviewed = reviewed_change(ctx, run)
    except NotFound:
        raise
    except LockgateError as exc:
        ctx.session.rollback()
        return experiment_page(request, ctx, experiment_id, status_code=422, error=exc.message)
    return back(experiment_id, reviewed)


@router.post("/ui/experiments/{experiment_id}/start", include_in_schema=False)
def start(request: Request, ctx: Web, experiment_id: str) -> Response:
    ctx.require("start_experiments")
    experiment = service.read(ctx.session, ctx.project_id, experiment_id)

    def run() -> None:
        # The page's Start waits for a primary metric: results are read against it.
        if not (experiment.get("primaryMetrics") or experiment.get("primaryMetricTags")):
            raise InvalidInput(NEEDS_PRIMARY)
        lifecycle.start(ctx.session, ctx.change, experiment_id)

    return _act(request, ctx, experiment_id, run)


@router.post("/ui/experiments/{experiment_id}/decision", include_in_schema=False)
def make_decision(
    request: Request,
    ctx: Web,
    experiment_id: str,
    group: str = Form(""),
    reason: str = Form(""),
) -> Response:
    ctx.require("edit_or_delete_configs")

    def run() -> None:
        if not group:
            raise InvalidInput("Choose the group to ship.")
        body = DecisionIn.model_validate(
            {"id": group, "decisionReason": reason.strip() or "Shipped from the web console"}
        )
        lifecycle.make_decision(ctx.session, ctx.change, experiment_id, body)

    return _act(request, ctx, experiment_id, run)


@router.post("/ui/experiments/{experiment_id}/abandon", include_in_schema=False)
def abandon(request: Request, ctx: Web, experiment_id: str, reason: str = Form("")) -> Response:
    ctx.require("edit_or_delete_configs")
    body = AbandonIn.model_validate(
        {"decisionReason": reason.strip() or "Abandoned from the web console"}
    )
    return _act(
        request,
        ctx,
        experiment_id,
        lambda: lifecycle.abandon(ctx.session, ctx.change, experiment_id, body),
    )


@router.post("/ui/experiments/{experiment_id}/reset", include_in_schema=False)
def reset(request: Request, ctx: Web, experiment_id: str) -> Response:
    ctx.require("reset_experiments")
    return _act(
        request, ctx, experiment_id, lambda: lifecycle.reset(ctx.session, ctx.change, experiment_id)
    )


@router.post("/ui/experiments/{experiment_id}/archive", include_in_schema=False)
def archive(request: Request, ctx: Web, experiment_id: str, reason: str = Form("")) -> Response:
    ctx.require("edit_or_delete_configs")
    body = ArchiveIn.model_validate({"archiveReason": reason.strip()[:1000] or None})
    return _act(
        request,
        ctx,
        experiment_id,
        lambda: lifecycle.archive(ctx.session, ctx.change, experiment_id, body),
    )


@router.post("/ui/experiments/{experiment_id}/unarchive", include_in_schema=False)
def unarchive(request: Request, ctx: Web, experiment_id: str) -> Response:
    ctx.require("edit_or_delete_configs")
    return _act(
        request,
        ctx,
        experiment_id,
        lambda: lifecycle.unarchive(ctx.session, ctx.change, experiment_id),
    )
