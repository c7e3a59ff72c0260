"""The project's warehouse connection (docs/warehouse.md): its settings in the clear, its
credentials encrypted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lockgate.storage.models.base import Base, JSONType


class WarehouseConnection(Base):
    __tablename__ = "warehouse_connections"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # Every field that is not a credential, by its wire name.
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # A Fernet token (lockgate.kit.secretbox) over the credentials, by wire name.
    secrets: Mapped[str] = mapped_column(Text)
    created_time: Mapped[int] = mapped_column(BigInteger)
    updated_time: Mapped[int] = mapped_column(BigInteger)


class WarehouseSource(Base):
    """A warehouse-native source definition (docs/warehouse.md §Sources): an assignment source,
    an entity property source, a qualifying event or a metric source, by ``kind``; its wire
    document as answered, without the request-only fields."""

    __tablename__ = "warehouse_sources"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # The columns the source's query answered when it was last validated, in order.
    columns: Mapped[list[str]] = mapped_column(JSONType)
    created_time: Mapped[int] = mapped_column(BigInteger)
    updated_time: Mapped[int] = mapped_column(BigInteger)
