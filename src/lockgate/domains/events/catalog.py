"""What the Console shows of logged events: the event names and recent events. (The metrics
defined on an event are the metrics domain's: ``metrics.service.list_using_event``.)"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.orm import Session

from lockgate.domains.events import incoming, repository
from lockgate.storage.models import CustomEvent, Exposure


def logged_event_dto(event: CustomEvent) -> dict[str, Any]:
    """``LoggedEventDto``: every field is a string, empty when the event did not have it."""
    return {
        "timestamp": str(event.time),
        "name": event.event_name,
        "source": event.sdk_type or "",
        "value": event.value_text or "",
        "userID": event.user_id or "",
        "metadata": event.event_metadata or {},
    }


def list_(
    session: Session, project_id: str, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """One item per event name: its latest event, plus how many events and users it has had."""
    incoming.settle_before(session)
    summaries, total = repository.event_summaries(session, project_id, offset=offset, limit=limit)
    items = [
        logged_event_dto(s.latest)
        | {"eventCount": s.count, "userCount": s.user_count, "firstSeenTime": s.first_time}
        for s in summaries
    ]
    return items, total


def list_recent(
    session: Session, project_id: str, name: str, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    incoming.settle_before(session)
    rows, total = repository.recent_events(session, project_id, name, offset=offset, limit=limit)
    return [logged_event_dto(e) for e in rows], total


TREND_DAYS = 14
STREAM_SCAN_FACTOR = 4


def trends(
    session: Session, project_id: str, names: list[str], now_ms: int
) -> dict[str, list[int]]:
    """Per event name, its events on each of the last ``TREND_DAYS`` UTC days, oldest first."""
    incoming.settle_before(session)
    today = now_ms // repository.DAY_MS
    first = today - TREND_DAYS + 1
    counts = repository.daily_counts(session, project_id, names, first * repository.DAY_MS)
    return {
        name: [counts.get(name, {}).get(day, 0) for day in range(first, today + 1)]
        for name in names
    }


@dataclass(frozen=True)
class DayChecks:
    """One UTC day of an entity's exposures: how many, and how many passed (gates)."""

    passed: int
    total: int


def exposure_trends(
    session: Session, project_id: str, kind: str, names: list[str], now_ms: int
) -> dict[str, list[DayChecks]]:
    """Per entity name (gates: ``kind="gate"``; experiments: ``"config"``), its exposures on
    each of the last ``TREND_DAYS`` UTC days, oldest first, read in one grouped query."""
    incoming.settle_before(session)
    today = now_ms // repository.DAY_MS
    first = today - TREND_DAYS + 1
    counts = repository.exposure_daily_counts(
        session,
        project_id,
        kind,
        names,
        first * repository.DAY_MS,
        (today + 1) * repository.DAY_MS,
    )
    return {
        name: [DayChecks(*counts.get(name, {}).get(day, (0, 0))) for day in range(first, today + 1)]
        for name in names
    }


BREAKDOWN_SCAN = 5_000
BREAKDOWN_TOP = 10
BREAKDOWN_KEYS = 10
BREAKDOWN_TEXT = 200
NO_VALUE = "(no value)"


@dataclass(frozen=True)
class ValueCount:
    value: str
    count: int


@dataclass(frozen=True)
class Breakdown:
    """The most frequent values among an event's newest ``scanned`` events: of its ``value``,
    and of each metadata key (the keys present on the most events first)."""

    scanned: int
    values: list[ValueCount]
    metadata: dict[str, list[ValueCount]]


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text[:BREAKDOWN_TEXT]


def _top(counter: Counter[str]) -> list[ValueCount]:
    ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    return [ValueCount(value, count) for value, count in ranked[:BREAKDOWN_TOP]]


