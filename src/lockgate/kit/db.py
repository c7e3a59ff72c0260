"""Engines and sessions for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with one writer: a write transaction starts with ``BEGIN IMMEDIATE`` so
two writers queue on the lock instead of failing halfway through. Commits are synced
(``synchronous=FULL`` unless ``sqlite_synchronous`` says otherwise), so what was acknowledged
survives a power loss; ``backup`` copies a live database.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, RootTransaction, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from lockgate.kit.settings import Settings

_WRITE_OPTION = "lockgate_write"
_SDK_STALE = "lockgate_sdk_stale"
MMAP_BYTES = 2**31
# Page cache of a connection's temporary tables while it computes Pulse (``analysis_cache``).
ANALYSIS_TEMP_CACHE_KIB = 256 * 1024


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")


# orjson: JSON columns are written on every event row, so serialisation speed matters.
_JSON_OPTIONS: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}


def make_engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and ":memory:" not in url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **_JSON_OPTIONS)
        _configure_sqlite(engine, settings)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **_JSON_OPTIONS)


def _configure_sqlite(engine: Engine, settings: Settings) -> None:
    synchronous = settings.sqlite_synchronous.upper()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # First, so that every statement after it waits for a lock instead of failing: turning
        # a new file to WAL needs one while another process may be creating the same file.
        cursor.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # FULL syncs the WAL at every commit: an acknowledged write survives a power loss, not
        # only the end of the process (NORMAL may lose the last commits then).
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        # Reads map the file instead of copying each page through read(): Pulse visits
        # millions of index pages per job. SQLite caps the map at its compile-time maximum.
        cursor.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin(connection: Connection, *, write: bool) -> RootTransaction:
    """Begin a transaction of ``connection``; a write one takes SQLite's write lock at its
    start (waiting up to the busy timeout for it) instead of at its first write."""
    connection.execution_options(**{_WRITE_OPTION: write})
    return connection.begin()


@contextmanager
def analysis_cache(connection: Connection) -> Iterator[None]:
    """On SQLite, a larger page cache for the connection's temporary tables while the block
    runs, then the previous one again (which frees the pages above it).

    Pulse stages every exposed unit in temporary tables (about 100 bytes per unit), and reads
    them several times; with SQLite's default 2 MB the pages go back and forth to the
    temporary file. The cache grows only as the tables do, up to ``ANALYSIS_TEMP_CACHE_KIB``.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    # On the driver's connection: a statement through SQLAlchemy would begin a transaction.
    driver = connection.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    before = int(driver.execute("PRAGMA temp.cache_size").fetchone()[0])
    driver.execute(f"PRAGMA temp.cache_size=-{ANALYSIS_TEMP_CACHE_KIB}")
    try:
        yield
    finally:
        if not connection.invalidated:
            driver.execute(f"PRAGMA temp.cache_size={before}")


@contextmanager
def connection_transaction(connection: Connection, *, write: bool) -> Iterator[Session]:
    """A transaction of ``connection`` (a write one takes SQLite's write lock at its start) and
    a session joined to it: for work spanning several transactions of one connection, whose
    temporary tables live as long as it does. Commits on success, rolls back on any error."""
    with begin(connection, write=write):
        session = Session(bind=connection, expire_on_commit=False)
        try:
            yield session
            session.flush()
        finally:
            session.close()


def mark_sdk_stale(session: Session) -> None:
    """Say that this transaction changes what SDKs receive (a spec revision, a key): once it
    commits, this process's SDK caches look at the database again on their next request."""
    session.info[_SDK_STALE] = True


# ``Session.info`` key: True when an SMTP server is configured (kit/mail.py).
EMAIL_NOTIFICATIONS = "email_notifications"


class Database:
    """Owns the engine and hands out sessions for reading and for writing.

    ``sdk_generation`` counts this process's commits that changed what SDKs receive
    (``mark_sdk_stale``); the SDK caches compare it to serve this process's own changes at
    once, and other processes' changes after their bounded staleness."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.sdk_generation = 0
        # What a service may need to know of the server's configuration, without a face
        # passing it down every call: whether notification emails can be sent.
        info = {EMAIL_NOTIFICATIONS: bool(settings.smtp_host)}
        self._read = sessionmaker(self.engine, expire_on_commit=False, info=info)
        self._write = sessionmaker(
            self.engine.execution_options(**{_WRITE_OPTION: True}),
            expire_on_commit=False,
            info=info,
        )
        for maker in (self._read, self._write):
            event.listen(maker, "after_commit", self._after_commit)
        path = settings.sqlite_path if self.is_sqlite else None
        self._turns = None if path is None else path.with_name(f"{path.name}-writers.lock")

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(_SDK_STALE, False):
            self.sdk_generation += 1

    def session(self, *, write: bool) -> Session:
        return (self._write if write else self._read)()

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        session = self.session(write=write)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def writer_turn(self) -> Iterator[None]:
        """On a SQLite file, wait for this writer's turn among every process's busy writers.

        SQLite's busy timeout makes a writer that finds the write lock taken sleep and try
        again (for 1, 2, 5, ... up to 100 ms), so when two worker processes write all the time,
        each often sleeps through the other's commits. Writers that take turns here instead
        queue on a file lock in the kernel, and the next one starts as soon as the previous
        one has committed. Only a writer that never holds another write transaction may wait
        here (there is no timeout): the event writer's group commits and the background moves
        of landed events."""
        if self._turns is None:
            yield
            return
        # A descriptor of its own per turn: threads of one process exclude each other too.
        descriptor = os.open(self._turns, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # releases the lock

    def backup(self, target: Path) -> None:
        """Copy the SQLite database to ``target`` while other connections and processes go on
        writing. SQLite's online backup copies the one snapshot it reads, every commit before
        it and none after; the copy is a single file (rollback journal, not WAL), written
        beside ``target``, synced, then renamed over it, so ``target`` is never half written.
        """
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        try:
            copy = sqlite3.connect(partial)
            try:
                with self.engine.connect() as connection:
                    source = connection.connection.driver_connection
                    assert isinstance(source, sqlite3.Connection)
                    source.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")
            finally:
                copy.close()
            with partial.open("rb+") as written:
                os.fsync(written.fileno())
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def dispose(self) -> None:
        self.engine.dispose()
