"""Alembic migrations, applied on start and by ``lockgate db upgrade``."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext, MigrationInfo
from alembic.script import Script
from sqlalchemy import Engine, text

from lockgate.kit.db import begin

logger = logging.getLogger(__name__)

_HERE = Path(__file__).parent
# Any constant works; it only has to be the same in every Lockgate process.
_PG_MIGRATION_LOCK = 7_361_902_114


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> list[str]:
    """Bring the schema to ``revision``. Several processes may call this at once.

    Returns the migrations this call applied (``"0002 gates configs segments"``), oldest first:
    empty when the schema was already current, or another process got there first."""
    config = alembic_config(engine)
    applied: list[str] = []
    config.attributes["on_version_apply"] = lambda step: applied.append(_describe(step))
    _migrate(config, engine, revision)
    for migration in applied:
        logger.info("applied migration %s", migration)
    if not applied:
        logger.debug("database schema is current")
    return applied


def _migrate(config: Config, engine: Engine, revision: str) -> None:
    """Migrate in one transaction holding a lock (an advisory lock on PostgreSQL, the write
    lock on SQLite), so processes starting together migrate one after another."""
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


def _describe(step: MigrationInfo) -> str:
    """``"0002 gates configs segments"`` for an Alembic ``MigrationInfo``."""
    revision = step.up_revision
    doc = revision.doc.strip().splitlines() if isinstance(revision, Script) else []
    return " ".join([step.up_revision_id or "?", *doc[:1]])


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
