"""Incremental Pulse: the per-unit values a load computed, kept so that the next load
recomputes only the units whose raw rows changed since (``load_scorecard``)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    delete,
    exists,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lockgate.domains.events import incoming
from lockgate.domains.pulse.engine import Scorecard, card_sums, drop_temporary
from lockgate.domains.pulse.jobs import Progress
from lockgate.domains.pulse.kept import UNITS, VALUES, keep, state_scorecard
from lockgate.domains.pulse.sql import (
    Assignment,
    changed_units,
    event_names,
    per_unit_select,
    per_unit_table,
    unit_id_column,
    unit_table,
    unit_values_many,
    unit_values_table,
)
from lockgate.domains.rules.validation import find_rule
from lockgate.kit.db import connection_transaction
from lockgate.storage.models import Experiment, Exposure, Gate, Holdout, PulseState

# Whose entities' kept values are forgotten with them (a gate's for each of its rules).
KEPT_FOR: dict[str, Any] = {"experiment": Experiment, "gate_rule": Gate, "holdout": Holdout}
STATE_KEY = ["project_id", "entity_type", "entity_id", "rule_id"]  # pulse_states' unique key
MOST_CHANGED = 0.5  # an incremental load with more units changed than this share computes all


@dataclass(frozen=True)
class StateKey:
    """Whose values a state keeps: an entity (and rule) of a project, as jobs name them."""

    project_id: str
    entity_type: str
    entity_id: str
    rule_id: str = ""


def fingerprint(spec: Assignment, card: Scorecard) -> str:
    """What the kept values depend on: the assignment (its SQL expressions as SQL) and every
    staged metric's query."""
    expressions = [*spec.extra_filters, *([] if spec.value is None else [spec.value])]
    described = repr(
        (
            spec.experiment,
            spec.id_type,
            spec.kind,
            spec.start_ms,
            sorted(spec.group_rules.items()),
            sorted((spec.group_by_value or {}).items()),
            [str(e.compile(compile_kwargs={"literal_binds": True})) for e in expressions],
            card.queries,
            [metric for _, metric in card.staged],
        )
    )
    return hashlib.sha256(described.encode()).hexdigest()


def load_scorecard(
    engine: Engine,
    key: StateKey,
    spec: Assignment,
    metric_refs: Sequence[tuple[str, Mapping[str, Any]]],
    progress: Progress,
    *,
    incremental: bool,
    job_id: str,
    now_ms: int,
    daily_from_ms: int | None = None,
) -> dict[str, Any]:
    """``engine.scorecard_sums`` of ``spec``, kept per unit for the next load.

    A full load stages every unit as ``scorecard_sums`` does, then copies the staged units and
    values into the state with the highest exposure and event ``seq`` it had read. An
    ``incremental`` load whose state still matches the definition (``fingerprint``) finds the
    units whose raw rows changed since (``sql.changed_units``: the raw tables are
    append-only), recomputes them alone from all their rows, replaces them in the state and
    sums per group from the state. Recomputing a unit from its raw rows gives the same values
    however often it is done, so a unit read with rows past the recorded ``seq`` is simply
    recomputed again next time. The state is a cache of the raw rows: it changes in its own
    transactions, apart from the results.

    Runs on a connection of its own, in several transactions: its temporary tables outlive
    each of them. ``progress`` is never called while this holds SQLite's write lock."""
    with engine.connect() as connection:
        kept: list[Any] = []
        try:
            with connection_transaction(connection, write=False) as session:
                card = Scorecard.of(session, key.project_id, metric_refs)
            marks = _watermark(connection)
            with connection_transaction(connection, write=False) as session:
                state = session.scalars(select(PulseState).where(*_key_filter(key))).first()
            current = fingerprint(spec, card)
            if incremental and state is not None and state.fingerprint == current:
                found = _incremental(
                    connection, state, spec, card, marks, progress, kept, job_id, now_ms,
                    daily_from_ms,
                )  # fmt: skip
                if found is not None:
                    return found
                _drop(connection, kept)
                kept.clear()
            with connection_transaction(connection, write=False) as session:
                result = card_sums(
                    session, key.project_id, spec, card, progress,
                    daily_from_ms=daily_from_ms, kept=kept,
                )  # fmt: skip
            per_unit, values = kept
            progress(97, "keeping per-unit values for incremental loads")
            with connection_transaction(connection, write=True) as session:
                state_id = _reset_state(session, key, current, marks, spec, job_id, now_ms)
                keep(session, state_id, per_unit, values, card.staged)
            return result
        finally:
            _drop(connection, kept)


