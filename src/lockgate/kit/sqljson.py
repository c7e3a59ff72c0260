"""Portable filters over JSON list columns (SQLite ``json_each``, PostgreSQL ``jsonb``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, exists, func, literal_column, select, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.expression import cast


def json_list_overlaps(column: Any, values: Sequence[str], dialect: str) -> ColumnElement[bool]:
    """True where the JSON list in ``column`` holds at least one of ``values``."""
    if not values:
        return true()
    if dialect == "postgresql":
        return column.op("?|")(cast(list(values), postgresql.ARRAY(postgresql.TEXT)))  # type: ignore[no-any-return]
    each = func.json_each(column).table_valued("value")
    return exists(select(literal_column("1")).select_from(each).where(each.c.value.in_(values)))
