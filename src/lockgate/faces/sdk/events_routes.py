"""``/v1/rgstr``, ``/v1/log_event`` and ``/v1/log_custom_exposure``: events from every SDK."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from lockgate.domains.events.service import prepare
from lockgate.errors import InvalidInput, LockgateError
from lockgate.faces.sdk.auth import SdkKey, authenticate_request
from lockgate.faces.sdk.payload import read_payload_and_digest
from lockgate.kit.responses import FastJSONResponse

logger = logging.getLogger(__name__)

router = APIRouter(tags=["SDK"])
EVENT_KEYS = ("SERVER", "CLIENT")


def _log_rejected(what: str, key_id: str, total: int, rejected: list[dict[str, Any]]) -> None:
    """One line per batch with skipped events: how many and why (the reasons are fixed
    phrases, never a value from the payload)."""
    reasons = Counter(str(item["message"]) for item in rejected)
    logger.warning(
        "%s: skipped %d of %d event(s) sent with key %s: %s",
        what,
        len(rejected),
        total,
        key_id,
        "; ".join(f"{reason} (x{count})" for reason, count in reasons.most_common()),
    )


def _store(
    request: Request, key: SdkKey, payload: Any, digest: str, events: Any, what: str
) -> FastJSONResponse:
    state = request.app.state
    metadata = payload.get("statsigMetadata") if isinstance(payload, dict) else None
    metadata = metadata if isinstance(metadata, dict) else {}
    sdk_type = (
        request.headers.get("statsig-sdk-type")
        or request.query_params.get("st")
        or metadata.get("sdkType")
    )
    stable_id = metadata.get("stableID") if isinstance(metadata.get("stableID"), str) else None
    batch = prepare(
        key.project_id,
        events,
        received_ms=state.clock.now_ms(),
        sdk_type=sdk_type,
        stable_id=stable_id,
        digest=digest,
    )
    result = state.event_writer.write(batch)
    body: dict[str, Any] = {"success": True}
    if result.rejected:
        total = len(events) if isinstance(events, list) else 1
        _log_rejected(what, key.key_id, total, result.rejected)
        body["rejected"] = result.rejected
    return FastJSONResponse(body, status_code=202)


def _events_of(payload: Any) -> Any:
    if not isinstance(payload, dict):
        raise InvalidInput.because("The body must be an object with an events array.")
    events = payload.get("events")
    if events is None:
        raise InvalidInput.field("events", "is required")
    user = payload.get("user")
    if isinstance(user, dict) and isinstance(events, list):
        # The HTTP API lets a batch name its user once.
        events = [
            {**e, "user": e.get("user") or user} if isinstance(e, dict) else e for e in events
        ]
    return events


async def _receive(
    request: Request, what: str, events_of: Callable[[Any], Any]
) -> FastJSONResponse:
    key = await authenticate_request(request, EVENT_KEYS, what)
    try:
        payload, digest = await read_payload_and_digest(request)
        events = events_of(payload)
    except LockgateError as problem:
        logger.warning(
            "%s: refused a whole batch from key %s: %s", what, key.key_id, problem.message
        )
        raise
    return await run_in_threadpool(_store, request, key, payload, digest, events, what)


@router.post("/v1/rgstr")
async def rgstr(request: Request) -> FastJSONResponse:
    return await _receive(request, "rgstr", _events_of)


@router.post("/v1/log_event")
async def log_event(request: Request) -> FastJSONResponse:
    return await _receive(request, "log_event", _events_of)


def _custom_exposure_event(exposure: Any, user: Any) -> Any:
    if not isinstance(exposure, dict):
        return exposure
    common = {
        "user": exposure.get("user") or user,
        "time": exposure.get("time"),
        "secondaryExposures": exposure.get("secondaryExposures"),
    }
    if "gateName" in exposure:
        return {
            **common,
            "eventName": "statsig::gate_exposure",
            "metadata": {
                "gate": exposure.get("gateName"),
                "gateValue": "true" if exposure.get("passes") else "false",
                "ruleID": exposure.get("ruleID") or exposure.get("group") or "",
                "reason": "CustomExposure",
            },
        }
    return {
        **common,
        "eventName": "statsig::config_exposure",
        "metadata": {
            "config": exposure.get("experimentName"),
            "ruleID": exposure.get("ruleID") or exposure.get("group") or "",
            "groupName": exposure.get("group"),
            "reason": "CustomExposure",
        },
    }


def _custom_exposures_of(payload: Any) -> list[Any]:
    if not isinstance(payload, dict) or not isinstance(payload.get("exposures"), list):
        raise InvalidInput.field("exposures", "an array of exposures is required")
    return [_custom_exposure_event(e, payload.get("user")) for e in payload["exposures"]]


@router.post("/v1/log_custom_exposure")
async def log_custom_exposure(request: Request) -> FastJSONResponse:
    return await _receive(request, "log_custom_exposure", _custom_exposures_of)