def _incremental(
    connection: Connection,
    state: PulseState,
    spec: Assignment,
    card: Scorecard,
    marks: tuple[int, int],
    progress: Progress,
    kept: list[Any],
    job_id: str,
    now_ms: int,
    daily_from_ms: int | None,
) -> dict[str, Any] | None:
    """The scorecard from the kept state with the changed units recomputed; None when a full
    load is the better way (most units changed, or another load changed the state)."""
    suffix = uuid.uuid4().hex[:12]
    changed = unit_table(f"pulse_changed_{suffix}")
    per_unit = per_unit_table(f"pulse_units_{suffix}", keep=True)
    values = unit_values_table(f"pulse_values_{suffix}", card.queries, keep=True)
    kept += [changed, per_unit, values]
    project_id = state.project_id
    with connection_transaction(connection, write=False) as session:
        progress(10, "finding units with new exposures or events")
        if connection.dialect.name == "postgresql":
            # Fresh statistics, as scorecard_sums takes them; on the kept values too, or the
            # planner replaces changed units and joins kept units to events by nested loops.
            connection.execute(text("ANALYZE exposures, events"))
            connection.execute(text("ANALYZE pulse_state_units, pulse_state_values"))
        changed.create(connection)
        found = changed_units(
            project_id,
            spec,
            event_names(card.queries),
            exposures_after=state.exposures_seq,
            events_after=state.events_seq,
            exposed_from_ms=state.end_ms,
        ).subquery("found")
        connection.execute(changed.insert().from_select(["unit"], select(found.c.unit)))
        count = int(connection.scalar(select(func.count()).select_from(changed)) or 0)
        of_state = select(func.count()).select_from(UNITS).where(UNITS.c.state_id == state.id)
        known = int(connection.scalar(of_state) or 0)
        if count > max(known, 1) * MOST_CHANGED:
            progress(15, f"{count} units changed, {known} kept: computing every unit instead")
            return None
        progress(20, f"recomputing {count} units with new exposures or events")
        unit = unit_id_column(Exposure, spec.id_type)
        only_changed = unit.in_(select(changed.c.unit))
        of_changed = replace(spec, extra_filters=(*spec.extra_filters, only_changed))
        per_unit.create(connection)
        connection.execute(
            per_unit.insert().from_select(
                ["unit", "grp", "first_ts", "groups"], per_unit_select(project_id, of_changed)
            )
        )
        values.create(connection)
        if card.queries:
            assigned = select(per_unit).where(per_unit.c.groups == 1).subquery("assigned")
            computed = unit_values_many(project_id, assigned, card.queries, spec.id_type)
            connection.execute(
                values.insert().from_select(list(computed.c.keys()), select(computed))
            )
        if connection.dialect.name == "postgresql":
            for table in (changed, per_unit, values):
                connection.execute(text(f'ANALYZE "{table.name}"'))
    progress(50, f"replacing {count} units in the kept values")
    try:
        with connection_transaction(connection, write=True) as session:
            _replace_changed(
                session, state, spec, card, marks, changed, per_unit, values, job_id, now_ms
            )
    except _Superseded:
        progress(55, "another load changed the kept values meanwhile: computing every unit instead")
        return None
    with connection_transaction(connection, write=False) as session:
        progress(60, f"per-group sums of {len(card.staged)} metrics from the kept values")
        return state_scorecard(session, state.id, project_id, spec, card, progress, daily_from_ms)


class _Superseded(Exception):
    """The kept state changed between an incremental load's read and its write."""


