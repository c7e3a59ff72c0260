"""Wire shapes of the Ingestions operations (Statsig's ``Ingestion*ContractDto``), with
Lockgate's own warehouses beside the official source types (docs/warehouse.md §Ingestions)."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

# The official source types, then the warehouses Lockgate connects to that Statsig does not.
SOURCE_TYPES: Final = (
    "redshift",
    "bigquery-v2",
    "snowflake-v2",
    "databricks",
    "azure-synapse",
    "s3",
    "athena",
    "adls",
    "duckdb",
    "postgresql",
    "clickhouse",
    "parquet",
)
SourceType = Literal[
    "redshift",
    "bigquery-v2",
    "snowflake-v2",
    "databricks",
    "azure-synapse",
    "s3",
    "athena",
    "adls",
    "duckdb",
    "postgresql",
    "clickhouse",
    "parquet",
]
DATASETS: Final = ("Events", "Metrics", "export_exposures", "entity_properties")
Dataset = Literal["Events", "Metrics", "export_exposures", "entity_properties"]
# Create and update also name the deprecated exposure import.
SourceDataset = Literal["Events", "Metrics", "Exposures", "export_exposures", "entity_properties"]

Column: Any = Field(min_length=1, max_length=128)
OptionalColumn: Any = Field(None, min_length=1, max_length=128)
Columns: Any = Field(default_factory=dict, max_length=50)
# A unit id type or metadata key a column maps to.
Label = Annotated[str, Field(min_length=1, max_length=128)]
SourceName = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    # Strict: a boolean or number sent as a string is refused, not guessed at.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)


class EventsMapping(_Strict):
    """Column names of the query's result, for the Events dataset."""

    unit_id: str | None = OptionalColumn
    event_name: str = Column
    timestamp: str = Column
    ids: dict[str, Label] = Columns  # column -> unit id type
    metadata: dict[str, Label] = Columns  # column -> metadata key
    metadata_object: str | None = OptionalColumn
    event_value: str | None = Field(None, max_length=128)


class MetricsMapping(_Strict):
    """Column names of the query's result, for the Metrics dataset (one row per unit and
    day)."""

    unit_id: str = Column
    id_type: str = Column
    dateid: str = Column
    metric_name: str = Column
    metric_value: str | None = OptionalColumn
    numerator: str | None = OptionalColumn
    denominator: str | None = OptionalColumn


class _SourceFields(_Strict):
    type: SourceType
    query: str | None = Field(None, max_length=100_000)
    # Lockgate's: the folder a ``parquet`` source reads, inside the warehouse files directory.
    path: str | None = Field(None, min_length=1, max_length=1000)
    column_mapping: dict[str, object] | None = Field(None, max_length=50)
    share: str | None = Field(None, max_length=500)
    schema_: str | None = Field(None, alias="schema", max_length=500)
    table: str | None = Field(None, max_length=500)
    enabled: bool | None = None


class SourceCreate(_SourceFields):
    dataset: SourceDataset
    source_name: str = Field(min_length=1, max_length=200)
    use_delta_sharing: bool | None = None


class SourceUpdate(_SourceFields):
    dataset: SourceDataset
    source_name: str | None = Field(None, min_length=1, max_length=200)


class Backfill(_Strict):
    datestamp_start: str = Field(max_length=10)
    datestamp_end: str = Field(max_length=10)
    type: SourceType
    dataset: Dataset
    source: SourceName | Annotated[list[SourceName], Field(max_length=100)] | None = None


class DatabricksConnection(_Strict):
    token: str = Field(min_length=1, max_length=20_000)
    host: str = Field(min_length=1, max_length=2_000)
    path: str = Field(min_length=1, max_length=2_000)
    delta_sharing_credentials: str | None = Field(
        None, alias="deltaSharingCredentials", max_length=20_000
    )
    verified: bool | None = None


class ScheduleUpdate(_Strict):
    dataset: Dataset
    # A whole hour of the day in PST (UTC-8 all year); the spec types it as a number.
    scheduled_hour_pst: float = Field(10, ge=0, le=23)
