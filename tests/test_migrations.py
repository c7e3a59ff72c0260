"""Migrations build exactly the schema the models describe, on the suite's database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from lockgate.kit.db import Database
from lockgate.storage.migrations import current_revision
from lockgate.storage.models import Base


def test_migrations__at_head__no_difference_from_models(database: Database) -> None:
    with database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_migrations__applied__revision_recorded(database: Database) -> None:
    assert current_revision(database.engine) is not None
