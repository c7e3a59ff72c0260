"""Real warehouses for the adapter tests: a DuckDB file, a scratch schema on the local
PostgreSQL server, and ClickHouse embedded through chDB (one data directory per process, so a
database of its own per test)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from lockgate.domains.warehouse.adapters import ChdbWarehouse, SqlAlchemyWarehouse, Warehouse
from lockgate.domains.warehouse.dialects import DIALECTS
from lockgate.kit.settings import Settings
from tests.conftest import PG_SERVER_URL

WAREHOUSES = ("duckdb", "postgresql", "clickhouse")
CHDB_DIR = "chdb"


@pytest.fixture(scope="session")
def chdb_path(base_settings: Settings) -> Path:
    """chDB's one data directory of this process, inside the warehouse files directory so that
    connections made through the Console API can name it too."""
    return base_settings.resolved_warehouse_files_dir / CHDB_DIR


def scratch_name() -> str:
    return f"whn_{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=WAREHOUSES)
def warehouse(
    request: pytest.FixtureRequest, tmp_path: Path, chdb_path: Path
) -> Iterator[Warehouse]:
    """A connected warehouse whose staging schema is new and dropped afterwards."""
    schema = scratch_name()
    kind = request.param
    adapter: Warehouse
    if kind == "duckdb":
        adapter = SqlAlchemyWarehouse(
            f"duckdb:///{tmp_path / 'w.duckdb'}", DIALECTS["duckdb"], schema
        )
    elif kind == "postgresql":
        adapter = SqlAlchemyWarehouse(PG_SERVER_URL, DIALECTS["postgresql"], schema)
    else:
        adapter = ChdbWarehouse(chdb_path, staging_schema=schema)
    with adapter:
        adapter.ensure_staging()
        try:
            yield adapter
        finally:
            drop_schema(adapter, kind, schema)


def connected_warehouse(
    kind: str, schema: str, settings: Settings, chdb_path: Path
) -> tuple[Warehouse, dict[str, Any]]:
    """An adapter over a new place of ``kind`` in the team's warehouse (a DuckDB file under the
    warehouse files directory, a PostgreSQL schema, a chDB database) named ``schema``, and the
    ``PATCH /wh_connections`` body that connects the project to it."""
    if kind == "duckdb":
        path = settings.resolved_warehouse_files_dir / f"team_{schema}.duckdb"
        path.parent.mkdir(parents=True, exist_ok=True)
        duckdb = SqlAlchemyWarehouse(f"duckdb:///{path}", DIALECTS["duckdb"], schema)
        return duckdb, {"duckdb": {"path": path.name, "stagingSchema": schema}}
    if kind == "postgresql":
        postgresql = SqlAlchemyWarehouse(PG_SERVER_URL, DIALECTS["postgresql"], schema)
        return postgresql, {
            "postgresql": {
                "host": "127.0.0.1",
                "port": 5432,
                "database": "postgres",
                "username": "postgres",
                "password": "unused-under-trust",
                "stagingSchema": schema,
            }
        }
    chdb = ChdbWarehouse(chdb_path, staging_schema=schema)
    return chdb, {"clickhouse": {"path": CHDB_DIR, "stagingDatabase": schema}}


def drop_schema(adapter: Warehouse, kind: str, schema: str) -> None:
    if kind == "postgresql":
        drop_pg_schema(schema)
    elif kind == "clickhouse":
        adapter.run(f"DROP DATABASE IF EXISTS `{schema}`")


def drop_pg_schema(schema: str) -> None:
    engine = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def pg_schemas(prefix: str) -> set[str]:
    engine = create_engine(PG_SERVER_URL)
    with engine.connect() as conn:
        names = conn.execute(
            text("SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE :p"),
            {"p": f"{prefix}%"},
        ).scalars()
        found = set(names)
    engine.dispose()
    return found
