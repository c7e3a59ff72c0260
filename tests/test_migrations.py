"""Migrations build exactly the schema the models describe, on the suite's database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.migrations import alembic_config, current_revision
from lockgate.storage.models import Base


def test_migrations__at_head__no_difference_from_models(database: Database) -> None:
    with database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_migrations__applied__revision_recorded(database: Database) -> None:
    assert current_revision(database.engine) is not None


def test_migration_0010__existing_project__default_environments_and_used_id_types(
    tmp_path: Path,
) -> None:
    database = Database(Settings(data_dir=tmp_path))
    config = alembic_config(database.engine)
    command.upgrade(config, "0009")
    with database.engine.begin() as connection:
        connection.execute(text("INSERT INTO companies VALUES ('c', 'c', 1)"))
        connection.execute(
            text(
                "INSERT INTO projects (id, company_id, name, spec_revision, spec_updated_time, "
                "created_time) VALUES ('p', 'c', 'p', 1, 1, 1)"
            )
        )
        for gate, id_type in (("g1", "companyID"), ("g2", "userID"), ("g3", "companyid")):
            connection.execute(
                text(
                    "INSERT INTO gates (gate_type, project_id, id, name, id_type, is_enabled, "
                    "created_time, last_modified_time, version, tags, document) "
                    "VALUES ('TEMPORARY', 'p', :g, :g, :t, true, 1, 1, 1, '[]', '{}')"
                ),
                {"g": gate, "t": id_type},
            )
    command.upgrade(config, "head")
    with database.engine.begin() as connection:
        environments = connection.execute(
            text("SELECT name, is_production FROM environments ORDER BY position")
        ).all()
        types = connection.execute(text("SELECT name FROM unit_id_types")).all()
    database.dispose()
    assert [(n, bool(p)) for n, p in environments] == [
        ("development", False),
        ("staging", False),
        ("production", True),
    ]
    assert [t for (t,) in types] == ["companyID"]
