"""Validate a batch of SDK events (``prepare``) and land its rows (``store``, through
``events.writer``, which commits before a request is acknowledged).

One malformed event is reported (its index and the problem) and skipped; the rest are kept.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from lockgate.domains.events import repository

MAX_EVENT_NAME = 200
MAX_TEXT = 2000
EXPOSURE_KINDS = {
    "statsig::gate_exposure": "gate",
    "statsig::config_exposure": "config",
    "statsig::layer_exposure": "layer",
}
# SDK self-reporting: accepted and counted, not stored as analysis data.
IGNORED_EVENTS = frozenset({"statsig::diagnostics"})


@dataclass
class BatchResult:
    stored_exposures: int = 0
    stored_events: int = 0
    ignored: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


class _Reject(Exception):
    pass


def _text(value: Any, limit: int = 200) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)[:limit]
    return json.dumps(value)[:limit]


def _unit_ids(user: Mapping[str, Any] | None) -> tuple[str | None, str | None, dict[str, Any]]:
    if not user:
        return None, None, {}
    custom = user.get("customIDs") or user.get("customIds") or {}
    if not isinstance(custom, Mapping):
        raise _Reject("user.customIDs must be an object")
    custom_ids = {
        k if isinstance(k, str) else str(k): v if isinstance(v, str) else str(v)
        for k, v in custom.items()
        if v is not None and v != ""
    }
    user_id = user.get("userID", user.get("userId"))
    stable_id = custom_ids.get("stableID")
    return (None if user_id in (None, "") else str(user_id)), stable_id, custom_ids


def _clean_user(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    if not isinstance(user, Mapping):
        raise _Reject("user must be an object")
    if "privateAttributes" not in user:
        return user  # type: ignore[return-value]
    # Private attributes are for evaluation only; they are never stored.
    return {k: v for k, v in user.items() if k != "privateAttributes"}


def _time(event: Mapping[str, Any], received: int) -> int:
    raw = event.get("time")
    if raw is None:
        return received
    if type(raw) is int and raw >= 0:
        return raw
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise _Reject("time must be epoch milliseconds")
    try:
        value = float(raw)
    except ValueError:
        raise _Reject("time must be epoch milliseconds") from None
    if not math.isfinite(value) or value < 0:
        raise _Reject("time must be epoch milliseconds")
    return int(value)


def _metadata(event: Mapping[str, Any]) -> dict[str, Any]:
    metadata = event.get("metadata")
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise _Reject("metadata must be an object")
    return metadata


@dataclass
class PreparedBatch:
    """A validated batch: its rows, ready to insert, and what became of each event."""

    exposures: list[dict[str, Any]] = field(default_factory=list)
    customs: list[dict[str, Any]] = field(default_factory=list)
    result: BatchResult = field(default_factory=BatchResult)


def prepare(
    project_id: str,
    events: Any,
    *,
    received_ms: int,
    sdk_type: str | None,
    stable_id: str | None = None,
) -> PreparedBatch:
    """Validate a batch without touching the database. ``stable_id`` fills in the browser
    SDK's metadata stable id."""
    batch = PreparedBatch()
    result = batch.result
    if not isinstance(events, Sequence) or isinstance(events, str | bytes):
        result.rejected.append({"index": None, "message": "events must be an array"})
        return batch
    for index, event in enumerate(events):
        try:
            row, kind = _row(event, project_id, received_ms, sdk_type, stable_id)
        except _Reject as problem:
            result.rejected.append({"index": index, "message": str(problem)})
            continue
        if kind == "ignored":
            result.ignored += 1
        elif kind == "exposure":
            batch.exposures.append(row)
        else:
            batch.customs.append(row)
    result.stored_exposures = len(batch.exposures)
    result.stored_events = len(batch.customs)
    return batch


def store(connection: Connection, batches: Sequence[PreparedBatch]) -> None:
    """Land the rows of every batch in the incoming tables (``events.incoming``)."""
    exposures = [row for batch in batches for row in batch.exposures]
    customs = [row for batch in batches for row in batch.customs]
    repository.insert_rows(connection, "exposures_incoming", exposures)
    repository.insert_rows(connection, "events_incoming", customs)


def _row(
    event: Any,
    project_id: str,
    received_ms: int,
    sdk_type: str | None,
    fallback_stable_id: str | None,
) -> tuple[dict[str, Any], str]:
    if not isinstance(event, Mapping):
        raise _Reject("event must be an object")
    name = event.get("eventName")
    if not isinstance(name, str) or not name.strip():
        raise _Reject("eventName is required")
    if len(name) > MAX_EVENT_NAME:
        raise _Reject(f"eventName is longer than {MAX_EVENT_NAME} characters")
    if name in IGNORED_EVENTS:
        return {}, "ignored"
    user = _clean_user(event.get("user"))
    user_id, stable_id, custom_ids = _unit_ids(user)
    stable_id = stable_id or fallback_stable_id
    if stable_id and "stableID" not in custom_ids:
        custom_ids["stableID"] = stable_id
    metadata = _metadata(event)
    common = {
        "project_id": project_id,
        "user_id": user_id,
        "stable_id": stable_id,
        "custom_ids": custom_ids or None,
        "time": _time(event, received_ms),
        "received_time": received_ms,
        "metadata": metadata or None,
        "sdk_type": _text(sdk_type, 64),
    }
    kind = EXPOSURE_KINDS.get(name)
    if kind is not None:
        return _exposure(kind, event, metadata, common), "exposure"
    value = event.get("value")
    if isinstance(value, bool) or value is None:
        number, text = None, _text(value, MAX_TEXT) if value is not None else None
    elif isinstance(value, int | float):
        if not math.isfinite(value):
            raise _Reject("value must be a finite number or a string")
        number, text = float(value), _text(value, MAX_TEXT)
    elif isinstance(value, str):
        text = value[:MAX_TEXT]
        try:
            number = float(value)
            number = number if math.isfinite(number) else None
        except ValueError:
            number = None
    else:
        raise _Reject("value must be a number or a string")
    return {
        **common,
        "event_name": name,
        "value_text": text,
        "value_number": number,
        "user": user,
    }, "custom"


def _exposure(
    kind: str, event: Mapping[str, Any], metadata: Mapping[str, Any], common: dict[str, Any]
) -> dict[str, Any]:
    entity = metadata.get("gate") if kind == "gate" else metadata.get("config")
    if not isinstance(entity, str) or not entity:
        field_name = "gate" if kind == "gate" else "config"
        raise _Reject(f"an exposure needs metadata.{field_name}")
    secondary = event.get("secondaryExposures")
    if secondary is not None and not isinstance(secondary, list):
        raise _Reject("secondaryExposures must be an array")
    value = metadata.get("gateValue") if kind == "gate" else metadata.get("rulePassed")
    return {
        **common,
        "kind": kind,
        "name": entity[:200],
        "rule_id": _text(metadata.get("ruleID")),
        "group_name": _text(metadata.get("groupName") or metadata.get("group")),
        "value": _text(value),
        "allocated_experiment": _text(metadata.get("allocatedExperiment")) or None,
        "parameter_name": _text(metadata.get("parameterName")),
        "secondary_exposures": secondary or None,
    }
