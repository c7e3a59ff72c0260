"""An incremental Pulse load: from the kept state (``kept``) when it still matches the load's
definition, recomputing only the units whose raw rows changed since; from every raw row
otherwise, keeping its per-unit values for the next load (``load_group_sums``)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text

from lockgate.domains.events import incoming
from lockgate.domains.pulse.engine import MeasuredMetrics, drop_temporary, measured_group_sums
from lockgate.domains.pulse.incremental.kept import (
    UNITS,
    StateKey,
    Superseded,
    fingerprint,
    keep,
    kept_group_sums,
    read_state,
    replace_changed,
    reset_state,
)
from lockgate.domains.pulse.jobs import Progress
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
from lockgate.kit.db import analysis_cache, connection_transaction
from lockgate.storage.models import Exposure, PulseState

logger = logging.getLogger("lockgate.domains.pulse")

MOST_CHANGED = 0.5  # an incremental load with more units changed than this share computes all


def load_group_sums(
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
    """``engine.compute_group_sums`` of ``spec``, kept per unit for the next load.

    A full load stages every unit as ``compute_group_sums`` does, then copies the staged units and
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
    with engine.connect() as connection, analysis_cache(connection):
        kept: list[Any] = []
        try:
            with connection_transaction(connection, write=False) as session:
                measured = MeasuredMetrics.of(session, key.project_id, metric_refs)
            marks = _watermark(connection)
            with connection_transaction(connection, write=False) as session:
                state = read_state(session, key)
            current = fingerprint(spec, measured)
            if incremental and state is not None and state.fingerprint == current:
                found = _incremental(
                    connection, state, spec, measured, marks, progress, kept, job_id, now_ms,
                    daily_from_ms,
                )  # fmt: skip
                if found is not None:
                    return found
                _drop(connection, kept)
                kept.clear()
            with connection_transaction(connection, write=False) as session:
                result = measured_group_sums(
                    session, key.project_id, spec, measured, progress,
                    daily_from_ms=daily_from_ms, kept=kept,
                )  # fmt: skip
            per_unit, values = kept
            progress(97, "keeping per-unit values for incremental loads")
            with connection_transaction(connection, write=True) as session:
                state_id = reset_state(session, key, current, marks, spec, job_id, now_ms)
                keep(session, state_id, per_unit, values, measured.staged)
            return result
        finally:
            _drop(connection, kept)


def _incremental(
    connection: Connection,
    state: PulseState,
    spec: Assignment,
    measured: MeasuredMetrics,
    marks: tuple[int, int],
    progress: Progress,
    kept: list[Any],
    job_id: str,
    now_ms: int,
    daily_from_ms: int | None,
) -> dict[str, Any] | None:
    """The group sums from the kept state with the changed units recomputed; None when a full
    load is the better way (most units changed, or another load changed the state)."""
    suffix = uuid.uuid4().hex[:12]
    changed = unit_table(f"pulse_changed_{suffix}")
    per_unit = per_unit_table(f"pulse_units_{suffix}", keep=True)
    values = unit_values_table(f"pulse_values_{suffix}", measured.queries, keep=True)
    kept += [changed, per_unit, values]
    project_id = state.project_id
    with connection_transaction(connection, write=False) as session:
        progress(10, "finding units with new exposures or events")
        if connection.dialect.name == "postgresql":
            # Fresh statistics, as compute_group_sums takes them; on the kept values too, or the
            # planner replaces changed units and joins kept units to events by nested loops.
            connection.execute(text("ANALYZE exposures, events"))
            connection.execute(text("ANALYZE pulse_state_units, pulse_state_values"))
        changed.create(connection)
        found = changed_units(
            project_id,
            spec,
            event_names(measured.queries),
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
        if measured.queries:
            computed = unit_values_many(project_id, per_unit, measured.queries, spec.id_type)
            connection.execute(
                values.insert().from_select(list(computed.c.keys()), select(computed))
            )
        if connection.dialect.name == "postgresql":
            for table in (changed, per_unit, values):
                connection.execute(text(f'ANALYZE "{table.name}"'))
    progress(50, f"replacing {count} units in the kept values")
    try:
        with connection_transaction(connection, write=True) as session:
            replace_changed(
                session, state, spec, measured, marks, changed, per_unit, values, job_id, now_ms
            )
    except Superseded:
        progress(55, "another load changed the kept values meanwhile: computing every unit instead")
        return None
    with connection_transaction(connection, write=False) as session:
        progress(60, f"per-group sums of {len(measured.staged)} metrics from the kept values")
        return kept_group_sums(
            session, state.id, project_id, spec, measured, progress, daily_from_ms
        )


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
        # Not raised: it would hide the load's own outcome, and invalidating the connection
        # drops the tables anyway.
        logger.exception(
            "Pulse: could not drop temporary tables %s; closing their connection",
            ", ".join(table.name for table in tables),
        )
        connection.invalidate()
