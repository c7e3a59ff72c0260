"""The SQL that differs between warehouses, one hook per difference (docs/warehouse.md).

Generated SQL is written once; wherever warehouses disagree (exact percentiles, date arithmetic,
``GROUP BY ALL``, replacing a table, identifier quoting) it calls a hook of the warehouse's
``SqlDialect``. Hooks take SQL expressions as text and return text; names and numbers are
checked here, so no value from a request reaches SQL unchecked.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Final

from lockgate.errors import INVALID_REQUEST, InvalidInput

# Staging names (`<kind>_<experiment id>`, the staging schema) are ASCII words of at most 63
# characters, the shortest limit among the warehouses (PostgreSQL's).
IDENTIFIER: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class UnsupportedInDialect(InvalidInput):
    """The warehouse has no exact form of what was asked (an exact percentile on Trino)."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"{INVALID_REQUEST} {problem}")


def check_identifier(name: str) -> str:
    if not IDENTIFIER.fullmatch(name):
        raise InvalidInput.because(
            f"{name!r} is not a valid warehouse name: letters, digits and "
            "underscores, starting with a letter or underscore, at most 63 characters."
        )
    return name


def _fraction(q: float) -> str:
    if isinstance(q, bool) or not 0.0 <= float(q) <= 1.0:
        raise InvalidInput.because(f"A percentile must be between 0 and 1, not {q!r}.")
    return repr(float(q))


