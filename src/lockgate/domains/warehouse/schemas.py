"""Wire shapes of ``PATCH /wh_connections``: the official ``WhConnectionUpdateDto`` (one object
per warehouse, every field optional, a merge into the project's connection) and Lockgate's own
warehouses beside them (docs/warehouse.md §Connections)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

Text = Field(None, max_length=2_000)
Secret = Field(None, max_length=20_000)  # private keys and service-account JSON run to kB
Port = Field(None, ge=1, le=65_535)


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Databricks(_Part):
    host: str | None = Text
    path: str | None = Text
    access_token: str | None = Field(None, alias="accessToken", max_length=20_000)
    staging_database: str | None = Field(None, alias="stagingDatabase", max_length=2_000)
    oauth_client_id: str | None = Field(None, alias="oauthClientID", max_length=2_000)
    console_compute_path: str | None = Field(None, alias="consoleComputePath", max_length=2_000)


class Snowflake(_Part):
    account_name: str | None = Field(None, alias="accountName", max_length=2_000)
    service_user_name: str | None = Field(None, alias="serviceUserName", max_length=2_000)
    service_user_password: str | None = Field(None, alias="serviceUserPassword", max_length=20_000)
    private_key: str | None = Field(None, alias="privateKey", max_length=20_000)
    key_pass_phrase: str | None = Field(None, alias="keyPassPhrase", max_length=20_000)
    staging_database_name: str | None = Field(None, alias="stagingDatabaseName", max_length=2_000)
    staging_schema_name: str | None = Field(None, alias="stagingSchemaName", max_length=2_000)
    compute_warehouse: str | None = Field(None, alias="computeWarehouse", max_length=2_000)
    console_compute_warehouse: str | None = Field(
        None, alias="consoleComputeWarehouse", max_length=2_000
    )


class BigQuery(_Part):
    private_key: str | None = Field(None, alias="privateKey", max_length=20_000)
    project: str | None = Text
    console_compute_project: str | None = Field(
        None, alias="consoleComputeProject", max_length=2_000
    )
    staging_dataset: str | None = Field(None, alias="stagingDataset", max_length=2_000)


class Redshift(_Part):
    host: str | None = Text
    port: int | None = Port
    database: str | None = Text
    username: str | None = Text
    password: str | None = Secret
    staging_schema: str | None = Field(None, alias="stagingSchema", max_length=2_000)


class PostgreSQL(_Part):
    host: str | None = Text
    port: int | None = Port
    database: str | None = Text
    username: str | None = Text
    password: str | None = Secret
    staging_schema: str | None = Field(None, alias="stagingSchema", max_length=2_000)


class DuckDB(_Part):
    path: str | None = Text
    staging_schema: str | None = Field(None, alias="stagingSchema", max_length=2_000)


class ClickHouse(_Part):
    path: str | None = Text
    staging_database: str | None = Field(None, alias="stagingDatabase", max_length=2_000)


class WhConnectionUpdate(BaseModel):
    # Unknown warehouse types are kept so that the service can name them in its error.
    model_config = ConfigDict(extra="allow")

    databricks: Databricks | None = None
    snowflake: Snowflake | None = None
    bigquery: BigQuery | None = None
    redshift: Redshift | None = None
    postgresql: PostgreSQL | None = None
    duckdb: DuckDB | None = None
    clickhouse: ClickHouse | None = None
