"""Real warehouses for the adapter tests: a DuckDB file, a scratch schema on the local
PostgreSQL server, and ClickHouse embedded through chDB (one data directory per process, so a
database of its own per test)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from lockgate.domains.warehouse.adapters import ChdbWarehouse, SqlAlchemyWarehouse, Warehouse
from lockgate.domains.warehouse.dialects import DIALECTS
from tests.conftest import PG_SERVER_URL

WAREHOUSES = ("duckdb", "postgresql", "clickhouse")


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


def scratch_name() -> str:
    return f"whn_{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=WAREHOUSES)
def warehouse(request: pytest.FixtureRequest, tmp_path: Path, chdb_path: Path) -> Iterator[Warehouse]:
    """A connected warehouse whose staging schema is new and dropped afterwards."""
    schema = scratch_name()
    kind = request.param
    adapter: Warehouse
    if kind == "duckdb":
        adapter = SqlAlchemyWarehouse(f"duckdb:///{tmp_path / 'w.duckdb'}", DIALECTS["duckdb"], schema)
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


def drop_schema(adapter: Warehouse, kind: str, schema: str) -> None:
    if kind == "postgresql":
        engine = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
    elif kind == "clickhouse":
        adapter.run(f"DROP DATABASE IF EXISTS `{schema}`")
