"""The unit-day values of warehouse-native funnel and retention metrics (docs/warehouse.md
§Funnels and retention), in the shape the pipeline's other metrics give theirs: per unit and
day a numerator (``lg_v``) and a denominator (``lg_c``), which the pipeline sums over the days
of each view as it sums a mean's. Both are ratio metrics: Σ numerator / Σ denominator over the
units with a denominator, by Lockgate's own statistics.

* A **funnel** (per unit): the denominator is 1 on the day the unit starts the funnel (its
  first step's first row after its first exposure, or the exposure itself when it is the
  first step), the numerator 1 on the day it completes the last step. Each step's canonical
  time is its first row at or after (strictly after, with strict ordering) the previous
  step's less the timestamp allowance; with a calculation window, every step falls within
  that many days of the first step (or of the exposure). A session funnel does the same per
  session of the unit (the steps' rows of one session id): its values count the sessions
  started and completed. With the time to convert, the numerator is each completed funnel's
  seconds from its start (its first step, or the exposure) to its last step and the
  denominator 1, both on the day it completes.
* A **retention** metric: per day ``s`` on which the unit's start event fired, the
  denominator is 1 and the numerator 1 when its completion event fired on one of the days
  ``s + end - length + 1`` to ``s + end``; the pair is dated ``s + end``, the day its window
  completes, so a day's cumulative view counts only windows completed by then.

Only the SQL is here; ``pipeline`` stages it and computes the statistics as for any metric.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from lockgate.domains.warehouse.dialects import SqlDialect
from lockgate.domains.warehouse.usage import StoredSource

# The pipeline's day numbers count the days since this date.
_EPOCH = dt.date(1970, 1, 1)


class Plan(Protocol):
    """What is read of the pipeline's plan (``pipeline.PipelinePlan``)."""

    @property
    def last_day(self) -> dt.date: ...
    @property
    def resume_day(self) -> dt.date | None: ...


class PlanSql(Protocol):
    """The pipeline's statements of one plan (``pipeline._Sql``), as used here."""

    dialect: SqlDialect
    assigned: str

    @property
    def plan(self) -> Plan: ...
    def staging(self, table: str) -> str: ...
    def column(self, source: StoredSource, alias: str, name: str, field: str) -> str: ...
    def unit(self, source: StoredSource, alias: str) -> str: ...
    def rows(self, source: StoredSource) -> str: ...
    def end(self) -> str: ...
    def day(self, ts: str) -> str: ...
    def criterion(self, source: StoredSource, criterion: dict[str, Any]) -> str: ...


@dataclass(frozen=True)
class Step:
    """Rows of one metric source passing criteria: a funnel step, a retention event."""

    source: StoredSource
    criteria: Sequence[dict[str, Any]]
    session_column: str | None = None  # a session funnel's step: its session ids

    def described(self) -> list[Any]:
        return [self.source.document, list(self.criteria), self.session_column]