def _milliseconds(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 86_400_000:
        raise InvalidInput.because(f"A millisecond count must be from 0 to 86400000, not {n!r}.")
    return n


def _days(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or abs(n) > 100_000:
        raise InvalidInput.because(f"A day count must be an integer within 100000, not {n!r}.")
    return n


class SqlDialect:
    """ANSI-flavoured defaults; each warehouse overrides what it spells differently."""

    name: str = "ansi"
    quote_char: str = '"'
    supports_group_by_all: bool = False
    string_type: str = "VARCHAR"
    float_type: str = "DOUBLE PRECISION"
    # Whether string literals read backslash escapes (and '' is not a quote but two literals).
    backslash_escapes: bool = False
    # Whether window frames may be RANGE with an offset and LEAD may take a default (the
    # pipeline's window functions over unit-day rows; docs/warehouse.md §Views).
    supports_range_frames: bool = True

    def quote(self, name: str) -> str:
        return f"{self.quote_char}{check_identifier(name)}{self.quote_char}"

    def qualified(self, schema: str, table: str) -> str:
        return f"{self.quote(schema)}.{self.quote(table)}"

    def create_schema(self, schema: str) -> str:
        return f"CREATE SCHEMA IF NOT EXISTS {self.quote(schema)}"

    def drop_table(self, qualified: str) -> str:
        return f"DROP TABLE IF EXISTS {qualified}"

    def replace_table_as(self, qualified: str, select_sql: str) -> list[str]:
        """The statements that make ``qualified`` hold the rows of ``select_sql``, run in
        order in one transaction where the warehouse has them."""
        return [f"CREATE OR REPLACE TABLE {qualified} AS {select_sql}"]

    def delete_where(self, qualified: str, condition_sql: str) -> str:
        return f"DELETE FROM {qualified} WHERE {condition_sql}"

    def exact_percentile(self, expr: str, q: float) -> str:
        """The exact percentile of ``expr`` with linear interpolation between the closest
        ranks (``PERCENTILE_CONT``), as an aggregate."""
        return f"PERCENTILE_CONT({_fraction(q)}) WITHIN GROUP (ORDER BY {expr})"

    def date_literal(self, day: dt.date) -> str:
        return f"DATE '{day.isoformat()}'"

    def days_between(self, start: str, end: str) -> str:
        """Calendar days from ``start``'s date to ``end``'s date (both cast to DATE first, so
        23:00 to 01:00 the next day is one day)."""
        return f"DATEDIFF(day, CAST({start} AS DATE), CAST({end} AS DATE))"

    def seconds_between(self, start: str, end: str) -> str:
        """Whole seconds from the timestamp ``start`` to ``end``."""
        return f"DATEDIFF(second, {start}, {end})"

    def minus_milliseconds(self, timestamp: str, n: int) -> str:
        """``timestamp`` ``n`` milliseconds earlier (``n`` a whole number from 0)."""
        return f"DATEADD(millisecond, {-_milliseconds(n)}, {timestamp})"

    def add_days(self, timestamp: str, n: int) -> str:
        return f"DATEADD(day, {_days(n)}, {timestamp})"

    def group_by(self, columns: Sequence[str]) -> str:
        """``GROUP BY ALL`` where the warehouse has it, else the explicit list of the
        non-aggregated ``columns`` (expressions, in select order)."""
        if self.supports_group_by_all:
            return "GROUP BY ALL"
        return "GROUP BY " + ", ".join(columns)

    def cast_string(self, expr: str) -> str:
        return f"CAST({expr} AS {self.string_type})"

    def cast_float(self, expr: str) -> str:
        return f"CAST({expr} AS {self.float_type})"

    def cast_nullable_string(self, expr: str) -> str:
        """``expr`` as text, NULL staying NULL (a count distinct's values in the staging
        tables)."""
        return self.cast_string(expr)

    def timestamp_literal(self, moment: dt.datetime) -> str:
        """A UTC moment, to the second, as a timestamp without time zone."""
        return f"CAST('{moment.strftime('%Y-%m-%d %H:%M:%S')}' AS TIMESTAMP)"

    def row_checksum(self, exprs: Sequence[str]) -> str:
        """An aggregate over the rows of ``exprs`` that ignores their order and changes when a
        row is added, removed or changed: the sum of a 64-bit hash of each row (a
        fingerprint with ``COUNT(*)``, not a proof)."""
        return f"SUM(HASH({', '.join(exprs)}))"

    def string_literal(self, value: str) -> str:
        if self.backslash_escapes:
            return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return "'" + value.replace("'", "''") + "'"

    # Substring tests of a text expression against a string literal (criteria conditions
    # contains, starts_with and ends_with): functions, not LIKE, so ``%`` and ``_`` in a value
    # are plain characters in every warehouse.
    def contains(self, text: str, literal: str) -> str:
        return f"POSITION({literal} IN {text}) > 0"

    def starts_with(self, text: str, literal: str) -> str:
        return f"LEFT({text}, LENGTH({literal})) = {literal}"

    def ends_with(self, text: str, literal: str) -> str:
        return f"RIGHT({text}, LENGTH({literal})) = {literal}"


class DuckDB(SqlDialect):
    name = "duckdb"
    supports_group_by_all = True

    def exact_percentile(self, expr: str, q: float) -> str:
        return f"quantile_cont({expr}, {_fraction(q)})"

    def days_between(self, start: str, end: str) -> str:
        return f"date_diff('day', CAST({start} AS DATE), CAST({end} AS DATE))"

    def seconds_between(self, start: str, end: str) -> str:
        return f"date_diff('second', {start}, {end})"

    def minus_milliseconds(self, timestamp: str, n: int) -> str:
        return f"({timestamp} - INTERVAL {_milliseconds(n)} MILLISECOND)"

    def add_days(self, timestamp: str, n: int) -> str:
        return f"({timestamp} + INTERVAL {_days(n)} DAY)"

    def row_checksum(self, exprs: Sequence[str]) -> str:
        return f"SUM(hash({', '.join(exprs)}))"

    def contains(self, text: str, literal: str) -> str:
        return f"contains({text}, {literal})"

    def starts_with(self, text: str, literal: str) -> str:
        return f"starts_with({text}, {literal})"

    def ends_with(self, text: str, literal: str) -> str:
        return f"ends_with({text}, {literal})"


class PostgreSQL(SqlDialect):
    name = "postgresql"

    def replace_table_as(self, qualified: str, select_sql: str) -> list[str]:
        return [self.drop_table(qualified), f"CREATE TABLE {qualified} AS {select_sql}"]

    def days_between(self, start: str, end: str) -> str:
        return f"(CAST({end} AS DATE) - CAST({start} AS DATE))"

    def seconds_between(self, start: str, end: str) -> str:
        return f"(FLOOR(EXTRACT(EPOCH FROM {end})) - FLOOR(EXTRACT(EPOCH FROM {start})))"

    def minus_milliseconds(self, timestamp: str, n: int) -> str:
        return f"({timestamp} - INTERVAL '{_milliseconds(n)} milliseconds')"

    def add_days(self, timestamp: str, n: int) -> str:
        return f"({timestamp} + INTERVAL '{_days(n)} days')"

    def row_checksum(self, exprs: Sequence[str]) -> str:
        # A row value's text form quotes and separates its fields, NULL included.
        return f"SUM(hashtextextended(CAST(ROW({', '.join(exprs)}) AS TEXT), 0))"


class Redshift(PostgreSQL):
    name = "redshift"
    supports_range_frames = False  # ROWS frames only; LEAD without a default

    def days_between(self, start: str, end: str) -> str:
        return SqlDialect.days_between(self, start, end)

    def seconds_between(self, start: str, end: str) -> str:
        return SqlDialect.seconds_between(self, start, end)

    def minus_milliseconds(self, timestamp: str, n: int) -> str:
        return SqlDialect.minus_milliseconds(self, timestamp, n)

    def add_days(self, timestamp: str, n: int) -> str:
        return SqlDialect.add_days(self, timestamp, n)

    def row_checksum(self, exprs: Sequence[str]) -> str:
        # Redshift has no row values nor a 64-bit hash: 60 bits of an MD5 of the fields, each
        # NULL spelled apart from any text.
        fields = " || '|' || ".join(
            f"COALESCE(REPLACE(CAST({e} AS VARCHAR), '|', '||'), '\\N')" for e in exprs
        )
        return f"SUM(CAST(STRTOL(LEFT(MD5({fields}), 15), 16) AS DECIMAL(38, 0)))"


class ClickHouse(SqlDialect):
    name = "clickhouse"
    quote_char = "`"
    supports_group_by_all = True
    string_type = "String"
    float_type = "Nullable(Float64)"  # NULL values stay NULL, as in the other warehouses
    backslash_escapes = True

    def cast_nullable_string(self, expr: str) -> str:
        return f"CAST({expr} AS Nullable(String))"

    def create_schema(self, schema: str) -> str:
        return f"CREATE DATABASE IF NOT EXISTS {self.quote(schema)}"

    def replace_table_as(self, qualified: str, select_sql: str) -> list[str]:
        return [
            f"CREATE OR REPLACE TABLE {qualified} ENGINE = MergeTree ORDER BY tuple() "
            f"AS {select_sql}"
        ]

    def exact_percentile(self, expr: str, q: float) -> str:
        # quantileExact picks a sample value; the Inclusive form interpolates as
        # PERCENTILE_CONT does.
        return f"quantileExactInclusive({_fraction(q)})({expr})"

    def date_literal(self, day: dt.date) -> str:
        return f"toDate('{day.isoformat()}')"

    def timestamp_literal(self, moment: dt.datetime) -> str:
        return f"toDateTime('{moment.strftime('%Y-%m-%d %H:%M:%S')}', 'UTC')"

    def days_between(self, start: str, end: str) -> str:
        return f"dateDiff('day', toDate({start}), toDate({end}))"

    def seconds_between(self, start: str, end: str) -> str:
        return f"dateDiff('second', {start}, {end})"

    def minus_milliseconds(self, timestamp: str, n: int) -> str:
        return f"subtractMilliseconds({timestamp}, {_milliseconds(n)})"

    def add_days(self, timestamp: str, n: int) -> str:
        return f"({timestamp} + INTERVAL {_days(n)} DAY)"

    def row_checksum(self, exprs: Sequence[str]) -> str:
        return f"toString(sum(toUInt128(cityHash64({', '.join(exprs)}))))"

    def contains(self, text: str, literal: str) -> str:
        return f"position({text}, {literal}) > 0"

    def starts_with(self, text: str, literal: str) -> str:
        return f"startsWith({text}, {literal})"

    def ends_with(self, text: str, literal: str) -> str:
        return f"endsWith({text}, {literal})"


class Snowflake(SqlDialect):
    name = "snowflake"
    supports_group_by_all = True

    def contains(self, text: str, literal: str) -> str:
        return f"CONTAINS({text}, {literal})"

    def starts_with(self, text: str, literal: str) -> str:
        return f"STARTSWITH({text}, {literal})"

    def ends_with(self, text: str, literal: str) -> str:
        return f"ENDSWITH({text}, {literal})"


class BigQuery(SqlDialect):
    name = "bigquery"
    quote_char = "`"
    supports_group_by_all = True
    string_type = "STRING"
    float_type = "FLOAT64"
    backslash_escapes = True

    def exact_percentile(self, expr: str, q: float) -> str:
        raise UnsupportedInDialect(
            "BigQuery has no exact percentile aggregate (only the analytic PERCENTILE_CONT)."
        )

    def days_between(self, start: str, end: str) -> str:
        return f"DATE_DIFF(CAST({end} AS DATE), CAST({start} AS DATE), DAY)"

    def seconds_between(self, start: str, end: str) -> str:
        return f"TIMESTAMP_DIFF({end}, {start}, SECOND)"

    def minus_milliseconds(self, timestamp: str, n: int) -> str:
        return f"TIMESTAMP_SUB({timestamp}, INTERVAL {_milliseconds(n)} MILLISECOND)"

    def add_days(self, timestamp: str, n: int) -> str:
        return f"TIMESTAMP_ADD({timestamp}, INTERVAL {_days(n)} DAY)"

    def row_checksum(self, exprs: Sequence[str]) -> str:
        fields = ", ".join(f"{e} AS c{n}" for n, e in enumerate(exprs))
        return f"SUM(CAST(FARM_FINGERPRINT(TO_JSON_STRING(STRUCT({fields}))) AS BIGNUMERIC))"

    def contains(self, text: str, literal: str) -> str:
        return f"STRPOS({text}, {literal}) > 0"

    def starts_with(self, text: str, literal: str) -> str:
        return f"STARTS_WITH({text}, {literal})"

    def ends_with(self, text: str, literal: str) -> str:
        return f"ENDS_WITH({text}, {literal})"


class Databricks(SqlDialect):
    name = "databricks"
    quote_char = "`"
    supports_group_by_all = True
    string_type = "STRING"
    float_type = "DOUBLE"
    backslash_escapes = True

    def exact_percentile(self, expr: str, q: float) -> str:
        return f"percentile({expr}, {_fraction(q)})"

    def days_between(self, start: str, end: str) -> str:
        return f"datediff(CAST({end} AS DATE), CAST({start} AS DATE))"

    def seconds_between(self, start: str, end: str) -> str:
        return f"(unix_timestamp({end}) - unix_timestamp({start}))"

    def minus_milliseconds(self, timestamp: str, n: int) -> str:
        return f"({timestamp} - INTERVAL {_milliseconds(n)} MILLISECONDS)"

    def add_days(self, timestamp: str, n: int) -> str:
        return f"({timestamp} + INTERVAL {_days(n)} DAYS)"

    def row_checksum(self, exprs: Sequence[str]) -> str:
        return f"SUM(CAST(xxhash64({', '.join(exprs)}) AS DECIMAL(38, 0)))"

    def contains(self, text: str, literal: str) -> str:
        return f"instr({text}, {literal}) > 0"

    def starts_with(self, text: str, literal: str) -> str:
        return f"startswith({text}, {literal})"

    def ends_with(self, text: str, literal: str) -> str:
        return f"endswith({text}, {literal})"


class Trino(SqlDialect):
    name = "trino"
    float_type = "DOUBLE"

    def replace_table_as(self, qualified: str, select_sql: str) -> list[str]:
        return [self.drop_table(qualified), f"CREATE TABLE {qualified} AS {select_sql}"]

    def exact_percentile(self, expr: str, q: float) -> str:
        raise UnsupportedInDialect("Trino has no exact percentile (approx_percentile only).")

    def days_between(self, start: str, end: str) -> str:
        return f"date_diff('day', CAST({start} AS DATE), CAST({end} AS DATE))"

    def seconds_between(self, start: str, end: str) -> str:
        return f"date_diff('second', {start}, {end})"

    def minus_milliseconds(self, timestamp: str, n: int) -> str:
        return f"date_add('millisecond', {-_milliseconds(n)}, {timestamp})"

    def add_days(self, timestamp: str, n: int) -> str:
        return f"({timestamp} + INTERVAL '{_days(n)}' DAY)"

    def row_checksum(self, exprs: Sequence[str]) -> str:
        row = f"json_format(CAST(ROW({', '.join(exprs)}) AS JSON))"
        return f"SUM(CAST(from_big_endian_64(xxhash64(to_utf8({row}))) AS DECIMAL(38, 0)))"

    def contains(self, text: str, literal: str) -> str:
        return f"strpos({text}, {literal}) > 0"

    def starts_with(self, text: str, literal: str) -> str:
        return f"starts_with({text}, {literal})"

    def ends_with(self, text: str, literal: str) -> str:
        return f"substr({text}, -length({literal})) = {literal}"


DIALECTS: Final[dict[str, SqlDialect]] = {
    d.name: d
    for d in (
        DuckDB(),
        PostgreSQL(),
        Redshift(),
        ClickHouse(),
        Snowflake(),
        BigQuery(),
        Databricks(),
        Trino(),
    )
}
