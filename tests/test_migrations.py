"""Migrations build exactly the schema the models describe, and every downgrade undoes its
upgrade, on a new empty database of the suite's kind (SQLite or PostgreSQL, LOCKGATE_TEST_DB)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event, inspect, text

from lockgate.kit.db import Database, begin, make_engine
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
    """What the database holds, as reflected: tables, columns, keys, indexes and constraints
    (each asked for every table at once: per table, PostgreSQL's catalogs take a query each)."""
    inspector = inspect(engine)
    tables = sorted(set(inspector.get_table_names()) - {VERSION_TABLE})
    if not tables:
        return {}
    columns = inspector.get_multi_columns(filter_names=tables)
    primary_keys = inspector.get_multi_pk_constraint(filter_names=tables)
    indexes = inspector.get_multi_indexes(filter_names=tables)
    uniques = inspector.get_multi_unique_constraints(filter_names=tables)
    foreign_keys = inspector.get_multi_foreign_keys(filter_names=tables)
    schema: dict[str, Any] = {}
    for table in tables:
        key = (None, table)  # the default schema's
        schema[table] = {
            "columns": sorted(
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                for c in columns[key]
            ),
            "primary key": primary_keys[key]["constrained_columns"],
            "indexes": sorted(
                (i["name"] or "", tuple(map(str, i["column_names"])), i["unique"])
                for i in indexes[key]
            ),
            "unique": sorted((u["name"] or "", tuple(u["column_names"])) for u in uniques[key]),
            "foreign keys": sorted(
                (f["name"] or "", tuple(f["constrained_columns"]), f["referred_table"])
                for f in foreign_keys[key]
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


def test_migration_0011__ids_already_in_two_kinds__oldest_claims_each(engine: Engine) -> None:
    # Given a database before entity_names, where racing creates left "both" a gate and a
    # holdout, the holdout first
    upgrade(engine, "0010")
    rows = {
        "gates": [("p1", "both", 20), ("p1", "gate_only", 10), ("p2", "both", 5)],
        "holdouts": [("p1", "both", 15)],
        "experiments": [("p1", "exp", 30)],
    }
    with engine.begin() as connection:
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
    upgrade(engine)

    # Then every id is claimed once in its name space, by the oldest entity
    with engine.connect() as connection:
        claims = set(
            connection.execute(
                text("SELECT project_id, namespace, entity_id, entity_type FROM entity_names")
            ).tuples()
        )
    assert claims == {
        ("p1", "feature_gates", "both", "holdout"),
        ("p1", "feature_gates", "gate_only", "gate"),
        ("p2", "feature_gates", "both", "gate"),
        ("p1", "dynamic_configs", "exp", "experiment"),
    }


# SQLite's write lock; PostgreSQL migrations queue on an advisory lock (tests/test_processes.py
# starts two servers).
@pytest.mark.sqlite_only
def test_upgrade__another_process_writing_meanwhile__waits_then_migrates(tmp_path: Path) -> None:
    # Given a new SQLite file, and another connection (as another process) holding its write
    # lock in a transaction that writes
    settings = Settings(data_dir=tmp_path)
    other, migrating = Database(settings), Database(settings)
    started = threading.Event()

    @event.listens_for(migrating.engine, "before_cursor_execute")
    def _seen(*args: Any) -> None:
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


def test_migration_0012__existing_project__default_environments_and_used_id_types(
    engine: Engine,
) -> None:
    # Given a project whose gates name unit id types before types were defined
    upgrade(engine, "0011")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO companies VALUES ('c', 'c', 1)"))
        connection.execute(
            text(
                "INSERT INTO projects (id, company_id, name, spec_revision, spec_updated_time,"
                " created_time) VALUES ('p', 'c', 'p', 1, 1, 1)"
            )
        )
        for gate, id_type in (("g1", "companyID"), ("g2", "userID"), ("g3", "companyid")):
            connection.execute(
                text(
                    "INSERT INTO gates (gate_type, project_id, id, name, id_type, is_enabled,"
                    " created_time, last_modified_time, version, tags, document)"
                    " VALUES ('TEMPORARY', 'p', :g, :g, :t, true, 1, 1, 1, '[]', '{}')"
                ),
                {"g": gate, "t": id_type},
            )

    # When it is migrated
    upgrade(engine)

    # Then it has the default environments, and its custom type is defined once
    with engine.connect() as connection:
        environments = connection.execute(
            text("SELECT name, is_production FROM environments ORDER BY position")
        ).all()
        types = connection.execute(text("SELECT name FROM unit_id_types")).all()
    assert [(n, bool(p)) for n, p in environments] == [
        ("development", False),
        ("staging", False),
        ("production", True),
    ]
    assert [t for (t,) in types] == ["companyID"]


def test_migration_0014__jobs_running_before__heartbeat_is_their_start(engine: Engine) -> None:
    # Given a job left running (its process killed) and a finished one
    upgrade(engine, "0013")
    with engine.begin() as connection:
        for seq, status, started in ((1, "running", 50), (2, "succeeded", 60)):
            connection.execute(
                text(
                    "INSERT INTO pulse_jobs (seq, id, project_id, entity_type, entity_id, status,"
                    " progress, created_time, started_time)"
                    " VALUES (:seq, :id, 'p', 'experiment', 'e', :status, 1, 10, :started)"
                ),
                {"seq": seq, "id": f"j{seq}", "status": status, "started": started},
            )

    # When it is migrated
    upgrade(engine)

    # Then the running job's heartbeat is its start, so a worker can reclaim it
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, heartbeat_time FROM pulse_jobs ORDER BY seq")
        ).all()
    assert [tuple(row) for row in rows] == [("j1", 50), ("j2", None)]


def test_migration_0018__existing_documents__edges_of_their_rules_recorded(engine: Engine) -> None:
    # Given gates, a config, a segment and an experiment whose rules name gates and segments
    upgrade(engine, "0017")

    def conditions(*named: tuple[str, str]) -> str:
        found = ", ".join(f'{{"type": "{t}", "targetValue": "{v}"}}' for t, v in named)
        return f'[{{"name": "r", "conditions": [{found}]}}]'

    documents = {
        "gates": [
            (
                "first",
                f'{{"rules": {conditions(("passes_gate", "base"), ("fails_segment", "s"))}}}',
            ),
            ("base", '{"rules": []}'),
        ],
        "dynamic_configs": [("config", f'{{"rules": {conditions(("fails_gate", "base"))}}}')],
        "segments": [("s", f'{{"rules": {conditions(("passes_segment", "t"))}}}')],
        "experiments": [
            ("exp", f'{{"inlineTargetingRules": {conditions(("passes_segment", "s"))}}}')
        ],
    }
    with engine.begin() as connection:
        for table, entries in documents.items():
            column, value = {
                "gates": (", gate_type", ", 'TEMPORARY'"),
                "segments": (", segment_type", ", 'rule_based'"),
            }.get(table, ("", ""))
            for entity_id, document in entries:
                connection.execute(
                    text(
                        f"INSERT INTO {table} (project_id, id, name, is_enabled, created_time,"
                        f" last_modified_time, version, tags, document{column})"
                        f" VALUES ('p', :i, :i, true, 1, 1, 1, '[]', :d{value})"
                    ),
                    {"i": entity_id, "d": document},
                )

    # When it is migrated
    upgrade(engine)

    # Then each reference is one edge
    with engine.connect() as connection:
        edges = set(
            connection.execute(
                text(
                    "SELECT project_id, entity_type, entity_id, target_type, target_id"
                    " FROM entity_references"
                )
            ).tuples()
        )
    assert edges == {
        ("p", "gate", "first", "gate", "base"),
        ("p", "gate", "first", "segment", "s"),
        ("p", "dynamic_config", "config", "gate", "base"),
        ("p", "segment", "s", "segment", "t"),
        ("p", "experiment", "exp", "segment", "s"),
    }


def test_migration_0022__existing_events__kept_as_sdk_events(engine: Engine) -> None:
    # Given an event logged before ingestions existed, landed and indexed
    upgrade(engine, "0021")
    with engine.begin() as connection:
        for table in ("events", "events_incoming"):
            connection.execute(
                text(
                    f"INSERT INTO {table} (project_id, event_name, user_id, time, received_time)"
                    " VALUES ('p', 'purchase', 'u1', 1, 1)"
                )
            )

    # When it is migrated
    upgrade(engine)

    # Then the events are kept, written by no ingestion
    with engine.connect() as connection:
        for table in ("events", "events_incoming"):
            rows = connection.execute(
                text(f"SELECT event_name, user_id, ingestion FROM {table}")
            ).all()
            assert [tuple(row) for row in rows] == [("purchase", "u1", None)]


def test_migration_0023__jobs_before__no_cancel_asked(engine: Engine) -> None:
    # Given a running and a finished job
    upgrade(engine, "0022")
    with engine.begin() as connection:
        for seq, status in ((1, "running"), (2, "succeeded")):
            connection.execute(
                text(
                    "INSERT INTO pulse_jobs (seq, id, project_id, entity_type, entity_id, status,"
                    " progress, created_time) VALUES (:seq, :id, 'p', 'experiment', 'e',"
                    " :status, 1, 10)"
                ),
                {"seq": seq, "id": f"j{seq}", "status": status},
            )

    # When they are migrated
    upgrade(engine)

    # Then neither has a cancel asked, so the running one goes on
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, cancel_requested_time, cancelled_by FROM pulse_jobs ORDER BY seq")
        ).all()
    assert [tuple(row) for row in rows] == [("j1", None, None), ("j2", None, None)]
