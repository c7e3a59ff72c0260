"""Layers and holdouts: catalogs, and a page for each. A layer's page draws how its traffic is
shared among its experiments, lists its parameters with their defaults and its overrides; a
holdout's page says whom it holds out and what it covers."""

from __future__ import annotations

import json
from typing import Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lockgate.domains.holdouts import repository as holdouts_repository
from lockgate.domains.holdouts import service as holdouts_service
from lockgate.domains.holdouts.schemas import HoldoutCreate
from lockgate.domains.layers import service as layers_service
from lockgate.domains.layers.schemas import LayerCreate, LayerPartialUpdate
from lockgate.errors import InvalidInput, LockgateError
from lockgate.faces.web.forms import disabled
from lockgate.faces.web.pages import PAGE_SIZE, WebRoute, render, render_catalog
from lockgate.faces.web.routes.experiment_setup import parse_value
from lockgate.faces.web.routes.experiments import STATUS_LABELS
from lockgate.faces.web.routes.experiments import href as experiment_href
from lockgate.faces.web.session import Web, WebContext

router = APIRouter(route_class=WebRoute)

# Statuses whose experiments hold traffic in their layer; decided and abandoned ones release it.
HOLDS_TRAFFIC: Final = ("setup", "active")
MEMBERS_LIMIT: Final = 1000
BAR_WIDTH: Final = 1000  # the SVG's user units: one per layer bucket
# A layer parameter's type, and how its default value is read from the form.
LAYER_TYPES: Final = {
    "string": "string",
    "number": "number",
    "boolean": "boolean",
    "object": "json",
    "array": "json",
}
PARAMETER_TYPES: Final = (
    ("string", "Text"),
    ("number", "Number"),
    ("boolean", "Boolean"),
    ("object", "JSON object"),
    ("array", "JSON array"),
)


def _layer_href(layer_id: str) -> str:
    return f"/ui/layers/{quote(layer_id, safe='')}"


def _holdout_href(holdout_id: str) -> str:
    return f"/ui/holdouts/{quote(holdout_id, safe='')}"


def _number(value: float) -> str:
    return f"{value:g}"


# --- layers ---------------------------------------------------------------------------------


