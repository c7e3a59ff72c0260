"""Holdouts: the catalog, and a page for each that says whom the holdout keeps out and what it
covers, edits both, and shows its Pulse results (held-out units as control against the units it let
through). Every change goes through ``domains/holdouts`` as the Console API's
``PATCH /holdouts/{id}`` does, under the review rules; results are what
``GET /holdouts/{id}/pulse_results`` answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lockgate.domains.holdouts import pulse as holdouts_pulse
from lockgate.domains.holdouts import repository as holdouts_repository
from lockgate.domains.holdouts import service as holdouts_service
from lockgate.domains.holdouts.schemas import HoldoutCreate, HoldoutPartialUpdate
from lockgate.domains.pulse import service as pulse_service
from lockgate.errors import InvalidInput, LockgateError, NotFound
from lockgate.faces.web import figures
from lockgate.faces.web.changes import REVIEW_NOTICE, reviewed_change
from lockgate.faces.web.forms import disabled, validated
from lockgate.faces.web.pages import PAGE_SIZE, WebRoute, render, render_catalog, when
from lockgate.faces.web.routes.experiment_setup import changed_metrics
from lockgate.faces.web.routes.experiments import chosen_metrics, metric_choices
from lockgate.faces.web.routes.experiments import href as experiment_href
from lockgate.faces.web.routes.layers import layer_href
from lockgate.faces.web.routes.results import CONFIDENCES, scorecard
from lockgate.faces.web.session import Web, WebContext

router = APIRouter(route_class=WebRoute)

# The covered lists, as the Console API names them, with the word for one entity of each.
COVERED: Final = (
    ("gateIDs", "gate", "Gates"),
    ("experimentIDs", "experiment", "Experiments"),
    ("layerIDs", "layer", "Layers"),
)
# Pulse's two groups of a holdout, by the ids the scorecard gives them.
HELD_OUT, NOT_HELD_OUT = "held_out", "not_held_out"
GROUP_NAMES: Final = {HELD_OUT: "Held out", NOT_HELD_OUT: "Not held out"}
RESULT_ROLES: Final = (("monitoringMetrics", "Monitoring metrics"),)


def holdout_href(holdout_id: str) -> str:
    return f"/ui/holdouts/{quote(holdout_id, safe='')}"


def _number(value: float) -> str:
    return f"{value:g}"


def _entity_href(field: str, entity_id: str) -> str:
    if field == "gateIDs":
        return f"/ui/gates/{quote(entity_id, safe='')}"
    if field == "experimentIDs":
        return experiment_href(entity_id)
    return layer_href(entity_id)


def _population(holdout: dict[str, Any]) -> str:
    gate = holdout.get("targetingGateID")
    return f"Users passing gate {gate}" if gate else "Everyone"


# --- catalog --------------------------------------------------------------------------------


def _holdouts(
    request: Request, ctx: WebContext, page: int, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    page = max(1, page)
    found, total = holdouts_service.list_(
        ctx.session,
        ctx.project_id,
        holdouts_repository.ColumnFilter(),
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    rows = [
        {
            "href": holdout_href(h["id"]),
            "cells": [
                h["name"],
                "Enabled" if h.get("isEnabled") else "Disabled",
                _population(h),
                f"{_number(float(h.get('passPercentage') or 0))}%",
                "Global" if h.get("isGlobal") else "Selected",
            ],
        }
        for h in found
    ]
    return render_catalog(
        request,
        ctx,
        title="Holdouts",
        section="holdouts",
        status_code=status_code,
        columns=["Name", "Status", "Population", "Held out", "Covers"],
        rows=rows,
        page=page,
        total=total,
        create_action="/ui/holdouts",
        create_what="holdout",
        **extra,
    )


@router.get("/ui/holdouts", include_in_schema=False)
def holdouts(request: Request, ctx: Web, page: int = 1) -> HTMLResponse:
    return _holdouts(request, ctx, page)


@router.post("/ui/holdouts", include_in_schema=False)
def create_holdout(request: Request, ctx: Web, name: str = Form("")) -> Response:
    ctx.require("create_configs")
    try:
        row = holdouts_service.create(
            ctx.session, ctx.change, HoldoutCreate.model_validate({"name": name.strip()})
        )
    except LockgateError as exc:
        ctx.session.rollback()
        return _holdouts(request, ctx, 1, status_code=422, error=exc.message, form_name=name)
    return RedirectResponse(holdout_href(str(row.id)), status_code=303)


# --- the holdout's page ---------------------------------------------------------------------


def _results(ctx: WebContext, holdout_id: str, query: dict[str, str]) -> dict[str, Any]:
    """The holdout's Pulse results in the scorecard: held-out units are the control."""
    confidence = query.get("ci") or "95"
    if confidence not in CONFIDENCES:
        raise InvalidInput.field("ci", f"must be one of {', '.join(CONFIDENCES)}")
    cuped = query.get("cuped") or "1"
    if cuped not in ("0", "1"):
        raise InvalidInput.field("cuped", 'must be "1" or "0"')
    answer = holdouts_pulse.pulse_results(
        ctx.session,
        ctx.project_id,
        holdout_id,
        cuped="true" if cuped == "1" else "false",
        confidence=confidence,
        now_ms=ctx.clock.now_ms(),
    )
    sections, _ = scorecard({NOT_HELD_OUT: answer}, GROUP_NAMES, HELD_OUT, RESULT_ROLES, confidence)
    path = holdout_href(holdout_id)

    def detail_link(metric_id: str) -> str:
        values = {"ci": confidence, "cuped": cuped, "metric": metric_id}
        return f"{path}?{urlencode(values)}#results-h"

    return {
        "sections": sections,
        "ds": answer.get("ds"),
        "confidence": confidence,
        "cuped": cuped == "1",
        "detail_link": detail_link,
        "open_metric": query.get("metric") or "",
    }


