"""Migrations build exactly the schema the models describe, and every downgrade undoes its
upgrade, on a new empty database of the suite's kind (SQLite or PostgreSQL, LOCKGATE_TEST_DB)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from lockgate.kit.db import make_engine
from lockgate.kit.settings import Settings
from lockgate.storage.migrations import alembic_config, current_revision, upgrade
from lockgate.storage.models import Base
from tests.conftest import new_database_url

VERSION_TABLE = "alembic_version"


@pytest.fixture()
def engine(tmp_path: Path) -> Iterator[Engine]:
    with new_database_url(tmp_path) as url:
        engine = make_engine(Settings(database_url=url, data_dir=tmp_path))
        yield engine
        engine.dispose()


def _differences(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def _revisions(engine: Engine) -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


def _schema(engine: Engine) -> dict[str, Any]:
    """What the database holds, as reflected: tables, columns, keys, indexes and constraints."""
    inspector = inspect(engine)
    schema: dict[str, Any] = {}
    for table in sorted(set(inspector.get_table_names()) - {VERSION_TABLE}):
        columns = [
            (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
            for c in inspector.get_columns(table)
        ]
        schema[table] = {
            "columns": sorted(columns),
            "primary key": inspector.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted(
                (i["name"] or "", tuple(map(str, i["column_names"])), i["unique"])
                for i in inspector.get_indexes(table)
            ),
            "unique": sorted(
                (u["name"] or "", tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(table)
            ),
            "foreign keys": sorted(
                (f["name"] or "", tuple(f["constrained_columns"]), f["referred_table"])
                for f in inspector.get_foreign_keys(table)
            ),
        }
    return schema


def test_migrations__empty_database_upgraded_to_head__schema_equals_models(
    engine: Engine,
) -> None:
    upgrade(engine)
    assert current_revision(engine) == _revisions(engine)[-1]
    assert set(_schema(engine)) == set(Base.metadata.tables)
    assert _differences(engine) == []


def test_migrations__each_downgrade__restores_the_previous_schema(engine: Engine) -> None:
    # Given the schema after each revision, upgrading one step at a time from empty
    revisions = _revisions(engine)
    schemas = [_schema(engine)]
    for revision in revisions:
        upgrade(engine, revision)
        schemas.append(_schema(engine))
    assert schemas[0] == {} and all(a != b for a, b in pairwise(schemas))
    # When stepping down to the base, each downgrade gives back the schema before its upgrade
    config = alembic_config(engine)
    steps = list(zip(["base", *revisions[:-1]], schemas[:-1], strict=True))
    for previous, schema in reversed(steps):
        command.downgrade(config, previous)
        assert _schema(engine) == schema, previous
    assert current_revision(engine) is None
    # Then the migrations run again from there to the models' schema
    upgrade(engine)
    assert _differences(engine) == []
