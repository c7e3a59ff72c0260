"""The kept state of incremental Pulse: per entity (and rule) a ``pulse_states`` row saying
what was kept and up to which exposure and event ``seq``, with the kept units
(``pulse_state_units``) and unit values (``pulse_state_values``). Loads copy their staged
tables in, replace the units that changed, and read the group sums back as
``engine.compute_group_sums`` would compute them from the raw rows."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from lockgate.domains.pulse.engine import (
    MeasuredMetrics,
    PerMetric,
    fill_sums,
    finish_group_sums,
    per_metric,
)
from lockgate.domains.pulse.jobs import Progress
from lockgate.domains.pulse.sql import (
    Assignment,
    StagedMetric,
    group_sums_many,
    metric_view,
    sum_columns,
    tail_sums_many,
    value_names,
)
from lockgate.domains.rules.validation import find_rule
from lockgate.storage.models import (
    Experiment,
    Gate,
    Holdout,
    PulseState,
    PulseStateUnit,
    PulseStateValue,
)

UNITS: Table = PulseStateUnit.__table__  # type: ignore[assignment]
VALUES: Table = PulseStateValue.__table__  # type: ignore[assignment]
# Whose entities' kept values are forgotten with them (a gate's for each of its rules).
KEPT_FOR: dict[str, Any] = {"experiment": Experiment, "gate_rule": Gate, "holdout": Holdout}
STATE_KEY = ["project_id", "entity_type", "entity_id", "rule_id"]  # pulse_states' unique key


@dataclass(frozen=True)
class StateKey:
    """Whose values a state keeps: an entity (and rule) of a project, as jobs name them."""

    project_id: str
    entity_type: str
    entity_id: str
    rule_id: str = ""


def fingerprint(spec: Assignment, measured: MeasuredMetrics) -> str:
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
            measured.queries,
            [metric for _, metric in measured.staged],
        )
    )
    return hashlib.sha256(described.encode()).hexdigest()


def read_state(session: Session, key: StateKey) -> PulseState | None:
    return session.scalars(select(PulseState).where(*_key_filter(key))).first()


def kept_group_sums(
    session: Session,
    state_id: int,
    project_id: str,
    spec: Assignment,
    measured: MeasuredMetrics,
    progress: Progress,
    daily_from_ms: int | None,
) -> dict[str, Any]:
    """The group sums from a kept state, as ``compute_group_sums`` computes them from the
    raw rows."""
    kept_units = (
        select(UNITS.c.unit, UNITS.c.grp, UNITS.c.first_ts, UNITS.c.groups)
        .where(UNITS.c.state_id == state_id)
        .subquery("per_unit")
    )
    units: dict[str, int] = {}
    if measured.staged:
        assigned = select(kept_units.c.grp, func.count()).where(kept_units.c.groups == 1)
        for grp, n in session.execute(assigned.group_by(kept_units.c.grp)):
            units[str(grp)] = int(n)
        metrics = [metric for _, metric in measured.staged]
        sums, rows = _kept_metric_sums(session, state_id, metrics, units)
        fill_sums(
            session,
            measured.staged,
            sums,
            lambda metric: metric_view(
                _kept_values(state_id, metric), metric.index, cuped=metric.cuped
            ),
            lambda caps: _kept_tails(session, state_id, caps, units, rows),
        )
    return finish_group_sums(
        session, project_id, spec, measured, kept_units, units, progress, daily_from_ms
    )


def _kept_values(state_id: int, metric: StagedMetric, *, above: float | None = None) -> Subquery:
    """One metric's kept unit values in the shape of the staged unit values (unit, grp and
    the metric's ``x_<i>``, ``y_<i>``, ``xp_<i>``, ``yp_<i>``), so that the queries over those
    read them as they are; only those with x ``above`` a cap, if given."""
    names = value_names(metric.index, ratio=metric.ratio, cuped=metric.cuped)
    columns = [VALUES.c[name.rsplit("_", 1)[0]].label(name) for name in names]
    query = select(VALUES.c.unit, VALUES.c.grp, *columns).where(
        VALUES.c.state_id == state_id, VALUES.c.metric == metric.index
    )
    if above is not None:  # the tail's few rows, not every row through the tail query's CASE
        query = query.where(VALUES.c.x > above)
    return query.subquery(f"kept_{metric.index}")


def _kept_metric_sums(
    session: Session, state_id: int, metrics: Sequence[StagedMetric], units: Mapping[str, int]
) -> tuple[PerMetric, dict[int, dict[str, int]]]:
    """Every metric's per-group sums (a range of the kept values each), and its kept rows per
    group. A mean's units without a kept row are zeros: they count in its N and add nothing
    to any sum."""
    sums: PerMetric = {}
    rows: dict[int, dict[str, int]] = {}
    for metric in metrics:
        kept = _kept_values(state_id, metric)
        rows[metric.index] = {}
        found = per_metric(session, group_sums_many(kept, [metric]), [metric], rows[metric.index])
        sums[metric.index] = found[metric.index]
        if metric.ratio:
            continue
        names = sum_columns(VALUES, "", ratio=False, cuped=metric.cuped, nonzero=metric.winsorized)
        zeros = dict.fromkeys((column.name for column in names), 0.0)
        for grp, count in units.items():
            group_sums = sums[metric.index].setdefault(grp, dict(zeros))
            group_sums["n"] = float(count)
    return sums, rows


def _kept_tails(
    session: Session,
    state_id: int,
    caps: Sequence[tuple[StagedMetric, float]],
    units: Mapping[str, int],
    rows: Mapping[int, Mapping[str, int]],
) -> PerMetric:
    """``sql.tail_sums_many`` over the kept values: per capped metric and group, the units
    above the cap. Below a negative cap, a mean's units without a kept row (zeros) are in the
    tail too."""
    tails: PerMetric = {}
    for metric, cap in caps:
        kept = _kept_values(state_id, metric, above=cap)
        of_metric = per_metric(session, tail_sums_many(kept, [(metric, cap)]), [metric])
        tails[metric.index] = of_metric[metric.index]
        if cap < 0 and not metric.ratio:
            for grp, count in units.items():
                zeros = count - rows[metric.index].get(grp, 0)
                if zeros:
                    tail = tails[metric.index].setdefault(grp, {"n": 0.0, "sx": 0.0, "sxx": 0.0})
                    tail["n"] += zeros
    return tails


def keep(
    session: Session,
    state_id: int,
    per_unit: Any,
    values: Any,
    staged: Sequence[tuple[dict[str, Any], StagedMetric]],
) -> None:
    """Copy staged units and unit values into the state: every unit, and of each metric the
    unit values that count (see ``PulseStateValue``)."""
    session.execute(
        insert(UNITS).from_select(
            ["state_id", "unit", "grp", "first_ts", "groups"],
            select(
                literal(state_id),
                per_unit.c.unit,
                per_unit.c.grp,
                per_unit.c.first_ts,
                per_unit.c.groups,
            ),
        )
    )
    for _, metric in staged:
        suffix = f"_{metric.index}"
        x = values.c[f"x{suffix}"]
        y = values.c.get(f"y{suffix}")
        xp = values.c.get(f"xp{suffix}")
        yp = values.c.get(f"yp{suffix}")
        mean_counts = or_(x != 0, xp != 0) if xp is not None else x != 0
        counts = y != 0 if metric.ratio else mean_counts
        session.execute(
            insert(VALUES).from_select(
                ["state_id", "metric", "grp", "unit", "x", "y", "xp", "yp"],
                select(
                    literal(state_id),
                    literal(metric.index),
                    values.c.grp,
                    values.c.unit,
                    x,
                    y if y is not None else literal(None),
                    xp if xp is not None else literal(None),
                    yp if yp is not None else literal(None),
                ).where(counts),
            )
        )


class Superseded(Exception):
    """The kept state changed between an incremental load's read and its write."""


def replace_changed(
    session: Session,
    state: PulseState,
    spec: Assignment,
    measured: MeasuredMetrics,
    marks: tuple[int, int],
    changed: Table,
    per_unit: Table,
    values: Table,
    job_id: str,
    now_ms: int,
) -> None:
    """Replace the changed units' kept rows by their recomputed ones, and record the new
    marks, unless another load changed the state since it was read (``Superseded``). The
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
        raise Superseded
    groups = spec.group_names
    replaced = UNITS.c.unit.in_(select(changed.c.unit))
    session.execute(delete(UNITS).where(UNITS.c.state_id == state.id, replaced))
    session.execute(
        delete(VALUES).where(
            VALUES.c.state_id == state.id,
            VALUES.c.metric.in_([metric.index for _, metric in measured.staged]),
            VALUES.c.grp.in_(groups),
            VALUES.c.unit.in_(select(changed.c.unit)),
        )
    )
    keep(session, state.id, per_unit, values, measured.staged)


def reset_state(
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
    upsert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        upsert(PulseState)
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
