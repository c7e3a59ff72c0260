"""Databases for the suite, of the flavour LOCKGATE_TEST_DB names (sqlite or postgresql)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

TEST_DB = os.environ.get("LOCKGATE_TEST_DB", "sqlite")
PG_SERVER_URL = os.environ.get(
    "LOCKGATE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def new_database(directory: Path, flavour: str = TEST_DB) -> Iterator[str]:
    """The URL of a new, empty database of ``flavour`` (the suite's unless a test needs one
    kind), dropped afterwards."""
    if flavour == "sqlite":
        yield f"sqlite:///{directory / 'lockgate.db'}"
        return
    if flavour != "postgresql":
        raise pytest.UsageError(f"LOCKGATE_TEST_DB must be sqlite or postgresql, not {flavour}")
    name = f"lockgate_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_SERVER_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
