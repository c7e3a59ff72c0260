"""Warehouse rows as ``events`` rows: how each column of a source's mapping fills an event, for
the Events and Metrics datasets (docs/warehouse.md §Ingestions). Pure: no database, no
warehouse."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

MAX_NAME: Final = 128
MAX_TEXT: Final = 2000
# A unit id type as the SDKs spell it -> the event column that holds it.
USER_ID_TYPES: Final = frozenset({"userID", "user_id", "userid"})
STABLE_ID_TYPES: Final = frozenset({"stableID", "stable_id", "stableid"})


class BadRow(Exception):
    """A warehouse row that cannot become an event; the message names the row and column."""


@dataclass(frozen=True)
class Source:
    """What a load needs of a source, read once so that no session is held while the
    warehouse works."""

    id: str
    project_id: str
    name: str
    type: str
    dataset: str
    query: str
    mapping: Mapping[str, Any]
    # A ``parquet`` source's folder: its query is built where the files directory is known.
    path: str | None = None


def day_bounds_s(ds: str) -> tuple[int, int]:
    start = dt.datetime.fromisoformat(ds).replace(tzinfo=dt.UTC)
    return int(start.timestamp()), int(start.timestamp()) + 86_400


def _text(value: Any, row: int, column: str, limit: int = MAX_TEXT) -> str:
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        raise BadRow(f"row {row}: {column} contains a NUL character")
    return text[:limit]


def _number(value: Any, row: int, column: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadRow(f"row {row}: {column} is not a number ({str(value)[:40]!r})") from None
    if not math.isfinite(number):
        raise BadRow(f"row {row}: {column} is not a finite number")
    return number


def _place_id(units: dict[str, Any], unit_type: str, value: Any, row: int, column: str) -> None:
    if value is None or value == "":
        return
    text = _text(value, row, column, 512)
    if unit_type in USER_ID_TYPES:
        units.setdefault("user_id", text)
    elif unit_type in STABLE_ID_TYPES:
        units.setdefault("stable_id", text)
        units["custom"].setdefault("stableID", text)
    else:
        units["custom"].setdefault(unit_type, text)


def _event(
    project_id: str, key: str, now_ms: int, name: Any, time_ms: int, units: dict[str, Any], row: int
) -> dict[str, Any]:
    if name is None or name == "":
        raise BadRow(f"row {row}: the event or metric name is empty")
    event_name = _text(name, row, "name")
    if len(event_name) >= MAX_NAME:
        raise BadRow(f"row {row}: the name {event_name[:40]!r}... is {MAX_NAME} characters or more")
    if units.get("user_id") is None and units.get("stable_id") is None and not units["custom"]:
        raise BadRow(f"row {row}: no unit id")
    user: dict[str, Any] = {}
    if units.get("user_id") is not None:
        user["userID"] = units["user_id"]
    if units["custom"]:
        user["customIDs"] = dict(units["custom"])
    return {
        "project_id": project_id,
        "event_name": event_name,
        "value_text": None,
        "value_number": None,
        "user_id": units.get("user_id"),
        "stable_id": units.get("stable_id"),
        "custom_ids": dict(units["custom"]) or None,
        "time": time_ms,
        "received_time": now_ms,
        "event_metadata": None,
        "user": user,
        "sdk_type": "ingestion",
        "ingestion": key,
    }


def event_rows(
    source: Source,
    ds: str,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    key: str,
    now_ms: int,
) -> list[dict[str, Any]]:
    """The warehouse rows of one day as ``events`` rows; a row that cannot become one raises
    ``BadRow`` and nothing of the day is written."""
    mapping = source.mapping
    index = {name: i for i, name in enumerate(columns)}
    out = []
    for n, raw in enumerate(rows, start=1):
        value = {name: raw[i] for name, i in index.items()}
        units: dict[str, Any] = {"custom": {}}
        if source.dataset == "Events":
            seconds = _number(value[mapping["timestamp"]], n, mapping["timestamp"])
            if seconds is None:
                raise BadRow(f"row {n}: {mapping['timestamp']} is empty")
            if mapping.get("unit_id"):
                _place_id(units, "userID", value[mapping["unit_id"]], n, mapping["unit_id"])
            for column, unit_type in mapping.get("ids", {}).items():
                _place_id(units, unit_type, value[column], n, column)
            event = _event(
                source.project_id,
                key,
                now_ms,
                value[mapping["event_name"]],
                round(seconds * 1000),
                units,
                n,
            )
            metadata = {
                meta_key: _text(value[column], n, column)
                for column, meta_key in mapping.get("metadata", {}).items()
                if value[column] is not None
            }
            if mapping.get("metadata_object"):
                metadata.update(
                    _unpacked(value[mapping["metadata_object"]], n, mapping["metadata_object"])
                )
            event["event_metadata"] = metadata or None
            if mapping.get("event_value") and value[mapping["event_value"]] is not None:
                raw_value = value[mapping["event_value"]]
                event["value_text"] = _text(raw_value, n, mapping["event_value"])
                try:
                    event["value_number"] = _number(raw_value, n, mapping["event_value"])
                except BadRow:
                    event["value_number"] = None  # a text value
        else:
            unit_type = value[mapping["id_type"]]
            if unit_type in (None, ""):
                raise BadRow(f"row {n}: {mapping['id_type']} is empty")
            _place_id(
                units,
                _text(unit_type, n, mapping["id_type"], 128),
                value[mapping["unit_id"]],
                n,
                mapping["unit_id"],
            )
            start_s, _ = day_bounds_s(ds)
            event = _event(
                source.project_id,
                key,
                now_ms,
                value[mapping["metric_name"]],
                start_s * 1000,
                units,
                n,
            )
            if mapping.get("metric_value"):
                number = _number(value[mapping["metric_value"]], n, mapping["metric_value"])
                event["value_number"] = number
                event["value_text"] = None if number is None else repr(number)
            ratio = {
                part: _number(value[mapping[part]], n, mapping[part])
                for part in ("numerator", "denominator")
                if mapping.get(part)
            }
            if ratio:
                event["event_metadata"] = {
                    k: ("" if v is None else repr(v)) for k, v in ratio.items()
                }
        out.append(event)
    return out


def _unpacked(raw: Any, row: int, column: str) -> dict[str, str]:
    """A JSON object column unpacked one level; nested values become JSON strings."""
    if raw is None or raw == "":
        return {}
    value = raw
    if isinstance(raw, str | bytes):
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BadRow(f"row {row}: {column} is not a JSON object") from None
    if not isinstance(value, dict):
        raise BadRow(f"row {row}: {column} is not a JSON object")
    return {str(k): v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in value.items()}


def digest(events: list[dict[str, Any]]) -> str:
    """A fingerprint of a day's events that ignores row order and load time."""
    lines = sorted(
        orjson.dumps(
            {k: v for k, v in e.items() if k != "received_time"}, option=orjson.OPT_SORT_KEYS
        )
        for e in events
    )
    return hashlib.sha256(b"\n".join(lines)).hexdigest()