@dataclass(frozen=True)
class Funnel:
    steps: Sequence[Step]
    strict: bool = False  # a step's row is strictly after the previous step's
    exposure_first: bool = False  # the first exposure is the funnel's first step
    window_days: int | None = None  # every step within this many days of the window start
    from_exposure: bool = False  # the window starts at the exposure, not the first step
    time_to_convert: bool = False  # the value is the seconds from start to completion
    allowance_ms: int = 0  # a step's row may be this much before the previous step's

    @property
    def sources(self) -> list[StoredSource]:
        return [step.source for step in self.steps]

    @property
    def sessions(self) -> bool:
        """A session funnel: each session of a unit goes through the steps on its own."""
        return any(step.session_column is not None for step in self.steps)

    def described(self) -> list[Any]:
        options = [
            self.strict,
            self.exposure_first,
            self.window_days,
            self.from_exposure,
            self.time_to_convert,
            self.allowance_ms,
        ]
        return ["funnel", [s.described() for s in self.steps], options]

    def unit_days(self, sql: PlanSql) -> str:
        d = sql.dialect
        order = ">" if self.strict else ">="
        steps = list(self.steps)
        # what goes through the steps: the unit, or each of its sessions
        keys = ["lg_u", "lg_s"] if self.sessions else ["lg_u"]
        # the time to convert carries each funnel's start time (lg_st) along
        began = ", lg_first_ts AS lg_st" if self.time_to_convert else ""
        if self.exposure_first:
            reached = (
                f"SELECT lg_unit AS lg_u, lg_first_ts AS lg_a, lg_first_ts AS lg_t{began} "
                f"FROM {sql.staging(sql.assigned)}"
            )
        else:
            # the window starts at the first step's time, or at the exposure
            anchor = "MIN(r.lg_fts)" if self.from_exposure else "MIN(r.lg_ts)"
            began = ", MIN(r.lg_ts) AS lg_st" if self.time_to_convert else ""
            reached = (
                f"SELECT {_of('r', keys)}, {anchor} AS lg_a, MIN(r.lg_ts) AS lg_t{began} "
                f"FROM ({_rows(sql, steps[0])}) r GROUP BY {_listed('r', keys)}"
            )
            if self.window_days is not None and self.from_exposure:
                # a first step after the window does not start the funnel
                kept = ", lg_st" if self.time_to_convert else ""
                reached = (
                    f"SELECT {', '.join(keys)}, lg_a, lg_t{kept} FROM ({reached}) s "
                    f"WHERE lg_t < {d.add_days('lg_a', self.window_days)}"
                )
            steps = steps[1:]
        started = reached
        previous = "p.lg_t"
        if self.allowance_ms:
            previous = d.minus_milliseconds(previous, self.allowance_ms)
        for step in steps:
            inside = [f"r.lg_ts {order} {previous}"]
            if self.window_days is not None:
                inside.append(f"r.lg_ts < {d.add_days('p.lg_a', self.window_days)}")
            joined = " AND ".join(f"r.{key} = p.{key}" for key in keys)
            carried = ["p.lg_a", *(["p.lg_st"] if self.time_to_convert else [])]
            reached = (
                f"SELECT {_of('p', keys)}, {', '.join(f'{c} AS {c[2:]}' for c in carried)}, "
                f"MIN(r.lg_ts) AS lg_t FROM ({reached}) p JOIN ({_rows(sql, step)}) r "
                f"ON {joined} WHERE {' AND '.join(inside)} "
                f"GROUP BY {_listed('p', keys)}, {', '.join(carried)}"
            )
        if self.time_to_convert:  # per completed funnel: its seconds, and 1
            seconds = d.seconds_between("lg_st", "lg_t")
            flags = (
                f"SELECT lg_u, {sql.day('lg_t')} AS lg_d, {seconds} AS lg_nv, 1 AS lg_nc "
                f"FROM ({reached}) f"
            )
            return _per_day(sql, flags)
        flags = (
            f"SELECT lg_u, {sql.day('lg_t')} AS lg_d, 0 AS lg_nv, 1 AS lg_nc FROM ({started}) s "
            f"UNION ALL SELECT lg_u, {sql.day('lg_t')} AS lg_d, 1 AS lg_nv, 0 AS lg_nc "
            f"FROM ({reached}) f"
        )
        return _per_day(sql, flags)


def _of(alias: str, keys: Sequence[str]) -> str:
    return ", ".join(f"{alias}.{key} AS {key}" for key in keys)


def _listed(alias: str, keys: Sequence[str]) -> str:
    return ", ".join(f"{alias}.{key}" for key in keys)


