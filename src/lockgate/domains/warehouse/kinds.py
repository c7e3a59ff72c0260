"""The warehouses a connection can name, as a table: which fields are credentials, which are
required, which names the staging schema, and how the values become an adapter
(docs/warehouse.md §Connections)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sqlalchemy.engine import URL

from lockgate.domains.warehouse.adapters import ChdbWarehouse, SqlAlchemyWarehouse, Warehouse
from lockgate.domains.warehouse.dialects import DIALECTS, check_identifier
from lockgate.errors import InvalidInput

HOST: Final = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
ACCOUNT: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")

Values = Mapping[str, Any]


@dataclass(frozen=True)
class Kind:
    name: str
    secrets: frozenset[str]
    required: tuple[str, ...]
    staging: str  # the field naming the staging schema (dataset, database)
    hosts: tuple[str, ...]  # fields holding a host or account name
    build: Callable[[Values, Path], Warehouse]

    def check(self, values: Values, files_dir: Path) -> None:
        """Refuse missing and malformed values, naming the field."""
        for name in self.required:
            if values.get(name) in (None, ""):
                raise InvalidInput.field(f"{self.name}.{name}", "is required")
        for name in self.hosts:
            value = str(values[name])
            pattern = ACCOUNT if name == "accountName" else HOST
            if not pattern.fullmatch(value):
                raise InvalidInput.field(
                    f"{self.name}.{name}",
                    "must be a host name (letters, digits, dots and hyphens), not a URL",
                )
        try:
            check_identifier(str(values[self.staging]))
        except InvalidInput:
            raise InvalidInput.field(
                f"{self.name}.{self.staging}",
                "must be letters, digits and underscores, starting with a letter or "
                "underscore, at most 63 characters",
            ) from None
        if "path" in values and self.name in FILE_KINDS:
            inside(files_dir, self.name, str(values["path"]))


FILE_KINDS: Final = frozenset({"duckdb", "clickhouse"})


def inside(files_dir: Path, kind: str, path: str) -> Path:
    """``path`` resolved under ``files_dir``; a path that leaves it is refused."""
    root = files_dir.resolve()
    resolved = (root / path).resolve()
    if not resolved.is_relative_to(root) or resolved == root:
        raise InvalidInput.field(
            f"{kind}.path", "must name a file inside the server's warehouse files directory"
        )
    return resolved


# Lockgate's DuckDB connection writes only its staging tables, each replaced by the next load:
# storing them uncompressed spares DuckDB choosing and applying a compression per column of
# every table written (a sixth of a load's CPU time on the Pulse bench; docs/warehouse.md
# §Pipeline), for larger staging tables in the file.
DUCKDB_CONFIG: Final = {"force_compression": "uncompressed"}


def _duckdb(values: Values, files_dir: Path) -> Warehouse:
    path = inside(files_dir, "duckdb", str(values["path"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqlAlchemyWarehouse(
        URL.create("duckdb", database=str(path)),
        DIALECTS["duckdb"],
        values["stagingSchema"],
        engine_options={"connect_args": {"config": dict(DUCKDB_CONFIG)}},
    )


def _clickhouse(values: Values, files_dir: Path) -> Warehouse:
    path = inside(files_dir, "clickhouse", str(values["path"]))
    return ChdbWarehouse(path, staging_schema=values["stagingDatabase"])


def _postgresql(values: Values, files_dir: Path) -> Warehouse:
    url = URL.create(
        "postgresql+psycopg",
        username=values["username"],
        password=values.get("password"),
        host=values["host"],
        port=values.get("port") or 5432,
        database=values["database"],
    )
    return SqlAlchemyWarehouse(
        url,
        DIALECTS["postgresql"],
        values["stagingSchema"],
        engine_options={"connect_args": {"connect_timeout": 10}},
    )


def _redshift(values: Values, files_dir: Path) -> Warehouse:
    url = URL.create(
        "redshift+psycopg2",
        username=values["username"],
        password=values.get("password"),
        host=values["host"],
        port=values.get("port") or 5439,
        database=values["database"],
    )
    return SqlAlchemyWarehouse(url, DIALECTS["redshift"], values["stagingSchema"])


def _snowflake(values: Values, files_dir: Path) -> Warehouse:
    url = URL.create(
        "snowflake",
        username=values["serviceUserName"],
        password=values.get("serviceUserPassword"),
        host=values["accountName"],
        database=f"{values['stagingDatabaseName']}/{values['stagingSchemaName']}",
        query={"warehouse": values["computeWarehouse"]},
    )
    return SqlAlchemyWarehouse(url, DIALECTS["snowflake"], values["stagingSchemaName"])


def _bigquery(values: Values, files_dir: Path) -> Warehouse:
    options: dict[str, Any] = {}
    if values.get("privateKey"):
        try:
            options["credentials_info"] = json.loads(values["privateKey"])
        except ValueError:
            raise InvalidInput.field(
                "bigquery.privateKey", "must be a service account's JSON key"
            ) from None
    return SqlAlchemyWarehouse(
        f"bigquery://{values['project']}",
        DIALECTS["bigquery"],
        values["stagingDataset"],
        engine_options=options,
    )


def _databricks(values: Values, files_dir: Path) -> Warehouse:
    url = URL.create(
        "databricks",
        username="token",
        password=values["accessToken"],
        host=values["host"],
        query={"http_path": values["path"]},
    )
    return SqlAlchemyWarehouse(url, DIALECTS["databricks"], values["stagingDatabase"])


KINDS: Final[dict[str, Kind]] = {
    kind.name: kind
    for kind in (
        Kind(
            "databricks",
            frozenset({"accessToken"}),
            ("host", "path", "accessToken", "stagingDatabase"),
            "stagingDatabase",
            ("host",),
            _databricks,
        ),
        Kind(
            "snowflake",
            frozenset({"serviceUserPassword", "privateKey", "keyPassPhrase"}),
            (
                "accountName",
                "serviceUserName",
                "stagingDatabaseName",
                "stagingSchemaName",
                "computeWarehouse",
            ),
            "stagingSchemaName",
            ("accountName",),
            _snowflake,
        ),
        Kind(
            "bigquery",
            frozenset({"privateKey"}),
            ("project", "stagingDataset"),
            "stagingDataset",
            (),
            _bigquery,
        ),
        Kind(
            "redshift",
            frozenset({"password"}),
            ("host", "database", "username", "stagingSchema"),
            "stagingSchema",
            ("host",),
            _redshift,
        ),
        Kind(
            "postgresql",
            frozenset({"password"}),
            ("host", "database", "username", "stagingSchema"),
            "stagingSchema",
            ("host",),
            _postgresql,
        ),
        Kind("duckdb", frozenset(), ("path", "stagingSchema"), "stagingSchema", (), _duckdb),
        Kind(
            "clickhouse",
            frozenset(),
            ("path", "stagingDatabase"),
            "stagingDatabase",
            (),
            _clickhouse,
        ),
    )
}
# Named by Statsig's newer specifications but not yet connectable here.
NOT_YET: Final = frozenset({"athena"})
