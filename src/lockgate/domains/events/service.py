"""Validate a batch of SDK events (``prepare``) and land its rows (``store``, through
``events.writer``, which commits before a request is acknowledged).

Every field of every event is checked here, before the database sees it: a malformed event is
reported (its index and the problem) and skipped, and the rest of the batch is kept. Since
concurrent batches share one transaction, an event that reached the database and failed there
would fail other clients' batches too; the writer retries each batch of a failed group alone,
but nothing a client sends should get that far. The bounds are in ``kit.limits``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, cast

import orjson
from sqlalchemy import Connection

from lockgate.domains.events import repository
from lockgate.kit.jsonvalues import find_problem, text_problem
from lockgate.kit.limits import (
    MAX_EVENT_JSON_BYTES,
    MAX_EVENT_JSON_INT,
    MAX_EVENT_TIME_MS,
    MAX_JSON_DEPTH,
    MAX_UNIT_ID_CHARS,
)

MAX_EVENT_NAME = 200
MAX_TEXT = 2000
MAX_SDK_TYPE = 64
EXPOSURE_KINDS = {
    "statsig::gate_exposure": "gate",
    "statsig::config_exposure": "config",
    "statsig::layer_exposure": "layer",
}
# SDK self-reporting: accepted and counted, not stored as analysis data.
IGNORED_EVENTS = frozenset({"statsig::diagnostics"})
_TIME = f"time must be epoch milliseconds from 0 to {MAX_EVENT_TIME_MS} (the end of year 9999)"


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


def _may_nest_too_deep(data: bytes) -> bool:
    """Each level takes two brackets: short JSON cannot nest too deep, nor JSON with few."""
    return len(data) > 2 * MAX_JSON_DEPTH and data.count(b"{") + data.count(b"[") > MAX_JSON_DEPTH


def _json(value: Any, name: str) -> str:
    """A JSON field of the event (user, metadata, secondaryExposures): storable (the rules of
    ``kit.jsonvalues``), and small; returns its JSON text, which is what the row stores.

    Serialising with orjson is an order of magnitude faster than walking the value in Python,
    and its success says most of it: no lone surrogate, no integer past 64 bits. The exact walk
    runs only when orjson refuses the value, when it wrote a NUL character, or when there are
    enough brackets to nest too deep; that walk names what is wrong and where.
    """
    try:
        data: bytes | None = orjson.dumps(value)
    except TypeError:  # nested past orjson's limit, an integer past 64 bits, a lone surrogate
        data = None
    if data is None or b"\\u0000" in data or _may_nest_too_deep(data):
        problem = find_problem(value, max_int=MAX_EVENT_JSON_INT)
        if problem is not None:
            raise _Reject(f"{problem.where(name)} {problem.message}")
    if data is None:  # pragma: no cover - whatever orjson refuses, the walk names
        raise _Reject(f"{name} is not JSON")
    if len(data) > MAX_EVENT_JSON_BYTES:
        raise _Reject(
            f"{name} is {len(data)} bytes of JSON; at most {MAX_EVENT_JSON_BYTES} are kept"
        )
    return data.decode()


def _unit_id(value: Any, name: str) -> str:
    """A unit id as stored: a string or a number, as text, at most MAX_UNIT_ID_CHARS long."""
    if type(value) is str and len(value) <= MAX_UNIT_ID_CHARS:
        return value  # the common case, first
    if isinstance(value, dict | list):
        raise _Reject(f"{name} must be a string or a number")
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_UNIT_ID_CHARS:
        raise _Reject(f"{name} is longer than {MAX_UNIT_ID_CHARS} characters")
    return text


def _unit_ids(user: Mapping[str, Any] | None) -> tuple[str | None, str | None, dict[str, Any]]:
    if not user:
        return None, None, {}
    custom = user.get("customIDs") or user.get("customIds") or {}
    if not isinstance(custom, dict | Mapping):
        raise _Reject("user.customIDs must be an object")
    custom_ids = {
        key: _unit_id(value, f"user.customIDs.{key}")
        for key, value in custom.items()
        if value is not None and value != ""
    }
    user_id = user.get("userID", user.get("userId"))
    stable_id = custom_ids.get("stableID")
    if user_id in (None, ""):
        return None, stable_id, custom_ids
    return _unit_id(user_id, "user.userID"), stable_id, custom_ids


def _clean_user(user: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The user as stored (without private attributes) and its JSON text."""
    if user is None:
        return None, None
    if not isinstance(user, dict | Mapping):
        raise _Reject("user must be an object")
    if "privateAttributes" in user:
        # Private attributes are for evaluation only; they are never stored.
        user = {k: v for k, v in user.items() if k != "privateAttributes"}
    return cast(dict[str, Any], user), _json(user, "user")


