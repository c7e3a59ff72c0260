"""Tables of metrics and experiment results (Pulse)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lockgate.storage.models.base import Base, BigIntPK, EntityMixin, JSONType


class Metric(EntityMixin, Base):
    """A metric definition; its id is ``<name>::<type>`` as Statsig forms it."""

    __tablename__ = "metrics"

    metric_type: Mapped[str] = mapped_column(String(40))


class PulseJob(Base):
    """One load of Pulse results for an entity: its progress and outcome."""

    __tablename__ = "pulse_jobs"
    __table_args__ = (Index("ix_pulse_jobs_entity", "project_id", "entity_type", "entity_id"),)

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    project_id: Mapped[str] = mapped_column(String(32))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(200))
    rule_id: Mapped[str | None] = mapped_column(String(200), default=None)
    # queued | running | succeeded | failed | cancelled
    status: Mapped[str] = mapped_column(String(20))
    progress: Mapped[int] = mapped_column(default=0)  # percent
    message: Mapped[str | None] = mapped_column(String(2000), default=None)
    requested_by: Mapped[str | None] = mapped_column(String(200), default=None)
    created_time: Mapped[int] = mapped_column(BigInteger)
    started_time: Mapped[int | None] = mapped_column(BigInteger, default=None)
    finished_time: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # When the process running the job last said it was alive: set by the claim, every progress
    # report and a heartbeat while the job runs. A running job whose heartbeat is too old was
    # abandoned (docs/operations.md §One process or several).
    heartbeat_time: Mapped[int | None] = mapped_column(BigInteger, default=None)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    # A cancel asked of the job while it ran: the process running it reads this at its next
    # progress report and stops without storing anything (``jobs.JobRunner``).
    cancel_requested_time: Mapped[int | None] = mapped_column(BigInteger, default=None)
    cancelled_by: Mapped[str | None] = mapped_column(String(200), default=None)


class PulseResult(Base):
    """Results of one entity for one day and view: the whole computed document, replaced
    atomically. ``cumulative`` covers every day from the start up to ``ds``; ``daily`` covers
    ``ds`` alone."""

    __tablename__ = "pulse_results"

    project_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(200), primary_key=True, default="")
    ds: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD
    view: Mapped[str] = mapped_column(
        String(16), primary_key=True, default="cumulative", server_default="cumulative"
    )
    job_id: Mapped[str] = mapped_column(String(32))
    computed_time: Mapped[int] = mapped_column(BigInteger)
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)


class PulseState(Base):
    """What an entity's last load computed per unit, for the next incremental load: the raw
    rows it covered (``exposures_seq``, ``events_seq``: every row up to those sequence numbers;
    ``end_ms``: exposures before it), and the definition it computed (``fingerprint``: the
    assignment and metric queries; another definition makes the state unusable)."""

    __tablename__ = "pulse_states"
    __table_args__ = (UniqueConstraint("project_id", "entity_type", "entity_id", "rule_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(32))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(200))
    rule_id: Mapped[str] = mapped_column(String(200), default="")
    fingerprint: Mapped[str] = mapped_column(String(64))
    exposures_seq: Mapped[int] = mapped_column(BigInteger)
    events_seq: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    job_id: Mapped[str] = mapped_column(String(32))
    computed_time: Mapped[int] = mapped_column(BigInteger)


class PulseStateUnit(Base):
    """One exposed unit of a state: its group, first exposure and ``groups``, 1, or 2 when it
    met more than one group (a crossover, left out of the analysis)."""

    __tablename__ = "pulse_state_units"
    __table_args__ = {"sqlite_with_rowid": False}

    state_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    unit: Mapped[str] = mapped_column(String(512), primary_key=True)
    grp: Mapped[str | None] = mapped_column(String(200), default=None)
    first_ts: Mapped[int] = mapped_column(BigInteger)
    groups: Mapped[int] = mapped_column(Integer)


class PulseStateValue(Base):
    """One unit's value of one metric (its index in the state's metric queries): x and, for a
    ratio, y; xp and yp over the CUPED pre-period. Only rows that count are kept: a ratio's
    units with a non-zero denominator, a mean's units with any non-zero value (a missing unit
    of a mean is 0). Keyed by metric and group first, so per-group sums read it in order."""

    __tablename__ = "pulse_state_values"
    __table_args__ = {"sqlite_with_rowid": False}

    state_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    metric: Mapped[int] = mapped_column(Integer, primary_key=True)
    grp: Mapped[str] = mapped_column(String(200), primary_key=True)
    unit: Mapped[str] = mapped_column(String(512), primary_key=True)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float | None] = mapped_column(Float, default=None)
    xp: Mapped[float | None] = mapped_column(Float, default=None)
    yp: Mapped[float | None] = mapped_column(Float, default=None)
