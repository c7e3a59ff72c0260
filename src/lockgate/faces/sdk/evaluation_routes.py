"""``/v1/initialize`` for client SDKs and the HTTP evaluation API (check_gate, get_config,
get_layer), all answered by Lockgate's evaluator over the cached spec."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from lockgate.domains.events.service import prepare
from lockgate.domains.specs.cache import Rendered
from lockgate.errors import InvalidInput, NotFound
from lockgate.faces.sdk.auth import SdkKey, authenticate_request, key_text
from lockgate.faces.sdk.initialize import initialize_bytes, request_user
from lockgate.faces.sdk.payload import read_payload
from lockgate.faces.sdk.specs_routes import rendered_for
from lockgate.kit.responses import FastJSONResponse

router = APIRouter(tags=["SDK"])
EVALUATION_KEYS = ("SERVER", "CLIENT")


async def _key_and_payload(request: Request, what: str) -> tuple[SdkKey, Any]:
    key = await authenticate_request(request, EVALUATION_KEYS, what)
    return key, await read_payload(request)


def _user(request: Request, payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    return request_user(
        payload,
        request.headers,
        request.client.host if request.client else None,
        request.app.state.trusted_proxies,
    )


def _initialize(request: Request, key: SdkKey, payload: Any, rendered: Rendered) -> Response:
    body = initialize_bytes(
        key,
        payload,
        rendered,
        headers=request.headers,
        peer=request.client.host if request.client else None,
        trusted_proxies=request.app.state.trusted_proxies,
        raw_key=key_text(request),
    )
    return Response(body, media_type="application/json")


@router.post("/v1/initialize")
async def initialize(request: Request) -> Response:
    key, payload = await _key_and_payload(request, "initialize")
    rendered = await rendered_for(request, key)
    if rendered.evaluator_ready:
        # Evaluation is pure CPU work under the GIL: a worker thread would only add the hop.
        return _initialize(request, key, payload, rendered)
    return await run_in_threadpool(_initialize, request, key, payload, rendered)


def _log_exposures(request: Request, key: SdkKey, events: list[dict[str, Any]]) -> None:
    state = request.app.state
    batch = prepare(key.project_id, events, received_ms=state.clock.now_ms(), sdk_type="http-api")
    state.event_writer.write(batch)


def _exposure(
    user: dict[str, Any], name: str, metadata: dict[str, str], secondary: Any
) -> dict[str, Any]:
    return {
        "eventName": name,
        "user": user,
        "time": int(time.time() * 1000),
        "metadata": metadata,
        "secondaryExposures": [e.to_wire() for e in secondary],
    }


def _names(payload: dict[str, Any], single: str, many: str | None = None) -> list[str]:
    names = payload.get(many) if many else None
    if names is None:
        one = payload.get(single)
        if not isinstance(one, str) or not one:
            raise InvalidInput.field(single, "is required")
        return [one]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise InvalidInput.field(str(many), "must be a non-empty array of names")
    return names


def _check_gate(request: Request, key: SdkKey, payload: Any) -> FastJSONResponse:
    if not isinstance(payload, dict):
        raise InvalidInput.because("The body must be a JSON object.")
    names = _names(payload, "gateName", "gateNames")
    user, _ = _user(request, payload)
    evaluator = request.app.state.spec_cache.get(key.project_id, key.scope).evaluator
    results: dict[str, Any] = {}
    exposures = []
    for name in names:
        gate = evaluator.check_gate(user, name)
        results[name] = {
            "name": name,
            "value": gate.value,
            "rule_id": gate.rule_id or None,
            "group_name": gate.group_name,
        }
        exposures.append(
            _exposure(
                user,
                "statsig::gate_exposure",
                {
                    "gate": name,
                    "gateValue": "true" if gate.value else "false",
                    "ruleID": gate.rule_id,
                    "reason": str(gate.reason),
                },
                gate.secondary_exposures,
            )
        )
    _log_exposures(request, key, exposures)
    if "gateNames" in payload:
        return FastJSONResponse(results)
    return FastJSONResponse(results[names[0]])


@router.post("/v1/check_gate")
async def check_gate(request: Request) -> FastJSONResponse:
    key, payload = await _key_and_payload(request, "check_gate")
    return await run_in_threadpool(_check_gate, request, key, payload)


def _get_config(request: Request, key: SdkKey, payload: Any) -> FastJSONResponse:
    if not isinstance(payload, dict):
        raise InvalidInput.because("The body must be a JSON object.")
    (name,) = _names(payload, "configName")
    user, _ = _user(request, payload)
    evaluator = request.app.state.spec_cache.get(key.project_id, key.scope).evaluator
    config = evaluator.get_config(user, name)
    metadata = {
        "config": name,
        "ruleID": config.rule_id,
        "rulePassed": "true" if config.passed else "false",
        "reason": str(config.reason),
    }
    if config.group_name:
        metadata["groupName"] = config.group_name
    _log_exposures(
        request,
        key,
        [_exposure(user, "statsig::config_exposure", metadata, config.secondary_exposures)],
    )
    return FastJSONResponse(
        {
            "name": name,
            "value": dict(config.value),
            "group": config.rule_id,
            "rule_id": config.rule_id or None,
            "group_name": config.group_name,
        }
    )


@router.post("/v1/get_config")
async def get_config(request: Request) -> FastJSONResponse:
    key, payload = await _key_and_payload(request, "get_config")
    return await run_in_threadpool(_get_config, request, key, payload)


def _get_layer(request: Request, key: SdkKey, payload: Any) -> FastJSONResponse:
    if not isinstance(payload, dict):
        raise InvalidInput.because("The body must be a JSON object.")
    (name,) = _names(payload, "layerName")
    user, _ = _user(request, payload)
    evaluator = request.app.state.spec_cache.get(key.project_id, key.scope).evaluator
    if name not in evaluator.store.layer_configs:
        raise NotFound(f"Layer {name!r} not found.")
    layer = evaluator.get_layer(user, name)
    body: dict[str, Any] = {"name": name, "value": dict(layer.value), "ruleID": layer.rule_id}
    if layer.allocated_experiment_name:
        body["allocatedExperimentName"] = layer.allocated_experiment_name
    return FastJSONResponse(body)


@router.post("/v1/get_layer")
async def get_layer(request: Request) -> FastJSONResponse:
    key, payload = await _key_and_payload(request, "get_layer")
    return await run_in_threadpool(_get_layer, request, key, payload)
