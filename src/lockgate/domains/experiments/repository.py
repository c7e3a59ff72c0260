"""Queries over experiments, the entities they reference, and their stored exposures.

Exposure statistics are reduced in the database (GROUP BY); Python only sees per-group or
per-day aggregates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    case,
    cast,
    exists,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from lockgate.domains.metrics.sql import DAY_MS
from lockgate.kit.sqljson import json_list_overlaps
from lockgate.storage.models import (
    CustomEvent,
    Experiment,
    Exposure,
    PulseResult,
)


@dataclass(frozen=True)
class ExperimentFilter:
    """The filters of ``GET /experiments``; empty fields do not filter."""

    layer_id: str | None = None
    id_types: tuple[str, ...] = ()
    team_id: str | None = None
    statuses: tuple[str, ...] = ()
    target_app_id: str | None = None
    created_from_ms: int | None = None
    created_before_ms: int | None = None
    creator_name: str | None = None
    creator_id: str | None = None
    tags: tuple[str, ...] = ()
    name_contains: str | None = None  # the web console's catalog search, case-insensitive


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _json_list_has(session: Session, key: str, value: str) -> ColumnElement[bool]:
    """True where the document's list ``key`` holds ``value``."""
    if _dialect(session) == "postgresql":
        return Experiment.document[key].op("?")(value)
    each = func.json_each(func.json_extract(Experiment.document, f"$.{key}")).table_valued("value")
    return exists(select(literal_column("1")).select_from(each).where(each.c.value == value))