LOADS_LIMIT: Final = 10


def pulse_loads(ctx: WebContext, entity_type: str, entity_id: str) -> dict[str, Any]:
    """The newest Pulse loads of an entity, as ``pulse_load_history`` lists them, for the
    ``_pulse_loads.html`` partial: who asked, when, the status and progress of each."""
    found, total = pulse_service.list_loads(
        ctx.session, ctx.project_id, entity_type, entity_id, offset=0, limit=LOADS_LIMIT
    )
    rows = [
        dict(
            load,
            created=when(load["createdTime"]),
            finished=when(load["finishedTime"]) if "finishedTime" in load else figures.MISSING,
        )
        for load in found
    ]
    active = any(load["status"] in ("queued", "running") for load in found)
    return {"rows": rows, "total": total, "active": active}


def holdout_page(
    request: Request, ctx: WebContext, holdout_id: str, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    holdout = holdouts_service.read(ctx.session, ctx.project_id, holdout_id)
    query = {k: v for k, v in request.query_params.items()}
    if query.get("submitted") == "review":
        extra.setdefault("notice", REVIEW_NOTICE)
    covered = [
        {
            "field": field,
            "word": word,
            "heading": heading,
            "entries": [(i, _entity_href(field, i)) for i in holdout.get(field) or []],
        }
        for field, word, heading in COVERED
    ]
    return render(
        request,
        "holdout.html",
        ctx,
        title=f"Holdout {holdout['name']}",
        section="holdouts",
        status_code=status_code,
        holdout=holdout,
        href=holdout_href(holdout_id),
        population=_population(holdout),
        percentage=_number(float(holdout.get("passPercentage") or 0)),
        covered=covered,
        metrics_action=f"{holdout_href(holdout_id)}/metrics",
        metric_roles=(("monitoring", chosen_metrics(holdout.get("monitoringMetrics") or [])),),
        metric_choices=metric_choices(ctx),
        results=_results(ctx, holdout_id, query),
        loads=pulse_loads(ctx, "holdout", holdout_id),
        disabled_load=disabled(
            ctx.member.can("edit_or_delete_configs"), "Your role cannot load Pulse results"
        ),
        confidences=CONFIDENCES,
        control_name=GROUP_NAMES[HELD_OUT],
        bar_width=figures.BAR_WIDTH,
        bar_height=figures.BAR_HEIGHT,
        disabled_edit=disabled(
            ctx.member.can("edit_or_delete_configs"), "Your role cannot edit holdouts"
        ),
        **extra,
    )


@router.get("/ui/holdouts/{holdout_id}", include_in_schema=False)
def holdout(request: Request, ctx: Web, holdout_id: str) -> HTMLResponse:
    return holdout_page(request, ctx, holdout_id)


# --- changes --------------------------------------------------------------------------------


@router.post("/ui/holdouts/{holdout_id}/load_pulse", include_in_schema=False)
def load_pulse(ctx: Web, holdout_id: str) -> Response:
    """Queue a full Pulse load of the holdout, as ``load_pulse`` queues one for an experiment
    (with the same permission); the page then lists it with its status and progress."""
    ctx.require("edit_or_delete_configs")
    holdouts_service.read(ctx.session, ctx.project_id, holdout_id)
    pulse_service.load(ctx.session, ctx.change, "holdout", holdout_id, None)
    return RedirectResponse(holdout_href(holdout_id) + "#loads-h", status_code=303)


def _patch(
    request: Request,
    ctx: WebContext,
    holdout_id: str,
    build: Callable[[dict[str, Any]], dict[str, Any]],
) -> Response:
    """Apply ``build(current holdout)`` (a partial update body, in the Console API's names) and
    come back to the page, or show the page again with the refusal (422) and nothing changed."""
    ctx.require("edit_or_delete_configs")
    current = holdouts_service.read(ctx.session, ctx.project_id, holdout_id)
    try:
        body = validated(HoldoutPartialUpdate, build(current))
        reviewed = reviewed_change(
            ctx, lambda: holdouts_service.patch(ctx.session, ctx.change, holdout_id, body)
        )
    except NotFound:
        raise
    except LockgateError as exc:
        ctx.session.rollback()
        return holdout_page(request, ctx, holdout_id, status_code=422, error=exc.message)
    suffix = "?submitted=review" if reviewed else ""
    return RedirectResponse(holdout_href(holdout_id) + suffix, status_code=303)


def _percentage(raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise InvalidInput.field(
            "passPercentage", f"must be a number from 0 to 10, got {raw!r}"
        ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidInput.field("passPercentage", f"must be a number from 0 to 10, got {raw!r}")
    return value


@router.post("/ui/holdouts/{holdout_id}/settings", include_in_schema=False)
def save_settings(
    request: Request,
    ctx: Web,
    holdout_id: str,
    description: str = Form(""),
    percentage: str = Form(""),
    gate: str = Form(""),
    is_global: str = Form("", alias="global"),
    enabled: str = Form(""),
) -> Response:
    """Description, held-out percentage, population and scope in one partial update. Unchecked
    boxes are not sent by browsers, so their absence means false."""

    def build(_current: dict[str, Any]) -> dict[str, Any]:
        return {
            "description": description.strip(),
            "passPercentage": _percentage(percentage),
            "targetingGateID": gate.strip() or None,
            "isGlobal": is_global == "on",
            "isEnabled": enabled == "on",
        }

    return _patch(request, ctx, holdout_id, build)


def _covered_field(kind: str) -> tuple[str, str]:
    for field, word, _ in COVERED:
        if kind == word:
            return field, word
    raise InvalidInput(f"Unknown kind {kind!r}: a holdout covers gates, experiments and layers.")


@router.post("/ui/holdouts/{holdout_id}/covers", include_in_schema=False)
def change_covered(
    request: Request,
    ctx: Web,
    holdout_id: str,
    kind: str = Form(""),
    entity: str = Form(""),
    op: str = Form("add"),
) -> Response:
    """Add an entity to, or remove one from, the holdout's ``gateIDs``, ``experimentIDs`` or
    ``layerIDs``; the domain checks that an added one exists."""

    def build(current: dict[str, Any]) -> dict[str, Any]:
        field, word = _covered_field(kind)
        listed = list(current.get(field) or [])
        given = entity.strip()
        if not given:
            raise InvalidInput(f"Give the id of the {word} to {op}.")
        if op == "add":
            if given in listed:
                raise InvalidInput(f"The holdout already covers {word} {given!r}.")
            return {field: [*listed, given]}
        if op == "remove":
            if given not in listed:
                raise InvalidInput(f"The holdout does not cover {word} {given!r}.")
            return {field: [i for i in listed if i != given]}
        raise InvalidInput("Choose Add or Remove.")

    return _patch(request, ctx, holdout_id, build)


@router.post("/ui/holdouts/{holdout_id}/metrics", include_in_schema=False)
def change_metrics(
    request: Request,
    ctx: Web,
    holdout_id: str,
    metric: str = Form(""),
    op: str = Form("add"),
) -> Response:
    """The holdout's ``monitoringMetrics``, which its Pulse results compare."""

    def build(current: dict[str, Any]) -> dict[str, Any]:
        chosen = list(current.get("monitoringMetrics") or [])
        return {"monitoringMetrics": changed_metrics(ctx, chosen, metric, op)}

    return _patch(request, ctx, holdout_id, build)
