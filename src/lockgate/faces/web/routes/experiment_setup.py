"""The experiment page's setup forms: hypothesis, groups, parameters, allocation, targeting,
layer, scorecard metrics, significance settings and target duration, each a partial update
through the experiments domain as the Console API's ``PATCH /experiments/{id}``; and overrides,
added and removed as by ``PATCH`` and ``DELETE /experiments/{id}/overrides``. All under the
review rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from lockgate.domains.experiments import overrides, service
from lockgate.domains.experiments.schemas import ExperimentPartialUpdate, OverridesIn
from lockgate.domains.metrics import service as metrics_service
from lockgate.domains.metrics.definitions import split_id
from lockgate.errors import InvalidInput, LockgateError, NotFound
from lockgate.faces.web.changes import reviewed_change
from lockgate.faces.web.forms import lines, validated
from lockgate.faces.web.pages import WebRoute
from lockgate.faces.web.routes.experiments import (
    ANALYTICS_TYPES,
    CONFIDENCE_LEVELS,
    SIGNIFICANCE_SWITCHES,
    back,
    experiment_page,
    parameter_names,
)
from lockgate.faces.web.session import Web, WebContext

router = APIRouter(route_class=WebRoute)


def _patch(
    request: Request, ctx: WebContext, experiment_id: str, build: Callable[[dict[str, Any]], Any]
) -> Response:
    """Apply ``build(current experiment)`` (a partial update body) and come back to the page,
    or show the page again with the refusal and nothing changed."""
    ctx.require("edit_or_delete_configs")
    current = service.read(ctx.session, ctx.project_id, experiment_id)

    def run() -> None:
        body = validated(ExperimentPartialUpdate, build(current))
        service.patch(ctx.session, ctx.change, experiment_id, body)

    return _change(request, ctx, experiment_id, run)


def _change(
    request: Request,
    ctx: WebContext,
    experiment_id: str,
    run: Callable[[], object],
    dialog: str = "",
) -> Response:
    """Run a change under the review rules and come back to the page, or show the page again
    (with ``dialog`` open) with the refusal and nothing changed."""
    try:
        reviewed = reviewed_change(ctx, run)
    except NotFound:
        raise
    except LockgateError as exc:
        ctx.session.rollback()
        return experiment_page(
            request, ctx, experiment_id, status_code=422, error=exc.message, open_dialog=dialog
        )
    return back(experiment_id, reviewed, dialog)


@router.post("/ui/experiments/{experiment_id}/hypothesis", include_in_schema=False)
def save_hypothesis(
    request: Request, ctx: Web, experiment_id: str, hypothesis: str = Form("")
) -> Response:
    return _patch(request, ctx, experiment_id, lambda _: {"hypothesis": hypothesis.strip()})


def _number(raw: str, what: str) -> float:
    try:
        return float(raw)
    except ValueError as exc:
        raise InvalidInput(f"{what} must be a number from 0 to 100, got {raw!r}.") from exc


@router.post("/ui/experiments/{experiment_id}/groups", include_in_schema=False)
def save_groups(
    request: Request,
    ctx: Web,
    experiment_id: str,
    group_name: list[str] = Form([]),
    group_size: list[str] = Form([]),
) -> Response:
    def build(current: dict[str, Any]) -> dict[str, Any]:
        groups = current["groups"]
        if len(group_name) != len(groups) or len(group_size) != len(groups):
            raise InvalidInput(f"Send a name and a size for each of the {len(groups)} groups.")
        return {
            "groups": [
                {
                    **group,
                    "name": name,
                    "size": _number(size, f"The size of group {name or index + 1}"),
                }
                for index, (group, name, size) in enumerate(
                    zip(groups, group_name, group_size, strict=True)
                )
            ]
        }

    return _patch(request, ctx, experiment_id, build)


def parse_value(raw: str, kind: str, where: str) -> Any:
    """A parameter value typed into the form, as the type chosen for the parameter."""
    if kind == "string":
        return raw
    if kind == "number":
        try:
            number = float(raw)
        except ValueError as exc:
            raise InvalidInput(f"{where} must be a number, got {raw!r}.") from exc
        return int(number) if number.is_integer() else number
    if kind == "boolean":
        if raw.strip().lower() not in ("true", "false"):
            raise InvalidInput(f"{where} must be true or false, got {raw!r}.")
        return raw.strip().lower() == "true"
    if kind == "json":
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"{where} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
            ) from exc
        if not isinstance(value, dict | list):
            raise InvalidInput(f"{where} must be a JSON object or array.")
        return value
    raise InvalidInput(f"Unknown parameter type {kind!r}.")


@router.post("/ui/experiments/{experiment_id}/parameters", include_in_schema=False)
def save_parameter(
    request: Request,
    ctx: Web,
    experiment_id: str,
    name: str = Form(""),
    kind: str = Form("string", alias="type"),
    value: list[str] = Form([]),
) -> Response:
    def build(current: dict[str, Any]) -> dict[str, Any]:
        parameter = name.strip()
        if not parameter:
            raise InvalidInput("The parameter needs a name.")
        groups = current["groups"]
        if len(value) != len(groups):
            raise InvalidInput(f"Send one value for each of the {len(groups)} groups.")
        return {
            "groups": [
                {
                    **group,
                    "parameterValues": {
                        **(group.get("parameterValues") or {}),
                        parameter: parse_value(raw, kind, f"The value for {group['name']}"),
                    },
                }
                for group, raw in zip(groups, value, strict=True)
            ]
        }

    return _patch(request, ctx, experiment_id, build)


@router.post("/ui/experiments/{experiment_id}/parameters/delete", include_in_schema=False)
def delete_parameter(
    request: Request, ctx: Web, experiment_id: str, name: str = Form("")
) -> Response:
    def build(current: dict[str, Any]) -> dict[str, Any]:
        if name not in parameter_names(current["groups"]):
            raise InvalidInput(f"The experiment has no parameter {name!r}.")
        return {
            "groups": [
                {
                    **group,
                    "parameterValues": {
                        k: v for k, v in (group.get("parameterValues") or {}).items() if k != name
                    },
                }
                for group in current["groups"]
            ]
        }

    return _patch(request, ctx, experiment_id, build)


@router.post("/ui/experiments/{experiment_id}/allocation", include_in_schema=False)
def save_allocation(
    request: Request, ctx: Web, experiment_id: str, allocation: str = Form("")
) -> Response:
    return _patch(
        request,
        ctx,
        experiment_id,
        lambda _: {"allocation": _number(allocation, "The allocation")},
    )


@router.post("/ui/experiments/{experiment_id}/targeting", include_in_schema=False)
def save_targeting(
    request: Request, ctx: Web, experiment_id: str, gate: str = Form("")
) -> Response:
    return _patch(request, ctx, experiment_id, lambda _: {"targetingGateID": gate.strip()})


@router.post("/ui/experiments/{experiment_id}/layer", include_in_schema=False)
def save_layer(request: Request, ctx: Web, experiment_id: str, layer: str = Form("")) -> Response:
    return _patch(request, ctx, experiment_id, lambda _: {"layerID": layer.strip() or None})


@router.post("/ui/experiments/{experiment_id}/metrics", include_in_schema=False)
def change_metrics(
    request: Request,
    ctx: Web,
    experiment_id: str,
    role: str = Form(""),
    metric: str = Form(""),
    op: str = Form("add"),
) -> Response:
    def build(current: dict[str, Any]) -> dict[str, Any]:
        key = {"primary": "primaryMetrics", "secondary": "secondaryMetrics"}.get(role)
        if key is None:
            raise InvalidInput("Choose primary or secondary metrics.")
        return {key: changed_metrics(ctx, current.get(key) or [], metric, op)}

    return _patch(request, ctx, experiment_id, build)


def changed_metrics(
    ctx: WebContext, chosen: list[dict[str, Any]], metric: str, op: str
) -> list[dict[str, Any]]:
    """``chosen`` (metric references) with ``metric`` (``name::type``) added from the catalog or
    removed, as a metric picker's form asks."""
    parts = split_id(metric)
    if parts is None:
        raise InvalidInput("Choose a metric from the catalog.")
    metric_name, metric_type = parts
    present = any(m["name"] == metric_name and m["type"] == metric_type for m in chosen)
    if op == "add":
        if not metrics_service.exists(ctx.session, ctx.project_id, metric_name, metric_type):
            raise InvalidInput(f"There is no metric {metric_name} ({metric_type}).")
        return chosen if present else [*chosen, {"name": metric_name, "type": metric_type}]
    if op == "remove":
        if not present:
            raise InvalidInput(f"{metric_name} ({metric_type}) is not among these metrics.")
        return [m for m in chosen if (m["name"], m["type"]) != (metric_name, metric_type)]
    raise InvalidInput("Choose Add or Remove.")


