"""Fixtures: a real database (SQLite or PostgreSQL, chosen by LOCKGATE_TEST_DB), the app,
a bootstrapped project with its keys, and contract-checking clients."""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import Pool

from lockgate.app import create_app
from lockgate.domains.projects.service import Bootstrap, bootstrap
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.passwords import use_memory_cost
from lockgate.kit.settings import Settings
from lockgate.storage.migrations import upgrade
from lockgate.storage.models import Base
from tests.contract.client import ContractClient
from tests.contract.every_operation import missing_operations, write_validated
from tests.contract.validator import COVERAGE, checks_every_operation
from tests.module_claims import claimed, claimer, module_groups, run_claimed

TEST_DB = os.environ.get("LOCKGATE_TEST_DB", "sqlite")
PG_SERVER_URL = os.environ.get(
    "LOCKGATE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


# Web console password hashes take 1 MiB in the tests instead of the default 64 MiB: about a
# millisecond each instead of a fifth of a second (most of a second on a loaded machine), paid by
# every test that adds or signs in a member. The variable reaches every Settings a test makes and
# every server or CLI process it starts; tests/users/test_access.py checks the default cost.
TEST_PASSWORD_HASH_MEMORY_KIB = 1024


def pytest_configure(config: pytest.Config) -> None:
    os.environ["LOCKGATE_PASSWORD_HASH_MEMORY_KIB"] = str(TEST_PASSWORD_HASH_MEMORY_KIB)
    use_memory_cost(TEST_PASSWORD_HASH_MEMORY_KIB)
    event.listen(Pool, "checkout", _refuse_in_database_free_test)


# A ``database_free`` module runs alike on either database, so the PostgreSQL suite deselects
# it (Makefile) and only the SQLite suite runs it. Such a test may not ask for a fixture that
# reaches the suite's database, and any connection its thread takes from a SQLAlchemy pool
# while it runs fails it.
DATABASE_FIXTURES = frozenset(
    {"database_url", "empty_database_url", "base_settings", "database", "db", "settings", "app"}
)
_database_free_threads: set[int] = set()


def _refuse_in_database_free_test(*_args: object) -> None:
    if threading.get_ident() in _database_free_threads:
        raise AssertionError("a database_free test connected to a database")


@contextmanager
def _no_connection_in(item: pytest.Item) -> Iterator[None]:
    """While a ``database_free`` test's setup or body runs, its thread may take no connection."""
    if item.get_closest_marker("database_free") is None:
        yield
        return
    _database_free_threads.add(threading.get_ident())
    try:
        yield
    finally:
        _database_free_threads.discard(threading.get_ident())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    if item.get_closest_marker("database_free") is not None:
        asked = sorted(DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ())))
        if asked:
            pytest.fail(f"a database_free test asks for the database's fixtures: {asked}")
    with _no_connection_in(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with _no_connection_in(item):
        return (yield)


def pytest_report_header() -> str:
    return f"lockgate test database: {TEST_DB}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests about one database's own behaviour run in that database's suite only: the other
    suite deselects them, so no run reports a skip (`make test` runs both suites)."""
    other = "postgresql_only" if TEST_DB == "sqlite" else "sqlite_only"
    deselected = [item for item in items if item.get_closest_marker(other) is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.get_closest_marker(other) is None]


@contextmanager
def new_database_url(
    directory: Path, kind: str = TEST_DB, *, fast_commits: bool = True
) -> Iterator[str]:
    """The URL of a new, empty database of the suite's kind (or ``kind``, for a test that needs
    one), dropped afterwards (SQLite: a file in ``directory``; PostgreSQL: a database of its own
    on the server, committing without waiting for the disk unless ``fast_commits`` is false)."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'lockgate.db'}"
        return
    if kind != "postgresql":
        raise pytest.UsageError(f"LOCKGATE_TEST_DB must be sqlite or postgresql, not {kind}")
    with _postgresql_database("", fast_commits=fast_commits) as url:
        yield url


