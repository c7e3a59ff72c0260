"""Alembic environment: runs against the engine (or connection) Lockgate hands it."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext, MigrationInfo
from sqlalchemy import Connection

from lockgate.storage.models import Base

config = context.config


def _record(
    ctx: MigrationContext, step: MigrationInfo, heads: Collection[Any], run_args: Mapping[str, Any]
) -> None:
    """Tell ``upgrade``'s caller each migration as it is applied."""
    report = config.attributes.get("on_version_apply")
    if report is not None and step.is_upgrade:
        report(step)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
        on_version_apply=_record,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = config.attributes["engine"]
    with engine.connect() as conn:
        _run(conn)
        conn.commit()


run_migrations_online()