def _days(raw: str, what: str, *, least: int) -> int | None:
    """A whole number of at least ``least`` typed into the form; empty is no target."""
    text = raw.strip()
    if not text:
        return None
    try:
        number = int(text)
    except ValueError as exc:
        raise InvalidInput(f"{what} must be a whole number, got {raw!r}.") from exc
    if not least <= number <= MAX_TARGET:
        raise InvalidInput(f"{what} must be from {least} to {MAX_TARGET:,}, got {number}.")
    return number


# The Console API takes durations and exposure targets above 1; the page also bounds them above.
MAX_TARGET = 1_000_000_000


@router.post("/ui/experiments/{experiment_id}/significance", include_in_schema=False)
def save_significance(
    request: Request,
    ctx: Web,
    experiment_id: str,
    confidence: str = Form(""),
    analytics: str = Form(""),
    switch: list[str] = Form([]),
) -> Response:
    def build(_: dict[str, Any]) -> dict[str, Any]:
        if confidence not in CONFIDENCE_LEVELS:
            levels = ", ".join(f"{c}%" for c in CONFIDENCE_LEVELS)
            raise InvalidInput(f"The confidence level must be one of {levels}, got {confidence!r}.")
        if analytics not in dict(ANALYTICS_TYPES):
            kinds = ", ".join(label for _, label in ANALYTICS_TYPES)
            raise InvalidInput(f"The analysis must be one of {kinds}, got {analytics!r}.")
        known = dict(SIGNIFICANCE_SWITCHES)
        unknown = [s for s in switch if s not in known]
        if unknown:
            raise InvalidInput(f"Unknown significance setting {unknown[0]!r}.")
        # An unchecked box is not sent: every switch the form shows is set, on or off.
        switches = {key: key in switch for key in known}
        return {"defaultConfidenceInterval": confidence, "analyticsType": analytics, **switches}

    return _patch(request, ctx, experiment_id, build)


