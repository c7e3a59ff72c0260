"""Bulk writes to the event tables.

Events arrive by the hundred thousand, so rows go to the driver's ``executemany`` as tuples with
their JSON columns already serialised: SQLAlchemy's per-row parameter processing would cost
more than the insert itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Connection, Table

from lockgate.models import CustomEvent, Exposure
from lockgate.models.base import JSONType

TABLES: dict[str, Table] = {
    "exposures": Exposure.__table__,  # type: ignore[dict-item]
    "events": CustomEvent.__table__,  # type: ignore[dict-item]
}


@cache
def _plan(table_name: str, dialect: str) -> tuple[str, tuple[str, ...], frozenset[str]]:
    table = TABLES[table_name]
    columns = tuple(c.name for c in table.columns if not c.primary_key)
    json_columns = frozenset(c.name for c in table.columns if c.type is JSONType)
    if dialect == "postgresql":
        marks = ", ".join("CAST(%s AS jsonb)" if c in json_columns else "%s" for c in columns)
    else:
        marks = ", ".join("?" for _ in columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table_name}" ({quoted}) VALUES ({marks})', columns, json_columns


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode("utf-8")


def insert_rows(connection: Connection, table_name: str, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    sql, columns, json_columns = _plan(table_name, connection.dialect.name)
    params = [
        tuple(_json(row.get(c)) if c in json_columns else row.get(c) for c in columns)
        for row in rows
    ]
    connection.exec_driver_sql(sql, params)