def _layers(
    request: Request, ctx: WebContext, page: int, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    page = max(1, page)
    found, total = layers_service.list_(
        ctx.session, ctx.project_id, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    rows = [
        {
            "href": _layer_href(layer["id"]),
            "cells": [
                layer["name"],
                layer.get("idType") or "",
                len(layer.get("parameters") or []),
                layer.get("description") or "",
            ],
        }
        for layer in found
    ]
    return render_catalog(
        request,
        ctx,
        title="Layers",
        section="layers",
        status_code=status_code,
        columns=["Name", "ID type", "Parameters", "Description"],
        rows=rows,
        page=page,
        total=total,
        create_action="/ui/layers",
        create_what="layer",
        create_fields=[
            {"name": "id_type", "label": "ID type", "value": extra.pop("form_id_type", "userID")}
        ],
        **extra,
    )


@router.get("/ui/layers", include_in_schema=False)
def layers(request: Request, ctx: Web, page: int = 1) -> HTMLResponse:
    return _layers(request, ctx, page)


@router.post("/ui/layers", include_in_schema=False)
def create_layer(
    request: Request, ctx: Web, name: str = Form(""), id_type: str = Form("userID")
) -> Response:
    ctx.require("create_configs")
    try:
        body = LayerCreate.model_validate({"name": name.strip(), "idType": id_type.strip()})
        created = layers_service.create(ctx.session, ctx.change, body)
    except LockgateError as exc:
        ctx.session.rollback()
        return _layers(
            request,
            ctx,
            1,
            status_code=422,
            error=exc.message,
            form_name=name,
            form_id_type=id_type,
        )
    return RedirectResponse(_layer_href(str(created["id"])), status_code=303)


def allocation_bar(experiments: list[dict[str, Any]]) -> dict[str, Any]:
    """Segments of the layer's traffic, one per experiment holding some, then what is free."""
    segments: list[dict[str, Any]] = []
    start = 0.0
    for experiment in experiments:
        share = float(experiment.get("allocation") or 0)
        if experiment["status"] not in HOLDS_TRAFFIC or share <= 0:
            continue
        segments.append(
            {
                "name": experiment["name"],
                "href": experiment_href(experiment["id"]),
                "share": _number(share),
                "x": start * BAR_WIDTH / 100,
                "width": share * BAR_WIDTH / 100,
                "index": len(segments) % 6,
            }
        )
        start += share
    free = max(0.0, 100 - start)
    return {
        "segments": segments,
        "free": _number(free),
        "free_x": start * BAR_WIDTH / 100,
        "free_width": free * BAR_WIDTH / 100,
        "idle": [
            {"name": e["name"], "href": experiment_href(e["id"])}
            for e in experiments
            if not any(s["name"] == e["name"] for s in segments)
        ],
    }


def _layer_page(
    request: Request, ctx: WebContext, layer_id: str, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    layer = layers_service.read(ctx.session, ctx.project_id, layer_id)
    members, _ = layers_service.list_experiments(
        ctx.session, ctx.project_id, layer_id, offset=0, limit=MEMBERS_LIMIT
    )
    overrides = layers_service.read_overrides(ctx.session, ctx.project_id, layer_id)
    return render(
        request,
        "layer.html",
        ctx,
        title=f"Layer {layer['name']}",
        section="layers",
        status_code=status_code,
        layer=layer,
        href=_layer_href(layer_id),
        bar=allocation_bar(members),
        members=[
            dict(e, href=experiment_href(e["id"]), status_label=STATUS_LABELS.get(e["status"]))
            for e in members
        ],
        parameters=[
            dict(p, shown=json.dumps(p.get("defaultValue"))) for p in layer.get("parameters") or []
        ],
        parameter_types=PARAMETER_TYPES,
        conditional=overrides.get("conditionalOverrides") or [],
        by_id=overrides.get("idOverrides") or [],
        override_count=len(overrides.get("conditionalOverrides") or [])
        + len(overrides.get("idOverrides") or []),
        disabled_edit=disabled(
            ctx.member.can("edit_or_delete_configs"), "Your role cannot edit layers"
        ),
        **extra,
    )


@router.get("/ui/layers/{layer_id}", include_in_schema=False)
def layer_page(request: Request, ctx: Web, layer_id: str) -> HTMLResponse:
    return _layer_page(request, ctx, layer_id)


@router.post("/ui/layers/{layer_id}/parameters", include_in_schema=False)
def save_parameter(
    request: Request,
    ctx: Web,
    layer_id: str,
    name: str = Form(""),
    kind: str = Form("string", alias="type"),
    default: str = Form(""),
) -> Response:
    """Add a parameter, or set the default of the one with that name."""
    ctx.require("edit_or_delete_configs")
    layer = layers_service.read(ctx.session, ctx.project_id, layer_id)
    try:
        parameter = name.strip()
        if not parameter:
            raise InvalidInput("The parameter needs a name.")
        if kind not in LAYER_TYPES:
            raise InvalidInput(f"Unknown parameter type {kind!r}.")
        value = parse_value(default, LAYER_TYPES[kind], "The default value")
        kept = [p for p in layer.get("parameters") or [] if p["name"] != parameter]
        body = LayerPartialUpdate.model_validate(
            {"parameters": [*kept, {"name": parameter, "type": kind, "defaultValue": value}]}
        )
        layers_service.patch(ctx.session, ctx.change, layer_id, body)
    except LockgateError as exc:
        ctx.session.rollback()
        return _layer_page(request, ctx, layer_id, status_code=422, error=exc.message)
    return RedirectResponse(_layer_href(layer_id), status_code=303)


# --- holdouts -------------------------------------------------------------------------------


def _population(holdout: dict[str, Any]) -> str:
    gate = holdout.get("targetingGateID")
    return f"Users passing gate {gate}" if gate else "Everyone"


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
            "href": _holdout_href(h["id"]),
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
    return RedirectResponse(_holdout_href(str(row.id)), status_code=303)


@router.get("/ui/holdouts/{holdout_id}", include_in_schema=False)
def holdout_page(request: Request, ctx: Web, holdout_id: str) -> HTMLResponse:
    holdout = holdouts_service.read(ctx.session, ctx.project_id, holdout_id)
    covered = [
        ("Gates", [(g, f"/ui/gates/{quote(g, safe='')}") for g in holdout.get("gateIDs") or []]),
        ("Experiments", [(e, experiment_href(e)) for e in holdout.get("experimentIDs") or []]),
        ("Layers", [(lid, _layer_href(lid)) for lid in holdout.get("layerIDs") or []]),
    ]
    return render(
        request,
        "holdout.html",
        ctx,
        title=f"Holdout {holdout['name']}",
        section="holdouts",
        holdout=holdout,
        population=_population(holdout),
        percentage=_number(float(holdout.get("passPercentage") or 0)),
        covered=covered,
    )
