"""One interface over every warehouse: connect, run, fetch, cancel, replace a staging table
with the rows of a query, delete rows (docs/warehouse.md §Adapters).

``SqlAlchemyWarehouse`` reaches any warehouse with a SQLAlchemy dialect (DuckDB files and
PostgreSQL run here; Snowflake, BigQuery, Databricks, Redshift and Trino need their optional
dialect packages). ClickHouse runs embedded through chDB, which has no SQLAlchemy dialect: the
``ChdbWarehouse`` adapter drives chDB's own session. SQL is text built with the warehouse's
``SqlDialect`` hooks; statements run without bind-parameter parsing, so user SQL is sent as
written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import orjson
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from lockgate.domains.warehouse.dialects import DIALECTS, SqlDialect, check_identifier

PROBE_TABLE: Final = "lockgate_connection_probe"
DEFAULT_MAX_ROWS: Final = 100_000
# Statements go to the driver's cursor without a parameter collection, so a driver that reads
# placeholders (psycopg's ``%s``) leaves a ``%`` in a value or in the team's SQL alone.
AS_WRITTEN: Final = {"no_parameters": True}


class WarehouseError(Exception):
    """A warehouse refused or failed a statement; the message is the warehouse's own, first
    line only."""


class QueryCancelled(WarehouseError):
    """The running statement was cancelled through ``cancel()``."""


@dataclass(frozen=True)
class Rows:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class Warehouse(ABC):
    """One connection to one warehouse, with its staging schema. Use as a context manager;
    ``cancel`` may be called from another thread while ``run`` or ``fetch`` waits."""

    supports_cancel: bool = False

    def __init__(self, dialect: SqlDialect, staging_schema: str) -> None:
        self.dialect = dialect
        self.staging_schema = check_identifier(staging_schema)

    @abstractmethod
    def connect(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def _execute(self, statements: list[str]) -> None:
        """Run the statements in order, in one transaction where the warehouse has them."""

    @abstractmethod
    def fetch(self, sql: str, *, max_rows: int = DEFAULT_MAX_ROWS) -> Rows:
        """The rows of one query; more than ``max_rows`` rows is an error, not a truncation."""

    def cancel(self) -> bool:
        """Cancel the statement running now; False where the warehouse cannot."""
        return False

    def run(self, sql: str) -> None:
        self._execute([sql])

    def staging(self, table: str) -> str:
        return self.dialect.qualified(self.staging_schema, table)

    def ensure_staging(self) -> None:
        self.run(self.dialect.create_schema(self.staging_schema))

    def replace_table_as(self, table: str, select_sql: str) -> None:
        """Make the staging table ``table`` hold exactly the rows of ``select_sql``."""
        self._execute(self.dialect.replace_table_as(self.staging(table), select_sql))

    def delete_where(self, table: str, condition_sql: str) -> None:
        self.run(self.dialect.delete_where(self.staging(table), condition_sql))

    def drop_table(self, table: str) -> None:
        self.run(self.dialect.drop_table(self.staging(table)))

    def check(self) -> None:
        """Prove the connection can do what the pipeline needs: connect, ``SELECT 1``, create
        the staging schema, and create, fill, delete from and drop a table in it. Raises
        ``WarehouseError`` naming the step that failed."""
        steps: list[tuple[str, Callable[[], object]]] = [
            ("could not connect", self.connect),
            ("SELECT 1 failed", lambda: self._select_one()),
            (f"could not create the staging schema {self.staging_schema}", self.ensure_staging),
            (
                f"could not write to the staging schema {self.staging_schema}",
                lambda: self._probe(),
            ),
        ]
        for what, step in steps:
            try:
                step()
            except WarehouseError as exc:
                raise WarehouseError(f"{what}: {exc}") from None

    def _select_one(self) -> None:
        got = self.fetch("SELECT 1 AS one", max_rows=1).rows
        if [tuple(int(v) for v in row) for row in got] != [(1,)]:
            raise WarehouseError(f"expected one row holding 1, got {got!r}")

    def _probe(self) -> None:
        self.replace_table_as(PROBE_TABLE, "SELECT 1 AS ok")
        self.delete_where(PROBE_TABLE, "ok = 1")
        self.drop_table(PROBE_TABLE)

    def __enter__(self) -> Warehouse:
        self.connect()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def _interrupt_duckdb(dbapi_connection: Any) -> None:
    dbapi_connection.interrupt()


def _cancel_psycopg(dbapi_connection: Any) -> None:
    dbapi_connection.cancel_safe()


# How each dialect with a driver here cancels the statement running on a connection.
_CANCELLERS: Final[dict[str, Callable[[Any], None]]] = {
    "duckdb": _interrupt_duckdb,
    "postgresql": _cancel_psycopg,
}
# Driver exceptions that mean "cancelled", by class name (the drivers are optional imports).
_CANCELLED: Final = frozenset({"InterruptException", "QueryCanceled"})


class SqlAlchemyWarehouse(Warehouse):
    """A warehouse reached through a SQLAlchemy engine, one connection per adapter."""

    def __init__(
        self,
        url: URL | str,
        dialect: SqlDialect,
        staging_schema: str,
        *,
        engine_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(dialect, staging_schema)
        self.supports_cancel = dialect.name in _CANCELLERS
        self._url = url
        self._engine_options = engine_options or {}
        self._engine: Engine | None = None
        self._conn: Connection | None = None
        self._dbapi: Any = None

    def connect(self) -> None:
        if self._conn is not None:
            return
        try:
            self._engine = create_engine(self._url, poolclass=NullPool, **self._engine_options)
            self._conn = self._engine.connect()
            self._dbapi = self._conn.connection.dbapi_connection
        except NoSuchModuleError:
            raise WarehouseError(
                f"the {self.dialect.name} SQLAlchemy dialect is not installed "
                f"(pip install 'lockgate[{self.dialect.name}]')"
            ) from None
        except (SQLAlchemyError, OSError, ValueError) as exc:
            self.close()
            raise WarehouseError(first_line(getattr(exc, "orig", None) or exc)) from None

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(SQLAlchemyError):  # a connection the server dropped
                self._conn.close()
        if self._engine is not None:
            self._engine.dispose()
        self._conn = self._engine = self._dbapi = None

    def _connection(self) -> Connection:
        if self._conn is None:
            self.connect()
        assert self._conn is not None
        return self._conn

    def _execute(self, statements: list[str]) -> None:
        conn = self._connection()
        try:
            for statement in statements:
                conn.exec_driver_sql(statement, execution_options=AS_WRITTEN)
            conn.commit()
        except DBAPIError as exc:
            self._fail(conn, exc)

    def fetch(self, sql: str, *, max_rows: int = DEFAULT_MAX_ROWS) -> Rows:
        conn = self._connection()
        try:
            result = conn.exec_driver_sql(sql, execution_options=AS_WRITTEN)
            columns = tuple(result.keys())
            rows = [tuple(row) for row in result.fetchmany(max_rows + 1)]
            result.close()
            conn.commit()
        except DBAPIError as exc:
            self._fail(conn, exc)
        if len(rows) > max_rows:
            raise WarehouseError(f"the query returned more than {max_rows} rows")
        return Rows(columns, rows)

    def _fail(self, conn: Connection, exc: DBAPIError) -> Any:
        with contextlib.suppress(SQLAlchemyError):  # gone: the next call reconnects
            conn.rollback()
        orig = exc.orig if exc.orig is not None else exc
        if type(orig).__name__ in _CANCELLED:
            raise QueryCancelled("the query was cancelled") from None
        raise WarehouseError(first_line(orig)) from None

    def cancel(self) -> bool:
        canceller = _CANCELLERS.get(self.dialect.name)
        dbapi = self._dbapi
        if canceller is None or dbapi is None:
            return False
        canceller(dbapi)
        return True


class _ChdbServer:
    """chDB embeds one ClickHouse server per process, on one data directory."""

    lock = threading.Lock()
    path: Path | None = None
    session: Any = None

    @classmethod
    def open(cls, path: Path) -> Any:
        with cls.lock:
            if cls.session is None:
                try:
                    # Imported on first use: chDB is an optional extra and slow to import.
                    import chdb.session
                except ImportError:
                    raise WarehouseError(
                        "chDB is not installed (pip install 'lockgate[warehouse]')"
                    ) from None
                path.mkdir(parents=True, exist_ok=True)
                cls.session = chdb.session.Session(str(path))
                cls.path = path
            elif cls.path != path:
                raise WarehouseError(
                    f"chDB runs one data directory per process: {cls.path} is open, "
                    f"so {path} cannot be"
                )
            return cls.session


_CH_DATES: Final[dict[str, Callable[[str], Any]]] = {
    "Date": dt.date.fromisoformat,
    "Date32": dt.date.fromisoformat,
    "DateTime": dt.datetime.fromisoformat,
    "DateTime64": dt.datetime.fromisoformat,
}


def _ch_converter(type_name: str) -> Callable[[Any], Any] | None:
    inner = type_name.removeprefix("Nullable(").removesuffix(")")
    return _CH_DATES.get(inner.split("(", 1)[0])


def _drain(session: Any) -> None:
    """Discard what a failed statement left in chDB's session.

    A statement that fails while it runs (not while it is parsed) leaves the output it had
    written, the start of a JSON document say, in the session, and chDB puts it in front of
    the next statement's result: the next fetch, whichever project's it is, would read a broken
    document. A throwaway statement takes it."""
    with contextlib.suppress(Exception):
        session.query("SELECT 1", "CSV")


class ChdbWarehouse(Warehouse):
    """ClickHouse embedded in this process through chDB (no SQLAlchemy dialect exists for it):
    statements go to chDB's session; cancelling is not supported."""

    def __init__(self, path: Path, dialect: SqlDialect | None = None, *, staging_schema: str):
        super().__init__(dialect or DIALECTS["clickhouse"], staging_schema)
        self._path = path
        self._session: Any = None

    def connect(self) -> None:
        if self._session is None:
            try:
                self._session = _ChdbServer.open(self._path)
            except (RuntimeError, OSError) as exc:
                raise WarehouseError(first_line(exc)) from None

    def close(self) -> None:
        self._session = None  # the embedded server lives as long as the process

    def _query(self, sql: str, output: str) -> Any:
        if self._session is None:
            self.connect()
        assert self._session is not None
        with _ChdbServer.lock:
            try:
                return self._session.query(sql, output)
            except Exception as exc:  # chDB raises RuntimeError and its own ChdbError
                _drain(self._session)
                raise WarehouseError(first_line(exc)) from None

    def _execute(self, statements: list[str]) -> None:
        for statement in statements:
            self._query(statement, "CSV")

    def fetch(self, sql: str, *, max_rows: int = DEFAULT_MAX_ROWS) -> Rows:
        result = self._query(
            f"SELECT * FROM ({sql}) LIMIT {max_rows + 1} "
            "SETTINGS output_format_json_quote_64bit_integers = 0",
            "JSONCompact",
        )
        body = orjson.loads(result.bytes())
        meta = body["meta"]
        data = body["data"]
        if len(data) > max_rows:
            raise WarehouseError(f"the query returned more than {max_rows} rows")
        converters = [_ch_converter(column["type"]) for column in meta]
        rows = [
            tuple(
                value if convert is None or value is None else convert(value)
                for value, convert in zip(row, converters, strict=True)
            )
            for row in data
        ]
        return Rows(tuple(column["name"] for column in meta), rows)