def _replace_changed(
    session: Session,
    state: PulseState,
    spec: Assignment,
    card: Scorecard,
    marks: tuple[int, int],
    changed: Table,
    per_unit: Table,
    values: Table,
    job_id: str,
    now_ms: int,
) -> None:
    """Replace the changed units' kept rows by their recomputed ones, and record the new
    marks, unless another load changed the state since it was read (``_Superseded``). The
    conditional update comes first: on PostgreSQL it also locks the state's row."""
    claimed = session.execute(
        update(PulseState)
        .where(
            PulseState.id == state.id,
            PulseState.fingerprint == state.fingerprint,
            PulseState.exposures_seq == state.exposures_seq,
            PulseState.events_seq == state.events_seq,
            PulseState.job_id == state.job_id,
        )
        .values(
            exposures_seq=marks[0],
            events_seq=marks[1],
            end_ms=spec.until_ms,
            job_id=job_id,
            computed_time=now_ms,
        )
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise _Superseded
    groups = spec.group_names
    replaced = UNITS.c.unit.in_(select(changed.c.unit))
    session.execute(delete(UNITS).where(UNITS.c.state_id == state.id, replaced))
    session.execute(
        delete(VALUES).where(
            VALUES.c.state_id == state.id,
            VALUES.c.metric.in_([metric.index for _, metric in card.staged]),
            VALUES.c.grp.in_(groups),
            VALUES.c.unit.in_(select(changed.c.unit)),
        )
    )
    keep(session, state.id, per_unit, values, card.staged)


def _reset_state(
    session: Session,
    key: StateKey,
    current: str,
    marks: tuple[int, int],
    spec: Assignment,
    job_id: str,
    now_ms: int,
) -> int:
    """An empty state for ``key`` (its rows of an earlier load deleted), recording what it
    will hold. Concurrent loads of one entity replace it one after the other: the state's row
    is created if missing (a concurrent creation wins quietly) and locked before anything else
    (on PostgreSQL; SQLite has one writer)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(PulseState)
        .values(
            project_id=key.project_id,
            entity_type=key.entity_type,
            entity_id=key.entity_id,
            rule_id=key.rule_id,
            fingerprint=current,
            exposures_seq=0,
            events_seq=0,
            end_ms=0,
            job_id=job_id,
            computed_time=now_ms,
        )
        .on_conflict_do_nothing(index_elements=STATE_KEY)
    )
    state = session.scalars(select(PulseState).where(*_key_filter(key)).with_for_update()).one()
    _empty(session, [state.id])
    state.fingerprint = current
    state.exposures_seq, state.events_seq = marks
    state.end_ms = spec.until_ms
    state.job_id = job_id
    state.computed_time = now_ms
    session.flush()
    return state.id


def _key_filter(key: StateKey) -> list[Any]:
    return [
        PulseState.project_id == key.project_id,
        PulseState.entity_type == key.entity_type,
        PulseState.entity_id == key.entity_id,
        PulseState.rule_id == key.rule_id,
    ]


def _watermark(connection: Connection) -> tuple[int, int]:
    with connection_transaction(connection, write=False):
        return incoming.watermark(connection)


def _drop(connection: Connection, tables: Sequence[Any]) -> None:
    """Drop a load's temporary tables; a connection that cannot is closed for good, and its
    temporary tables with it."""
    if not tables:
        return
    try:
        if connection.in_transaction():
            connection.rollback()
        with connection_transaction(connection, write=False):
            drop_temporary(connection, tables)
    except Exception:
        connection.invalidate()


def forget_deleted(session: Session) -> int:
    """Delete the kept values of experiments, gates, gate rules and holdouts that no longer
    exist; returns how many states went."""
    ids: list[int] = []
    for entity_type, model in KEPT_FOR.items():
        gone = select(PulseState.id).where(
            PulseState.entity_type == entity_type,
            ~exists().where(
                model.project_id == PulseState.project_id, model.id == PulseState.entity_id
            ),
        )
        ids += session.scalars(gone)
    rules = select(PulseState.id, PulseState.rule_id, Gate.document).join(
        Gate, (Gate.project_id == PulseState.project_id) & (Gate.id == PulseState.entity_id)
    )
    for state_id, rule_id, document in session.execute(
        rules.where(PulseState.entity_type == "gate_rule")
    ):
        if find_rule(document.get("rules") or [], rule_id) is None:
            ids.append(state_id)
    if ids:
        _empty(session, ids)
        session.execute(delete(PulseState).where(PulseState.id.in_(ids)))
    return len(ids)


def _empty(session: Session, state_ids: Sequence[int]) -> None:
    """Delete the kept units and values of these states."""
    session.execute(delete(UNITS).where(UNITS.c.state_id.in_(state_ids)))
    session.execute(delete(VALUES).where(VALUES.c.state_id.in_(state_ids)))
