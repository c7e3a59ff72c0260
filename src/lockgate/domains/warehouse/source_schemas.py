"""Wire shapes of the warehouse-native sources (docs/warehouse.md §Sources): the official
``AssignmentSource*``, ``EntityPropertySource*`` and ``MetricSource*`` DTOs (metric sources and
qualifying events share theirs). Every field is bounded; what the fields mean together is
checked in ``sources``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Column = Field(min_length=1, max_length=200)
Description = Field(None, max_length=5_000)
Tags = Field(None, max_length=100)


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class IdTypeColumn(_Body):
    statsig_unit_id: str = Field(alias="statsigUnitID", min_length=1, max_length=100)
    column: str = Column


class Owner(_Body):
    owner_id: str | None = Field(None, alias="ownerID", max_length=200)
    owner_type: str | None = Field(None, alias="ownerType", max_length=50)
    owner_name: str | None = Field(None, alias="ownerName", max_length=200)
    owner_email: str | None = Field(None, alias="ownerEmail", max_length=320)


class CustomField(_Body):
    key: str = Field(max_length=200)
    formula: str = Field(max_length=10_000)


class _Common(_Body):
    """Fields every source kind has besides its query and columns."""

    description: str | None = Description
    tags: list[str] | None = Tags
    is_read_only: bool | None = Field(None, alias="isReadOnly")
    team: str | None = Field(None, max_length=200)
    team_id: str | None = Field(None, alias="teamID", max_length=200)
    dry_run: bool | None = Field(None, alias="dryRun")
    id_type_mapping: list[IdTypeColumn] | None = Field(
        None, alias="idTypeMapping", min_length=1, max_length=20
    )

    @field_validator("tags")
    @classmethod
    def _tag_lengths(cls, tags: list[str] | None) -> list[str] | None:
        if tags is not None and any(not 1 <= len(tag) <= 100 for tag in tags):
            raise ValueError("each tag must be 1 to 100 characters")
        return tags


class _Verified(_Common):
    is_verified: bool | None = Field(None, alias="isVerified")
    owner: Owner | None = None


class AssignmentSourceFields(_Verified):
    """Any assignment source body; which fields are required depends on the operation."""

    name: str | None = Field(None, min_length=1, max_length=100)
    sql: str | None = Field(None, min_length=1, max_length=100_000)
    timestamp_column: str | None = Field(None, alias="timestampColumn", max_length=200)
    experiment_id_column: str | None = Field(None, alias="experimentIDColumn", max_length=200)
    group_id_column: str | None = Field(None, alias="groupIDColumn", max_length=200)


class EntityPropertySourceFields(_Common):
    """Any entity property source body (no owner, no ``isVerified`` in this DTO family)."""

    name: str | None = Field(None, min_length=1, max_length=100)
    sql: str | None = Field(None, min_length=1, max_length=100_000)
    timestamp_column: str | None = Field(None, alias="timestampColumn", max_length=200)
    timestamp_as_day: bool | None = Field(None, alias="timestampAsDay")


class MetricSourceFields(_Verified):
    """Any metric source or qualifying event body."""

    name: str | None = Field(None, min_length=1, max_length=100)
    sql: str | None = Field(None, max_length=100_000)
    timestamp_column: str | None = Field(None, alias="timestampColumn", max_length=200)
    timestamp_as_day: bool | None = Field(None, alias="timestampAsDay")
    source_type: Literal["table", "query"] | None = Field(None, alias="sourceType")
    table_name: str | None = Field(None, alias="tableName", max_length=500)
    date_partition_column: str | None = Field(None, alias="datePartitionColumn", max_length=200)
    custom_field_mapping: list[CustomField] | None = Field(
        None, alias="customFieldMapping", max_length=100
    )
