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