@contextmanager
def _postgresql_database(template: str, *, fast_commits: bool = True) -> Iterator[str]:
    """A new database on the test server (a copy of ``template`` if one is named), dropped
    afterwards."""
    name = f"lockgate_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        copied = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{copied}'))
        if fast_commits:
            # Every connection to it, the servers' too, commits without waiting for the WAL to
            # reach the disk: a commit is still atomic and seen by the next reader at once, and
            # no test crashes the PostgreSQL server, the one failure this setting could show.
            # (ALTER DATABASE settings are not copied from a template.)
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    try:
        yield PG_SERVER_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def copied_database_url(template_url: str, directory: Path) -> Iterator[str]:
    """The URL of a new database holding what the database at ``template_url`` holds (nobody
    may be connected to it), dropped afterwards: SQLite's backup into ``directory``'s
    ``lockgate.db``, or on PostgreSQL ``CREATE DATABASE ... TEMPLATE``, which copies files
    instead of running migrations again."""
    if template_url.startswith("sqlite:///"):
        target = directory / "lockgate.db"
        source = sqlite3.connect(template_url.removeprefix("sqlite:///"))
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)  # consistent, its WAL included
        finally:
            copy.close()
            source.close()
        yield f"sqlite:///{target}"
        return
    with _postgresql_database(template_url.rsplit("/", 1)[1]) as url:
        yield url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with new_database_url(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture()
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A database of its own, without tables: for migrations and for several processes."""
    with new_database_url(tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def base_settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=Path(tmp_path_factory.mktemp("data")),
        run_migrations_on_start=False,
        rate_limit_per_10s=0,
        rate_limit_per_15min=0,
    )


@pytest.fixture(scope="session")
def database(base_settings: Settings) -> Iterator[Database]:
    db = Database(base_settings)
    upgrade(db.engine)
    yield db
    db.dispose()


# Every table, children before parents. On PostgreSQL the deletes travel as one batch of
# statements: one round trip instead of one per table, which each test's wipe paid about fifty
# times (a few milliseconds on a quiet machine, tens of them on a loaded one). SQLite's driver
# runs one statement per call, and its calls cost no round trip.
_WIPE_ORDER = tuple(reversed(Base.metadata.sorted_tables))
_WIPE_BATCH = "; ".join(f'DELETE FROM "{table.name}"' for table in _WIPE_ORDER)


def _wipe(db: Database) -> None:
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(_WIPE_BATCH)
            return
        for table in _WIPE_ORDER:
            conn.execute(table.delete())


@pytest.fixture()
def db(database: Database) -> Iterator[Database]:
    """The session database, emptied after each test."""
    yield database
    _wipe(database)


@pytest.fixture()
def clock() -> ManualClock:
    return ManualClock(start_ms=1_780_000_000_000)


@pytest.fixture()
def settings(base_settings: Settings) -> Settings:
    return base_settings


@pytest.fixture()
def app(settings: Settings, db: Database, clock: ManualClock) -> FastAPI:
    return create_app(settings, clock=clock, database=db)


@pytest.fixture()
def project(db: Database, clock: ManualClock) -> Bootstrap:
    with db.transaction() as session:
        created = bootstrap(session, clock.now_ms())
    assert created is not None
    return created


@pytest.fixture()
def console(app: FastAPI, project: Bootstrap) -> Iterator[ContractClient]:
    with ContractClient(app, project.console_key) as client:
        yield client


@pytest.fixture()
def anonymous(app: FastAPI) -> Iterator[ContractClient]:
    with ContractClient(app) as client:
        yield client


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--validated-operations",
        metavar="FILE",
        help="write the Console operations this run validated to FILE instead of checking them "
        "(`make test` checks the union of its SQLite parts' files)",
    )
    parser.addoption(
        "--claim-modules",
        metavar="DIR",
        help="run only the test modules this process claims in DIR before any other process "
        "given the same DIR (tests/module_claims.py)",
    )
    parser.addoption(
        "--claim-from-end",
        action="store_true",
        help="with --claim-modules, walk the modules from the last one",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """With --claim-modules, the suite's modules are shared out with other processes."""
    option = session.config.option
    if option.claim_modules is None or option.collectonly or session.testsfailed:
        return None  # pytest's own loop (which also stops on collection errors)
    claim = claimer(Path(option.claim_modules))
    groups = module_groups(session.items)
    ran = run_claimed(session, claimed(groups, claim, from_end=option.claim_from_end))
    session.config.stash[_MODULES_RAN] = (ran, len(groups))
    return True


_MODULES_RAN = pytest.StashKey[tuple[int, int]]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    ran = terminalreporter.config.stash.get(_MODULES_RAN, None)
    if ran is not None:
        where = terminalreporter.config.option.claim_modules
        terminalreporter.write_line(
            f"ran the tests of {ran[0]} of the {ran[1]} modules selected; "
            f"the processes sharing {where} ran the others"
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """On a run of the whole suite (a plain ``pytest``, or ``make test-sqlite``), every
    implemented Console operation must have had a validated 2xx; a part of the suite run with
    ``--validated-operations`` writes what it validated instead."""
    option = session.config.option
    if exitstatus != 0 or option.collectonly:  # --collect-only validates nothing
        return
    if option.validated_operations:
        write_validated(Path(option.validated_operations), COVERAGE.validated)
        return
    if option.claim_modules is not None:  # the other processes ran the rest
        return
    if not checks_every_operation(
        option.markexpr, option.keyword, session.config.args, option.ignore or ()
    ):
        return
    message = missing_operations(COVERAGE.validated)
    if message is not None:
        print(f"\n{message}")
        session.exitstatus = 1


@pytest.fixture()
def none_hash_scope(console: ContractClient, project: Bootstrap) -> None:
    """The project's client key may ask for plain names (``hash: "none"``)."""
    key_id = project.client_key[: len("client-") + 12]
    response = console.patch(f"/console/v1/keys/{key_id}", json={"scopes": ["none_hash_enabled"]})
    assert response.status_code == 200


@pytest.fixture()
def company_id_type(console: ContractClient) -> str:
    """The custom unit id type ``companyID``, defined as a project must before naming it."""
    response = console.post("/console/v1/unit_id_types", json={"name": "companyID"})
    assert response.status_code == 201, response.text
    return "companyID"
