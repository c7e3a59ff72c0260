"""Append-only event tables: exposures logged by the SDKs and custom events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Float, Index, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from lockgate.storage.models.base import Base, BigIntPK, JSONType


class Exposure(Base):
    """One gate, config or layer exposure, with what Pulse needs to join units to groups."""

    __tablename__ = "exposures"
    # By unit within an entity, covering what Pulse reads: a job's assignment (every unit's
    # group and first exposure) is a scan of this index in unit order, without sorting.
    __table_args__ = (
        Index("ix_exposures_entity_time", "project_id", "name", "time"),
        Index("ix_exposures_unit", "project_id", "name", "user_id", "rule_id", "kind", "time"),
        # One user's latest exposures across entities (the web console's user lookup).
        Index("ix_exposures_user_time", "project_id", "user_id", "time"),
    )

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # gate | config | layer
    name: Mapped[str] = mapped_column(String(200))
    rule_id: Mapped[str | None] = mapped_column(String(200), default=None)
    group_name: Mapped[str | None] = mapped_column(String(200), default=None)
    value: Mapped[str | None] = mapped_column(String(200), default=None)
    allocated_experiment: Mapped[str | None] = mapped_column(String(200), default=None)
    parameter_name: Mapped[str | None] = mapped_column(String(200), default=None)
    user_id: Mapped[str | None] = mapped_column(String(512), default=None)
    stable_id: Mapped[str | None] = mapped_column(String(512), default=None)
    custom_ids: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    time: Mapped[int] = mapped_column(BigInteger)
    received_time: Mapped[int] = mapped_column(BigInteger)
    event_metadata: Mapped[dict[str, Any] | None] = mapped_column(
        "metadata", JSONType, default=None
    )
    secondary_exposures: Mapped[list[Any] | None] = mapped_column(JSONType, default=None)
    sdk_type: Mapped[str | None] = mapped_column(String(64), default=None)


class CustomEvent(Base):
    """An event an application logged (``logEvent``), with its value and metadata."""

    __tablename__ = "events"
    # Pulse joins events to exposed units by unit id; these keep that join from scanning,
    # and carry the value so value metrics are read from the index alone.
    __table_args__ = (
        Index("ix_events_name_time", "project_id", "event_name", "time"),
        Index("ix_events_user", "project_id", "user_id", "event_name", "time", "value_number"),
        Index("ix_events_stable", "project_id", "stable_id", "event_name", "time", "value_number"),
        # The rows one ingestion load wrote, replaced as a whole when that day is loaded again.
        Index("ix_events_ingestion", "project_id", "ingestion"),
    )

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(32))
    event_name: Mapped[str] = mapped_column(String(200))
    value_text: Mapped[str | None] = mapped_column(String(2000), default=None)
    value_number: Mapped[float | None] = mapped_column(Float, default=None)
    user_id: Mapped[str | None] = mapped_column(String(512), default=None)
    stable_id: Mapped[str | None] = mapped_column(String(512), default=None)
    custom_ids: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    time: Mapped[int] = mapped_column(BigInteger)
    received_time: Mapped[int] = mapped_column(BigInteger)
    event_metadata: Mapped[dict[str, Any] | None] = mapped_column(
        "metadata", JSONType, default=None
    )
    user: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    sdk_type: Mapped[str | None] = mapped_column(String(64), default=None)
    # ``<source id>/<YYYY-MM-DD>`` for rows an ingestion loaded; None for SDK events.
    ingestion: Mapped[str | None] = mapped_column(String(48), default=None)


def _incoming(table: Table, name: str) -> Table:
    """A table with ``table``'s columns and no secondary index."""
    return Table(name, Base.metadata, *(column._copy() for column in table.columns))


# Where SDK batches land: appended to without index maintenance, so a request commits fast;
# ``events.incoming`` moves the rows into the indexed tables above in large transactions.
exposures_incoming = _incoming(Exposure.__table__, "exposures_incoming")  # type: ignore[arg-type]
events_incoming = _incoming(CustomEvent.__table__, "events_incoming")  # type: ignore[arg-type]


class EventBatch(Base):
    """An SDK event batch already stored, by the digest of its body: a batch an SDK sends again
    (its flush timed out before the answer came, so it retried) is acknowledged without being
    stored twice (docs/sdk.md §Sent twice). Kept for a day."""

    __tablename__ = "event_batches"

    project_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    digest: Mapped[str] = mapped_column(String(40), primary_key=True)
    received_time: Mapped[int] = mapped_column(BigInteger, index=True)
