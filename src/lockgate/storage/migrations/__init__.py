"""Alembic migrations, applied on start and by ``lockgate db upgrade``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from lockgate.kit.db import begin

_HERE = Path(__file__).parent
# Any constant works; it only has to be the same in every Lockgate process.
_PG_MIGRATION_LOCK = 7_361_902_114


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``. Several processes may call this at once: each
    migrates in one transaction holding a lock (an advisory lock on PostgreSQL, the write
    lock on SQLite), so the others wait, then find nothing left to do."""
    config = alembic_config(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            try:
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                connection.commit()
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                connection.commit()
        return
    # A deferred transaction would read the version table, then fail at its first write if
    # another process wrote meanwhile; taking the write lock first waits instead.
    with engine.connect() as connection, begin(connection, write=True):
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
