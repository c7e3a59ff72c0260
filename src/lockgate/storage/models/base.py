"""Declarative base, naming convention and the portable JSON column type."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, MetaData, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only autoincrements INTEGER PRIMARY KEY columns, so BigInteger falls back there.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSONType, list[Any]: JSONType, int: BigInteger}


class EntityMixin:
    """Columns every Console entity shares: filterable fields plus the full validated document.

    Each entity kind (gates, configs, experiments, ...) is a table with these columns and
    whatever extra columns it filters on; versions and audit entries live in shared tables.
    """

    project_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str | None] = mapped_column(String(40), default=None)
    id_type: Mapped[str | None] = mapped_column(String(100), default=None)
    creator_id: Mapped[str | None] = mapped_column(String(64), default=None)
    creator_name: Mapped[str | None] = mapped_column(String(200), default=None)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_time: Mapped[int] = mapped_column(BigInteger)
    last_modified_time: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, default=1)
    tags: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)