@router.post("/ui/experiments/{experiment_id}/target", include_in_schema=False)
def save_target(
    request: Request,
    ctx: Web,
    experiment_id: str,
    duration: str = Form(""),
    exposures: str = Form(""),
) -> Response:
    return _patch(
        request,
        ctx,
        experiment_id,
        lambda _: {
            "duration": _days(duration, "The target duration (days)", least=2),
            "targetExposures": _days(exposures, "The target exposures", least=2),
        },
    )


def _overrides_body(kind: str, group: str, ids: str, environment: str, target: str) -> OverridesIn:
    """The ``ExperimentOverridesDto`` of one override typed into the dialog."""
    if not group:
        raise InvalidInput("Choose the group to force into.")
    if kind == "ids":
        listed = lines(ids)
        if not listed:
            raise InvalidInput("List at least one unit ID, one a line.")
        entry = {"groupID": group, "ids": listed, "environment": environment or None}
        return validated(OverridesIn, {"userIDOverrides": [entry]})
    if kind in ("gate", "segment"):
        if not target.strip():
            raise InvalidInput(f"Name the {kind} whose members are forced into the group.")
        entry = {"type": kind, "id": target.strip(), "groupID": group}
        return validated(OverridesIn, {"overrides": [entry]})
    raise InvalidInput(f"Choose an ID, gate or segment override, got {kind!r}.")


@router.post("/ui/experiments/{experiment_id}/overrides", include_in_schema=False)
def add_override(
    request: Request,
    ctx: Web,
    experiment_id: str,
    kind: str = Form("ids"),
    group: str = Form(""),
    ids: str = Form(""),
    environment: str = Form(""),
    target: str = Form(""),
) -> Response:
    ctx.require("edit_or_delete_configs")

    def run() -> None:
        body = _overrides_body(kind, group, ids, environment, target)
        overrides.add(ctx.session, ctx.change, experiment_id, body)

    return _change(request, ctx, experiment_id, run, dialog="overrides")


@router.post("/ui/experiments/{experiment_id}/overrides/delete", include_in_schema=False)
def remove_override(
    request: Request,
    ctx: Web,
    experiment_id: str,
    kind: str = Form("ids"),
    group: str = Form(""),
    ids: str = Form(""),
    target: str = Form(""),
) -> Response:
    ctx.require("edit_or_delete_configs")

    def run() -> None:
        body = _overrides_body(kind, group, ids, "", target)
        stored = overrides.read(ctx.session, ctx.project_id, experiment_id)
        present = {(o["type"], o["id"]) for o in stored["overrides"]} | {
            ("ids", unit)
            for o in stored["userIDOverrides"]
            if o["groupID"] == group
            for unit in o["ids"]
        }
        wanted = {(o.type, o.id or "") for o in body.overrides} | {
            ("ids", unit) for o in body.user_id_overrides for unit in o.ids
        }
        missing = sorted(w[1] for w in wanted - present)
        if missing:
            raise InvalidInput(f"The experiment has no override of {', '.join(missing)}.")
        overrides.remove(ctx.session, ctx.change, experiment_id, body)

    return _change(request, ctx, experiment_id, run, dialog="overrides")