@dataclass(frozen=True)
class Retention:
    completion: Step
    start: Step  # the completion event itself unless a secondary start event is set
    end_days: int
    length_days: int

    @property
    def sources(self) -> list[StoredSource]:
        return [self.completion.source, self.start.source]

    def described(self) -> list[Any]:
        parts = [self.completion.described(), self.start.described()]
        return ["retention", parts, self.end_days, self.length_days]

    def unit_days(self, sql: PlanSql) -> str:
        last = (sql.plan.last_day - _EPOCH).days
        end, first = self.end_days, self.end_days - self.length_days + 1
        starts = (
            f"SELECT DISTINCT lg_u, {sql.day('lg_ts')} AS lg_sd FROM ({_rows(sql, self.start)}) r"
        )
        completions = (
            f"SELECT DISTINCT lg_u, {sql.day('lg_ts')} AS lg_cd "
            f"FROM ({_rows(sql, self.completion)}) r"
        )
        # an equality join, the window tested per pair: every warehouse runs it
        inside = f"c.lg_cd >= s.lg_sd + {first} AND c.lg_cd <= s.lg_sd + {end}"
        flags = (
            f"SELECT s.lg_u AS lg_u, s.lg_sd + {end} AS lg_d, "
            f"MAX(CASE WHEN {inside} THEN 1 ELSE 0 END) AS lg_nv, 1 AS lg_nc "
            f"FROM ({starts}) s LEFT JOIN ({completions}) c ON c.lg_u = s.lg_u "
            f"WHERE s.lg_sd + {end} <= {last} GROUP BY s.lg_u, s.lg_sd"
        )
        return _per_day(sql, flags)


Shape = Funnel | Retention


def _rows(sql: PlanSql, step: Step) -> str:
    """A step's rows of the assigned units at or after their first exposure and before the
    analysis end: (lg_u, lg_fts: the unit's first exposure, lg_ts; and a session funnel's
    lg_s, the row's session, rows without one left out)."""
    source = step.source
    ts = sql.column(source, "m", source.document["timestampColumn"], "timestamp")
    conditions = [f"{ts} >= fe.lg_first_ts", f"{ts} < {sql.end()}"]
    session = ""
    if step.session_column is not None:
        column = sql.column(source, "m", step.session_column, "session")
        session = f", {sql.dialect.cast_string(column)} AS lg_s"
        conditions.append(f"{column} IS NOT NULL")
    conditions += [f"({sql.criterion(source, c)})" for c in step.criteria]
    unit = sql.dialect.cast_string(sql.unit(source, "m"))
    return (
        f"SELECT fe.lg_unit AS lg_u, fe.lg_first_ts AS lg_fts, {ts} AS lg_ts{session} "
        f"FROM {sql.staging(sql.assigned)} fe JOIN ({sql.rows(source)}) m "
        f"ON {unit} = fe.lg_unit WHERE {' AND '.join(conditions)}"
    )


def _per_day(sql: PlanSql, flags: str) -> str:
    """Per unit (with its group lg_g and exposure day lg_f) and day, the numerators (lg_v)
    and denominators (lg_c) of ``flags``; an incremental load computes again only the days
    from its resume day of the units it keeps (the funnel's or window's earlier days are as
    the last load found them)."""
    d = sql.dialect
    kept = ""
    if sql.plan.resume_day is not None:
        resume = (sql.plan.resume_day - _EPOCH).days
        kept = f" WHERE fe.lg_kept = 0 OR v.lg_d >= {resume}"
    return (
        "SELECT v.lg_u AS lg_u, fe.lg_group AS lg_g, fe.lg_fd AS lg_f, v.lg_d AS lg_d, "
        f"{d.cast_float('SUM(v.lg_nv)')} AS lg_v, {d.cast_float('SUM(v.lg_nc)')} AS lg_c "
        f"FROM ({flags}) v JOIN {sql.staging(sql.assigned)} fe ON fe.lg_unit = v.lg_u{kept} "
        "GROUP BY v.lg_u, fe.lg_group, fe.lg_fd, v.lg_d"
    )


def sources_of(shapes: Sequence[Shape | None]) -> list[StoredSource]:
    return [source for shape in shapes if shape is not None for source in shape.sources]
