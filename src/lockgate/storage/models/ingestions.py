"""Ingestions (docs/warehouse.md §Ingestions): sources that bring a team's warehouse rows into
Lockgate's own event table, their connections, daily schedules, runs, per-day statuses and the
event-count ledger."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lockgate.storage.models.base import Base, BigIntPK, JSONType


class IngestionSource(Base):
    """One source: a query in a warehouse and how its columns map to events or metrics."""

    __tablename__ = "ingestion_sources"
    __table_args__ = (
        Index("ix_ingestion_sources_name", "project_id", "type", "dataset", "name", unique=True),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    type: Mapped[str] = mapped_column(String(32))
    dataset: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    query: Mapped[str] = mapped_column(Text)
    # A Parquet-folder source's folder, relative to the warehouse files directory; None for
    # sources that read a warehouse with a query.
    path: Mapped[str | None] = mapped_column(String(1000), default=None)
    column_mapping: Mapped[dict[str, Any]] = mapped_column(JSONType)
    enabled: Mapped[bool] = mapped_column(Boolean)
    creator: Mapped[str] = mapped_column(String(320))
    created_time: Mapped[int] = mapped_column(BigInteger)
    last_modifier: Mapped[str] = mapped_column(String(320))
    updated_time: Mapped[int] = mapped_column(BigInteger)


class IngestionConnection(Base):
    """A connection made for ingestions alone (``POST /ingestion/connection/databricks``);
    other types use the project's warehouse connection."""

    __tablename__ = "ingestion_connections"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    type: Mapped[str] = mapped_column(String(32), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # A Fernet token (lockgate.kit.secretbox) over the credentials.
    secrets: Mapped[str] = mapped_column(Text)
    created_time: Mapped[int] = mapped_column(BigInteger)
    updated_time: Mapped[int] = mapped_column(BigInteger)


class IngestionSchedule(Base):
    __tablename__ = "ingestion_schedules"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    dataset: Mapped[str] = mapped_column(String(32), primary_key=True)
    scheduled_hour_pst: Mapped[int] = mapped_column(Integer)
    updated_time: Mapped[int] = mapped_column(BigInteger)


class IngestionRun(Base):
    """One run over some sources and dates; ``history`` holds its status changes, oldest
    first, as ``[time_ms, status]`` pairs."""

    __tablename__ = "ingestion_runs"
    __table_args__ = (
        Index("ix_ingestion_runs_project_created", "project_id", "created_time"),
        Index("ix_ingestion_runs_status", "status", "created_time"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    trigger: Mapped[str] = mapped_column(String(32))
    source_ids: Mapped[list[str]] = mapped_column(JSONType)
    date_stamps: Mapped[list[str]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(32))
    history: Mapped[list[Any]] = mapped_column(JSONType)
    created_time: Mapped[int] = mapped_column(BigInteger)
    updated_time: Mapped[int] = mapped_column(BigInteger)


class IngestionStatus(Base):
    """One status change of one (source, day) within a run."""

    __tablename__ = "ingestion_statuses"
    __table_args__ = (
        Index("ix_ingestion_statuses_day", "project_id", "ds"),
        Index("ix_ingestion_statuses_run", "run_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[str] = mapped_column(String(36))
    source_id: Mapped[str] = mapped_column(String(32))
    source_name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(32))
    dataset: Mapped[str] = mapped_column(String(32))
    ds: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    row_count: Mapped[int | None] = mapped_column(BigInteger, default=None)
    metric_count: Mapped[int | None] = mapped_column(BigInteger, default=None)
    time: Mapped[int] = mapped_column(BigInteger)


class IngestionCount(Base):
    """The event-count ledger: per (source, day, event name) the rows the warehouse returned
    (``external_count``) and the events Lockgate holds (``internal_count``) after the last load
    of that day; ``digest`` fingerprints the day's rows so an unchanged day is not rewritten."""

    __tablename__ = "ingestion_counts"

    project_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    ds: Mapped[str] = mapped_column(String(10), primary_key=True)
    event_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    source_name: Mapped[str] = mapped_column(String(200))
    internal_count: Mapped[int] = mapped_column(BigInteger)
    external_count: Mapped[int] = mapped_column(BigInteger)
    digest: Mapped[str] = mapped_column(String(64))
    updated_time: Mapped[int] = mapped_column(BigInteger)


class IngestionDay(Base):
    """What the warehouse held for one (source, day) when it was last loaded: a fingerprint
    (row count and checksum of the mapped columns, with the source's definition), which the
    re-check of recent days compares with the warehouse's now."""

    __tablename__ = "ingestion_days"

    project_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    ds: Mapped[str] = mapped_column(String(10), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(200))
    row_count: Mapped[int] = mapped_column(BigInteger)
    loaded_time: Mapped[int] = mapped_column(BigInteger)