def filter_conditions(session: Session, flt: ExperimentFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.layer_id:
        conditions.append(Experiment.layer_id == flt.layer_id)
    if flt.id_types:
        conditions.append(Experiment.id_type.in_(flt.id_types))
    if flt.team_id:
        conditions.append(Experiment.team_id == flt.team_id)
    if flt.statuses:
        conditions.append(Experiment.status.in_(flt.statuses))
    if flt.target_app_id:
        conditions.append(_json_list_has(session, "targetApps", flt.target_app_id))
    if flt.created_from_ms is not None:
        conditions.append(Experiment.created_time >= flt.created_from_ms)
    if flt.created_before_ms is not None:
        conditions.append(Experiment.created_time < flt.created_before_ms)
    if flt.creator_name:
        conditions.append(func.lower(Experiment.creator_name) == flt.creator_name.lower())
    if flt.creator_id:
        conditions.append(Experiment.creator_id == flt.creator_id)
    if flt.tags:
        conditions.append(json_list_overlaps(Experiment.tags, flt.tags, _dialect(session)))
    if flt.name_contains:
        lowered = flt.name_contains.lower()
        conditions.append(func.lower(Experiment.name).contains(lowered, autoescape=True))
    return conditions


def layer_experiments(session: Session, project_id: str, layer_id: str) -> list[Experiment]:
    return list(
        session.scalars(
            select(Experiment)
            .where(Experiment.project_id == project_id, Experiment.layer_id == layer_id)
            .order_by(Experiment.created_time, Experiment.id)
        )
    )


# -- exposures -------------------------------------------------------------------------------


def unit_column(session: Session, id_type: str) -> Any:
    """The exposure column holding units of ``id_type`` (custom ids live in a JSON map)."""
    lowered = id_type.lower()
    if lowered == "userid":
        return Exposure.user_id
    if lowered == "stableid":
        return Exposure.stable_id
    custom: Any = Exposure.custom_ids[id_type]
    return custom.as_string()


@dataclass(frozen=True)
class ExposureSummary:
    """What the health checks need about one experiment's exposures."""

    exposures: int
    with_unit: int
    units_by_rule: dict[str, int]


def exposure_summaries(
    session: Session, project_id: str, id_type: str, experiment_ids: Sequence[str]
) -> dict[str, ExposureSummary]:
    """Per experiment (all of one unit type): exposure count, how many carried a unit of the
    experiment's type, and distinct units per rule id."""
    if not experiment_ids:
        return {}
    unit = unit_column(session, id_type)
    where = and_(
        Exposure.project_id == project_id,
        Exposure.kind == "config",
        Exposure.name.in_(experiment_ids),
    )
    totals = session.execute(
        select(
            Exposure.name,
            func.count(),
            func.sum(case((unit.is_not(None) & (unit != ""), 1), else_=0)),
        )
        .where(where)
        .group_by(Exposure.name)
    ).all()
    per_rule = session.execute(
        select(Exposure.name, Exposure.rule_id, func.count(func.distinct(unit)))
        .where(where, unit.is_not(None), unit != "")
        .group_by(Exposure.name, Exposure.rule_id)
    ).all()
    rules: dict[str, dict[str, int]] = {}
    for name, rule_id, units in per_rule:
        rules.setdefault(name, {})[rule_id or ""] = int(units)
    return {
        name: ExposureSummary(int(count), int(with_unit or 0), rules.get(name, {}))
        for name, count, with_unit in totals
    }


def has_events_with_unit(session: Session, project_id: str, id_type: str, since_ms: int) -> bool:
    lowered = id_type.lower()
    if lowered == "userid":
        unit: Any = CustomEvent.user_id
    elif lowered == "stableid":
        unit = CustomEvent.stable_id
    else:
        unit = CustomEvent.custom_ids[id_type].as_string()
    found = session.scalar(
        select(func.count())
        .select_from(CustomEvent)
        .where(
            CustomEvent.project_id == project_id,
            CustomEvent.time >= since_ms,
            unit.is_not(None),
        )
        .limit(1)
    )
    return bool(found)


def first_exposures_by_day(
    session: Session, project_id: str, experiment_id: str, id_type: str, rule_ids: Sequence[str]
) -> list[tuple[str, int, int]]:
    """(rule id, day number since the epoch, units first exposed that day) for group rules."""
    unit = unit_column(session, id_type)
    first = (
        select(
            Exposure.rule_id.label("rule_id"),
            unit.label("unit"),
            func.min(Exposure.time).label("first_time"),
        )
        .where(
            Exposure.project_id == project_id,
            Exposure.kind == "config",
            Exposure.name == experiment_id,
            Exposure.rule_id.in_(rule_ids),
            unit.is_not(None),
            unit != "",
        )
        .group_by(Exposure.rule_id, unit)
        .subquery()
    )
    day = (first.c.first_time // DAY_MS).label("day")
    rows = session.execute(
        select(first.c.rule_id, day, func.count())
        .group_by(first.c.rule_id, day)
        .order_by(first.c.rule_id, day)
    ).all()
    return [(str(r), int(d), int(n)) for r, d, n in rows]


def recent_exposures(
    session: Session, project_id: str, experiment_id: str, id_type: str, *, limit: int
) -> list[tuple[int, str | None, str | None, str | None]]:
    """(time, unit, rule id, group name) of an experiment's newest exposures, newest first
    (read through ``ix_exposures_entity_time``)."""
    unit = unit_column(session, id_type)
    rows = session.execute(
        select(Exposure.time, unit, Exposure.rule_id, Exposure.group_name)
        .where(
            Exposure.project_id == project_id,
            Exposure.kind == "config",
            Exposure.name == experiment_id,
        )
        .order_by(Exposure.time.desc(), Exposure.seq.desc())
        .limit(limit)
    ).all()
    return [(int(t), u, r, g) for t, u, r, g in rows]


def exposure_counts(
    session: Session, project_id: str, kind: str, names: Sequence[str], now_ms: int
) -> dict[str, tuple[int, int]]:
    """name -> (exposures in the past day, in the past 7 days)."""
    if not names:
        return {}
    day_ago, week_ago = now_ms - DAY_MS, now_ms - 7 * DAY_MS
    rows = session.execute(
        select(
            Exposure.name,
            func.sum(case((Exposure.time >= day_ago, 1), else_=0)),
            func.count(),
        )
        .where(
            Exposure.project_id == project_id,
            Exposure.kind == kind,
            Exposure.name.in_(names),
            Exposure.time >= week_ago,
            Exposure.time <= now_ms,
        )
        .group_by(Exposure.name)
    ).all()
    return {name: (int(day or 0), int(week)) for name, day, week in rows}


def latest_pulse_documents(
    session: Session, project_id: str, experiment_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The latest stored cumulative Pulse result document of each experiment that has one."""
    if not experiment_ids:
        return {}
    mine = (
        PulseResult.project_id == project_id,
        PulseResult.entity_type == "experiment",
        PulseResult.rule_id == "",
        PulseResult.view == "cumulative",
    )
    latest = (
        select(PulseResult.entity_id, func.max(PulseResult.ds).label("ds"))
        .where(*mine, PulseResult.entity_id.in_(list(experiment_ids)))
        .group_by(PulseResult.entity_id)
        .subquery()
    )
    rows = session.execute(
        select(PulseResult.entity_id, PulseResult.document)
        .join(
            latest,
            and_(PulseResult.entity_id == latest.c.entity_id, PulseResult.ds == latest.c.ds),
        )
        .where(*mine)
    )
    return {entity_id: document for entity_id, document in rows}


def scheduled_starts_due(session: Session, status: str, now_ms: int) -> list[tuple[str, str]]:
    """(project id, experiment id) of every experiment in ``status`` (setup) whose
    ``scheduledTime`` is at or before ``now_ms``, in every project, earliest first."""
    # Epoch milliseconds pass 32 bits: as_integer() would cast to INTEGER on PostgreSQL.
    scheduled = cast(Experiment.document["scheduledTime"].as_string(), BigInteger)
    rows = session.execute(
        select(Experiment.project_id, Experiment.id)
        .where(Experiment.status == status, scheduled <= now_ms)
        .order_by(scheduled, Experiment.project_id, Experiment.id)
    )
    return [(project_id, experiment_id) for project_id, experiment_id in rows]