def _time(event: Mapping[str, Any], received: int) -> int:
    raw = event.get("time")
    if raw is None:
        return received
    if type(raw) is int:
        if not 0 <= raw <= MAX_EVENT_TIME_MS:
            raise _Reject(_TIME)
        return raw
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise _Reject(_TIME)
    try:
        value = float(raw)
    except (ValueError, OverflowError):
        raise _Reject(_TIME) from None
    if not 0 <= value <= MAX_EVENT_TIME_MS:  # also false for NaN
        raise _Reject(_TIME)
    return int(value)


def _metadata(event: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The event's metadata and its JSON text (None when there is none, or it is empty)."""
    metadata = event.get("metadata")
    if metadata is None:
        return {}, None
    if not isinstance(metadata, dict):
        raise _Reject("metadata must be an object")
    text = _json(metadata, "metadata")
    return metadata, (text if metadata else None)


def _value(value: Any) -> tuple[float | None, str | None]:
    """A custom event's value as ``(number, text)``: a finite number, a string (a number in a
    string counts as one), a boolean (kept as text) or nothing."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        return None, _text(value, MAX_TEXT)
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond every float
            number = math.inf
        if not math.isfinite(number):
            raise _Reject("value must be a finite number or a string")
        return number, _text(value, MAX_TEXT)
    if isinstance(value, str):
        if (problem := text_problem(value)) is not None:
            raise _Reject(f"value {problem}")
        try:
            number = float(value)
        except ValueError:
            return None, value[:MAX_TEXT]
        return (number if math.isfinite(number) else None), value[:MAX_TEXT]
    raise _Reject("value must be a number or a string")


def _sdk_type(value: Any) -> str | None:
    """The SDK's own name for itself, a label for people: dropped when it cannot be stored."""
    if not isinstance(value, str) or text_problem(value) is not None:
        return None
    return value[:MAX_SDK_TYPE]


# The columns of a prepared row, in the order of its values. Rows are tuples with their JSON
# columns already as text (the text validation serialised): building a dict per event and
# serialising its JSON values a second time at insert cost more than the insert.
EXPOSURE_COLUMNS: Final = (
    "project_id",
    "user_id",
    "stable_id",
    "custom_ids",
    "time",
    "received_time",
    "metadata",
    "sdk_type",
    "kind",
    "name",
    "rule_id",
    "group_name",
    "value",
    "allocated_experiment",
    "parameter_name",
    "secondary_exposures",
)
CUSTOM_COLUMNS: Final = (
    "project_id",
    "user_id",
    "stable_id",
    "custom_ids",
    "time",
    "received_time",
    "metadata",
    "sdk_type",
    "event_name",
    "value_text",
    "value_number",
    "user",
)
Row = tuple[Any, ...]


@dataclass
class PreparedBatch:
    """A validated batch: its rows (``EXPOSURE_COLUMNS`` and ``CUSTOM_COLUMNS``), ready to
    insert, and what became of each event."""

    exposures: list[Row] = field(default_factory=list)
    customs: list[Row] = field(default_factory=list)
    result: BatchResult = field(default_factory=BatchResult)
    # The body's digest when the batch may be recognised if it is sent again (``resendable``).
    digest: str | None = None
    project_id: str = ""
    received_ms: int = 0


def resendable(events: Any) -> bool:
    """Whether a batch sent again would be the same batch, not new events: every event names
    its own time, as the SDKs' do. A batch without times (an HTTP API client's) could be two
    equal clicks a moment apart, so it is never taken for a resend."""
    return (
        isinstance(events, list)
        and bool(events)
        and all(isinstance(e, dict) and e.get("time") is not None for e in events)
    )


def prepare(
    project_id: str,
    events: Any,
    *,
    received_ms: int,
    sdk_type: str | None,
    stable_id: str | None = None,
    digest: str | None = None,
) -> PreparedBatch:
    """Validate a batch without touching the database. ``stable_id`` fills in the browser
    SDK's metadata stable id; ``digest`` identifies the body when the batch is ``resendable``
    (``store`` then stores it once however often it comes)."""
    batch = PreparedBatch(
        digest=digest if resendable(events) else None,
        project_id=project_id,
        received_ms=received_ms,
    )
    result = batch.result
    sdk_type = _sdk_type(sdk_type)
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
    """Land the rows of every batch in the incoming tables (``events.incoming``), except the
    batches already stored: a batch with a digest is recorded in the same transaction as its
    rows, and one whose digest is recorded already (sent again, in this group or earlier) lands
    nothing."""
    first = repository.record_batches(
        connection,
        [(b.project_id, b.digest, b.received_ms) for b in batches if b.digest is not None],
    )
    landing = []
    for batch in batches:
        key = (batch.project_id, batch.digest)
        if batch.digest is None:
            landing.append(batch)
        elif key in first:
            first.discard(key)  # a second copy in the same group lands nothing either
            landing.append(batch)
    batches = landing
    exposures = [row for batch in batches for row in batch.exposures]
    customs = [row for batch in batches for row in batch.customs]
    repository.insert_tuples(connection, "exposures_incoming", EXPOSURE_COLUMNS, exposures)
    repository.insert_tuples(connection, "events_incoming", CUSTOM_COLUMNS, customs)


def _row(
    event: Any,
    project_id: str,
    received_ms: int,
    sdk_type: str | None,
    fallback_stable_id: str | None,
) -> tuple[Row, str]:
    if not isinstance(event, dict | Mapping):
        raise _Reject("event must be an object")
    name = event.get("eventName")
    if not isinstance(name, str) or not name.strip():
        raise _Reject("eventName is required")
    if len(name) > MAX_EVENT_NAME:
        raise _Reject(f"eventName is longer than {MAX_EVENT_NAME} characters")
    if (problem := text_problem(name)) is not None:
        raise _Reject(f"eventName {problem}")
    if name in IGNORED_EVENTS:
        return (), "ignored"
    user, user_text = _clean_user(event.get("user"))
    user_id, stable_id, custom_ids = _unit_ids(user)
    if not stable_id and fallback_stable_id:
        stable_id = _unit_id(fallback_stable_id, "statsigMetadata.stableID")
        if problem := text_problem(stable_id):
            raise _Reject(f"statsigMetadata.stableID {problem}")
    if stable_id and "stableID" not in custom_ids:
        custom_ids["stableID"] = stable_id
    metadata, metadata_text = _metadata(event)
    common = (
        project_id,
        user_id,
        stable_id,
        orjson.dumps(custom_ids).decode() if custom_ids else None,
        _time(event, received_ms),
        received_ms,
        metadata_text,
        sdk_type,
    )
    kind = EXPOSURE_KINDS.get(name)
    if kind is not None:
        return _exposure(kind, event, metadata, common), "exposure"
    number, text = _value(event.get("value"))
    return (*common, name, text, number, user_text), "custom"


def _exposure(kind: str, event: Mapping[str, Any], metadata: Mapping[str, Any], common: Row) -> Row:
    entity = metadata.get("gate") if kind == "gate" else metadata.get("config")
    if not isinstance(entity, str) or not entity:
        field_name = "gate" if kind == "gate" else "config"
        raise _Reject(f"an exposure needs metadata.{field_name}")
    secondary = event.get("secondaryExposures")
    if secondary is not None and not isinstance(secondary, list):
        raise _Reject("secondaryExposures must be an array")
    secondary_text = _json(secondary, "secondaryExposures") if secondary else None
    value = metadata.get("gateValue") if kind == "gate" else metadata.get("rulePassed")
    return (
        *common,
        kind,
        entity[:200],
        _text(metadata.get("ruleID")),
        _text(metadata.get("groupName") or metadata.get("group")),
        _text(value),
        _text(metadata.get("allocatedExperiment")) or None,
        _text(metadata.get("parameterName")),
        secondary_text,
    )
