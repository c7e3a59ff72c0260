"""Layers: the catalog, and a page for each that draws how the layer's traffic is shared among its
experiments, edits its parameters (add, change the default, remove) and its overrides (user IDs
sent to an experiment's group). Every change goes through ``domains/layers`` as the Console API's
``PATCH /layers/{id}`` and ``/layers/{id}/overrides`` do, under the review rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lockgate.domains.layers import service as layers_service
from lockgate.domains.layers.schemas import LayerCreate, LayerOverridesIn, LayerPartialUpdate
from lockgate.errors import InvalidInput, LockgateError, NotFound
from lockgate.faces.web.changes import REVIEW_NOTICE, reviewed_change
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


def layer_href(layer_id: str) -> str:
    return f"/ui/layers/{quote(layer_id, safe='')}"


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
            "href": layer_href(layer["id"]),
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
    return RedirectResponse(layer_href(str(created["id"])), status_code=303)


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
    by_id = overrides.get("idOverrides") or []
    conditional = overrides.get("conditionalOverrides") or []
    if request.query_params.get("submitted") == "review":
        extra.setdefault("notice", REVIEW_NOTICE)
    return render(
        request,
        "layer.html",
        ctx,
        title=f"Layer {layer['name']}",
        section="layers",
        status_code=status_code,
        layer=layer,
        href=layer_href(layer_id),
        bar=allocation_bar(members),
        members=[
            dict(e, href=experiment_href(e["id"]), status_label=STATUS_LABELS.get(e["status"]))
            for e in members
        ],
        parameters=[
            dict(p, shown=json.dumps(p.get("defaultValue"))) for p in layer.get("parameters") or []
        ],
        parameter_types=PARAMETER_TYPES,
        condition_kinds=CONDITION_KINDS,
        conditional=conditional,
        by_id=[dict(o, shown="\n".join(o["ids"])) for o in by_id],
        override_count=len(conditional) + sum(len(o["ids"]) for o in by_id),
        targets=[
            {"value": json.dumps([e["id"], g["name"]]), "label": f"{e['name']}: {g['name']}"}
            for e in members
            for g in e.get("groups") or []
        ],
        dialog=request.query_params.get("dialog", ""),
        disabled_edit=disabled(
            ctx.member.can("edit_or_delete_configs"), "Your role cannot edit layers"
        ),
        **extra,
    )


@router.get("/ui/layers/{layer_id}", include_in_schema=False)
def layer_page(request: Request, ctx: Web, layer_id: str) -> HTMLResponse:
    return _layer_page(request, ctx, layer_id)


def _change(
    request: Request, ctx: WebContext, layer_id: str, run: Callable[[dict[str, Any]], object]
) -> Response:
    """Run ``run(layer)`` under the review rules and come back to the layer's page, or show the
    page again with the refusal (422) and nothing changed."""
    ctx.require("edit_or_delete_configs")
    layer = layers_service.read(ctx.session, ctx.project_id, layer_id)
    try:
        reviewed = reviewed_change(ctx, lambda: run(layer))
    except NotFound:
        raise
    except LockgateError as exc:
        ctx.session.rollback()
        return _layer_page(request, ctx, layer_id, status_code=422, error=exc.message)
    suffix = "?submitted=review" if reviewed else ""
    return RedirectResponse(layer_href(layer_id) + suffix, status_code=303)


def _set_parameters(ctx: WebContext, layer_id: str, kept: list[dict[str, Any]]) -> None:
    """The layer's whole parameter list, as ``PATCH /layers/{id}`` takes it: the service refuses
    a list that leaves an experiment of the layer setting a parameter that is gone or of
    another type, naming the experiment and its group."""
    body = LayerPartialUpdate.model_validate({"parameters": kept})
    layers_service.patch(ctx.session, ctx.change, layer_id, body)


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

    def run(layer: dict[str, Any]) -> None:
        parameter = name.strip()
        if not parameter:
            raise InvalidInput("The parameter needs a name.")
        if kind not in LAYER_TYPES:
            raise InvalidInput(f"Unknown parameter type {kind!r}.")
        value = parse_value(default, LAYER_TYPES[kind], "The default value")
        kept = [p for p in layer.get("parameters") or [] if p["name"] != parameter]
        _set_parameters(
            ctx, layer_id, [*kept, {"name": parameter, "type": kind, "defaultValue": value}]
        )

    return _change(request, ctx, layer_id, run)


@router.post("/ui/layers/{layer_id}/parameters/remove", include_in_schema=False)
def remove_parameter(request: Request, ctx: Web, layer_id: str, name: str = Form("")) -> Response:
    def run(layer: dict[str, Any]) -> None:
        current = layer.get("parameters") or []
        if not any(p["name"] == name for p in current):
            raise InvalidInput(f"Layer {layer['id']!r} has no parameter {name!r}.")
        _set_parameters(ctx, layer_id, [p for p in current if p["name"] != name])

    return _change(request, ctx, layer_id, run)


CONDITION_KINDS = {"gate": "Users passing the gate", "segment": "Users in the segment"}


def _target(raw: str) -> tuple[str, str]:
    """The experiment and group a form's ``target`` names (a JSON pair, as the page lists them)."""
    try:
        found = json.loads(raw)
    except ValueError:
        found = None
    if not (isinstance(found, list) and len(found) == 2 and all(isinstance(v, str) for v in found)):
        raise InvalidInput("Choose an experiment of this layer and one of its groups.")
    return found[0], found[1]


