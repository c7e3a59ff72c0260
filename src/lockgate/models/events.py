"""Append-only event tables: exposures logged by the SDKs and custom events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from lockgate.models.base import Base, BigIntPK, JSONType


class Exposure(Base):
    """One gate, config or layer exposure, with what Pulse needs to join units to groups."""

    __tablename__ = "exposures"
    __table_args__ = (Index("ix_exposures_entity_time", "project_id", "name", "time"),)

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
    # Pulse joins events to exposed units by unit id; these keep that join from scanning.
    __table_args__ = (
        Index("ix_events_name_time", "project_id", "event_name", "time"),
        Index("ix_events_user", "project_id", "user_id", "event_name", "time"),
        Index("ix_events_stable", "project_id", "stable_id", "event_name", "time"),
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
