"""Migrations build exactly the schema the models describe, on the suite's database."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, text

from lockgate.kit.db import Database, begin
from lockgate.kit.settings import Settings
from lockgate.storage.migrations import current_revision, upgrade
from lockgate.storage.models import Base
from tests.databases import TEST_DB


def test_migrations__at_head__no_difference_from_models(database: Database) -> None:
    with database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_migrations__applied__revision_recorded(database: Database) -> None:
    assert current_revision(database.engine) is not None


def test_migration_0010__ids_already_in_two_kinds__oldest_claims_each(
    empty_database_url: str, tmp_path: Path
) -> None:
    # Given a database before entity_names, where racing creates left "both" a gate and a
    # holdout, the holdout first
    database = Database(Settings(database_url=empty_database_url, data_dir=tmp_path))
    upgrade(database.engine, "0009")
    rows = {
        "gates": [("p1", "both", 20), ("p1", "gate_only", 10), ("p2", "both", 5)],
        "holdouts": [("p1", "both", 15)],
        "experiments": [("p1", "exp", 30)],
    }
    with database.engine.begin() as connection:
        for table, entries in rows.items():
            # A gate's type column has no default; the id serves as one.
            column, value = (", gate_type", ", :i") if table == "gates" else ("", "")
            for project_id, entity_id, created in entries:
                connection.execute(
                    text(
                        f"INSERT INTO {table} (project_id, id, name, is_enabled, created_time,"
                        f" last_modified_time, version, tags, document{column})"
                        f" VALUES (:p, :i, :i, true, :t, :t, 1, '[]', '{{}}'{value})"
                    ),
                    {"p": project_id, "i": entity_id, "t": created},
                )

    # When it is migrated
    upgrade(database.engine)

    # Then every id is claimed once in its name space, by the oldest entity
    with database.engine.connect() as connection:
        claims = set(
            connection.execute(
                text("SELECT project_id, namespace, entity_id, entity_type FROM entity_names")
            ).tuples()
        )
    database.dispose()
    assert claims == {
        ("p1", "feature_gates", "both", "holdout"),
        ("p1", "feature_gates", "gate_only", "gate"),
        ("p2", "feature_gates", "both", "gate"),
        ("p1", "dynamic_configs", "exp", "experiment"),
    }


@pytest.mark.skipif(
    TEST_DB != "sqlite",
    reason="SQLite's write lock; PostgreSQL migrations "
    "queue on an advisory lock (tests/test_processes.py starts two servers)",
)
def test_upgrade__another_process_writing_meanwhile__waits_then_migrates(tmp_path: Path) -> None:
    # Given a new SQLite file, and another connection (as another process) holding its write
    # lock in a transaction that writes
    settings = Settings(data_dir=tmp_path)
    other, migrating = Database(settings), Database(settings)
    statements: list[str] = []
    started = threading.Event()

    @event.listens_for(migrating.engine, "before_cursor_execute")
    def _seen(*args: Any) -> None:
        statements.append(args[2])
        if not args[2].startswith(("BEGIN", "PRAGMA")):
            started.set()

    holder = other.engine.connect()
    with begin(holder, write=True):
        holder.execute(text("CREATE TABLE other_process_wrote (x INTEGER)"))
        outcome: list[BaseException | None] = []

        def migrate() -> None:
            try:
                upgrade(migrating.engine)
                outcome.append(None)
            except BaseException as problem:
                outcome.append(problem)

        # When a migration starts meanwhile; the other transaction commits once the migration
        # has read the schema (it does before it waits for the lock) or waited a while
        runner = threading.Thread(target=migrate)
        runner.start()
        if started.wait(timeout=3):
            runner.join(timeout=1)  # lets it reach its first write
    holder.close()
    runner.join()

    # Then the migration waited for the lock and completed
    assert outcome == [None]
    assert current_revision(migrating.engine) is not None
    other.dispose()
    migrating.dispose()