def value_breakdown(session: Session, project_id: str, name: str) -> Breakdown:
    """Top values of ``name``'s events, read from its newest ``BREAKDOWN_SCAN`` events in one
    query through the name and time index, so a busy event costs no more than a quiet one."""
    incoming.settle_before(session)
    rows = repository.newest_values(session, project_id, name, BREAKDOWN_SCAN)
    values: Counter[str] = Counter()
    keys: Counter[str] = Counter()
    by_key: dict[str, Counter[str]] = {}
    for value_text, metadata in rows:
        values[_shown(value_text) if value_text else NO_VALUE] += 1
        for key, item in (metadata or {}).items():
            keys[key] += 1
            by_key.setdefault(key, Counter())[_shown(item)] += 1
    chosen = sorted(keys.items(), key=lambda item: (-item[1], item[0]))[:BREAKDOWN_KEYS]
    return Breakdown(
        scanned=len(rows),
        values=_top(values),
        metadata={key: _top(by_key[key]) for key, _ in chosen},
    )


def is_production(event: CustomEvent) -> bool:
    """An event counts as production unless its user names another environment tier."""
    environment = (event.user or {}).get("statsigEnvironment")
    tier = environment.get("tier") if isinstance(environment, dict) else None
    return tier in (None, "", "production")


def log_stream(
    session: Session,
    project_id: str,
    *,
    name: str | None,
    non_production: bool,
    limit: int,
) -> list[dict[str, Any]]:
    """The newest events (``LoggedEventDto`` plus the user and its environment tier), newest
    first. Without ``non_production``, events of other tiers are left out; they are looked for
    among the newest ``STREAM_SCAN_FACTOR`` times ``limit`` events only, so a flood of
    non-production events can shorten the list rather than slow it down."""
    incoming.settle_before(session)
    scan = limit if non_production else limit * STREAM_SCAN_FACTOR
    rows = repository.newest_events(session, project_id, name, scan)
    kept = [e for e in rows if non_production or is_production(e)][:limit]
    return [logged_event_dto(e) | {"user": e.user or {}} for e in kept]


@dataclass(frozen=True)
class UnitActivity:
    """What a unit did lately: its exposures and events, newest first, and the properties its
    latest events and exposures carried (``properties seen``)."""

    exposures: list[dict[str, Any]]
    events: list[dict[str, Any]]
    properties: list[dict[str, Any]]


def _flattened(user: dict[str, Any]) -> dict[str, Any]:
    """A user object's fields, the ``custom`` and ``customIDs`` maps one level down."""
    fields: dict[str, Any] = {}
    for key, value in user.items():
        if key in ("custom", "customIDs") and isinstance(value, dict):
            fields |= {f"{key}.{inner}": v for inner, v in value.items()}
        else:
            fields[key] = value
    return fields


def properties_seen(
    exposures: Sequence[Exposure], events: Sequence[CustomEvent]
) -> list[dict[str, Any]]:
    """Each property's latest value (by event time) among the events' user objects and the
    exposures' unit ids, with when it was seen; sorted by name."""
    sightings: list[tuple[int, dict[str, Any]]] = [
        (e.time, _flattened(e.user or {})) for e in events
    ]
    for x in exposures:
        ids = {"userID": x.user_id, "stableID": x.stable_id} | {
            f"customIDs.{k}": v for k, v in (x.custom_ids or {}).items()
        }
        sightings.append((x.time, {k: v for k, v in ids.items() if v is not None}))
    latest: dict[str, dict[str, Any]] = {}
    for time, fields in sorted(sightings, key=lambda s: -s[0]):
        for name, value in fields.items():
            latest.setdefault(name, {"name": name, "value": value, "time": time})
    return [latest[name] for name in sorted(latest)]


def for_unit(
    session: Session, project_id: str, id_type: str, unit_id: str, *, limit: int
) -> UnitActivity:
    """A unit's latest exposures and custom events, newest first, looked up by its id of
    ``id_type`` (any unit id type), and the properties they carried."""
    incoming.settle_before(session)
    exposures = repository.unit_exposures(session, project_id, id_type, unit_id, limit=limit)
    events = repository.unit_events(session, project_id, id_type, unit_id, limit=limit)
    return UnitActivity(
        exposures=[
            {
                "time": e.time,
                "kind": e.kind,
                "name": e.name,
                "value": e.value or "",
                "ruleID": e.rule_id or "",
                "groupName": e.group_name or "",
            }
            for e in exposures
        ],
        events=[logged_event_dto(e) | {"time": e.time} for e in events],
        properties=properties_seen(exposures, events),
    )