def _user_ids(text: str) -> list[str]:
    return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


@router.post("/ui/layers/{layer_id}/overrides", include_in_schema=False)
def add_overrides(
    request: Request, ctx: Web, layer_id: str, ids: str = Form(""), target: str = Form("")
) -> Response:
    """Send user IDs to an experiment's group, as ``PATCH /layers/{id}/overrides`` adds them."""

    def run(_layer: dict[str, Any]) -> None:
        experiment, group = _target(target)
        given = _user_ids(ids)
        if not given:
            raise InvalidInput("Give at least one user ID, one a line.")
        body = LayerOverridesIn.model_validate(
            {"idOverrides": [{"ids": given, "experimentName": experiment, "groupName": group}]}
        )
        layers_service.add_overrides(ctx.session, ctx.change, layer_id, body)

    return _change(request, ctx, layer_id, run)


@router.post("/ui/layers/{layer_id}/overrides/conditional", include_in_schema=False)
def add_conditional_override(
    request: Request,
    ctx: Web,
    layer_id: str,
    kind: str = Form(""),
    condition: str = Form(""),
    target: str = Form(""),
) -> Response:
    """Send the users passing a gate, or in a segment, to an experiment's group, as
    ``PATCH /layers/{id}/overrides`` adds a conditional override."""

    def run(_layer: dict[str, Any]) -> None:
        if kind not in CONDITION_KINDS:
            raise InvalidInput(f"Unknown override kind {kind!r}: choose a gate or a segment.")
        name = condition.strip()
        if not name:
            raise InvalidInput(f"Name the {kind} whose users the override sends.")
        experiment, group = _target(target)
        body = LayerOverridesIn.model_validate(
            {
                "conditionalOverrides": [
                    {"type": kind, "name": name, "experimentName": experiment, "groupName": group}
                ]
            }
        )
        layers_service.add_overrides(ctx.session, ctx.change, layer_id, body)

    return _change(request, ctx, layer_id, run)


@router.post("/ui/layers/{layer_id}/overrides/remove", include_in_schema=False)
def remove_overrides(
    request: Request,
    ctx: Web,
    layer_id: str,
    kind: str = Form("ids"),
    target: str = Form(""),
    ids: str = Form(""),
    condition: str = Form(""),
) -> Response:
    """Remove one override, as ``DELETE /layers/{id}/overrides`` does with a body naming it (an
    empty body would remove them all, which this form never sends)."""

    def run(_layer: dict[str, Any]) -> None:
        experiment, group = _target(target)
        current = layers_service.read_overrides(ctx.session, ctx.project_id, layer_id)
        if kind == "ids":
            given = _user_ids(ids)
            held = {
                i
                for o in current["idOverrides"]
                if o["experimentName"] == experiment and o["groupName"] == group
                for i in o["ids"]
            }
            missing = [i for i in given if i not in held]
            if not given or missing:
                raise InvalidInput(
                    f"No override sends {', '.join(missing) or 'these IDs'} to "
                    f"{experiment}: {group}."
                )
            body = {
                "idOverrides": [{"ids": given, "experimentName": experiment, "groupName": group}]
            }
        elif kind in ("gate", "segment"):
            if not any(
                (o["type"], o["name"], o["experimentName"]) == (kind, condition, experiment)
                for o in current["conditionalOverrides"]
            ):
                raise InvalidInput(f"No override sends {kind} {condition} to {experiment}.")
            body = {
                "conditionalOverrides": [
                    {
                        "type": kind,
                        "name": condition,
                        "experimentName": experiment,
                        "groupName": group,
                    }
                ]
            }
        else:
            raise InvalidInput(f"Unknown override kind {kind!r}.")
        layers_service.remove_overrides(
            ctx.session, ctx.change, layer_id, LayerOverridesIn.model_validate(body)
        )

    return _change(request, ctx, layer_id, run)
