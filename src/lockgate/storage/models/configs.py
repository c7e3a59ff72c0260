"""Tables of the feature-management entities: gates, dynamic configs, segments and id lists."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from lockgate.storage.models.base import Base, EntityMixin


class Gate(EntityMixin, Base):
    __tablename__ = "gates"

    gate_type: Mapped[str] = mapped_column(String(20), default="TEMPORARY")


class DynamicConfig(EntityMixin, Base):
    __tablename__ = "dynamic_configs"


class Segment(EntityMixin, Base):
    __tablename__ = "segments"

    segment_type: Mapped[str] = mapped_column(String(30))


class SegmentMember(Base):
    """One id of an id-list segment. Lists can hold millions, so ids are rows, not a document."""

    __tablename__ = "segment_ids"
    __table_args__ = (Index("ix_segment_ids_added", "project_id", "segment_id", "added_time"),)

    project_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    segment_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    added_time: Mapped[int] = mapped_column(BigInteger)


class Experiment(EntityMixin, Base):
    __tablename__ = "experiments"

    layer_id: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    team_id: Mapped[str | None] = mapped_column(String(64), default=None)


class Layer(EntityMixin, Base):
    __tablename__ = "layers"


class Holdout(EntityMixin, Base):
    __tablename__ = "holdouts"


class Autotune(EntityMixin, Base):
    __tablename__ = "autotunes"


class ParamStore(EntityMixin, Base):
    """A parameter store. ``id`` is the store's name, the key of its Console path and of the
    SDK payloads; the 22-character id the API shows lives in the document."""

    __tablename__ = "param_stores"
