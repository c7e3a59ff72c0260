"""PATCH /wh_connections: a connection tested in the real warehouse, merged field by field,
its credentials encrypted and never shown; hostile bodies refused with nothing changed."""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from sqlalchemy import select

from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.warehouse.adapters import ChdbWarehouse
from lockgate.domains.warehouse.service import open_warehouse, scrub
from lockgate.errors import NotFound
from lockgate.kit.db import Database
from lockgate.kit.secretbox import KEY_FILE, SecretBox, load_key
from lockgate.kit.settings import Settings
from lockgate.storage.models import WarehouseConnection
from tests.contract.client import ContractClient
from tests.users.support import acting_as
from tests.warehouse.conftest import CHDB_DIR, drop_pg_schema, pg_schemas, scratch_name

URL = "/console/v1/wh_connections"
OK = {"message": "Connection updated successfully"}
PASSWORD = "pg-Secret-7f3a9c"


@pytest.fixture()
def pg_schema() -> Iterator[str]:
    name = scratch_name()
    yield name
    drop_pg_schema(name)


def postgresql(schema: str, **fields: Any) -> dict[str, Any]:
    body = {
        "host": "127.0.0.1",
        "port": 5432,
        "database": "postgres",
        "username": "postgres",
        "password": PASSWORD,
        "stagingSchema": schema,
    }
    return {"postgresql": {**body, **fields}}


def project_id(db: Database) -> str:
    row = stored(db)
    assert row is not None
    return row.project_id


def stored(db: Database) -> WarehouseConnection | None:
    with db.transaction() as session:
        row = session.scalars(select(WarehouseConnection)).first()
        if row is not None:
            session.expunge(row)
        return row


def is_native(console: ContractClient) -> bool:
    response = console.get("/console/v1/company")
    assert response.status_code == 200
    value = response.json()["data"]["isWarehouseNative"]
    assert isinstance(value, bool)
    return value


def box(settings: Settings) -> SecretBox:
    return SecretBox(load_key("", settings.data_dir))


def test_patch__duckdb_file__200_staging_schema_made_and_project_warehouse_native(
    console: ContractClient, settings: Settings, db: Database
) -> None:
    assert is_native(console) is False
    schema = scratch_name()

    response = console.patch(URL, json={"duckdb": {"path": "team.duckdb", "stagingSchema": schema}})

    assert response.status_code == 200 and response.json() == OK
    assert is_native(console) is True
    path = settings.resolved_warehouse_files_dir / "team.duckdb"
    with duckdb.connect(str(path), read_only=True) as conn:
        names = {
            r[0]
            for r in conn.execute("SELECT schema_name FROM information_schema.schemata").fetchall()
        }
    assert schema in names
    row = stored(db)
    assert row is not None and row.kind == "duckdb"
    assert row.settings == {"path": "team.duckdb", "stagingSchema": schema}


def test_patch__postgresql__credentials_encrypted_at_rest_and_never_shown(
    console: ContractClient,
    settings: Settings,
    db: Database,
    pg_schema: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    response = console.patch(URL, json=postgresql(pg_schema))

    assert response.status_code == 200 and response.json() == OK
    assert pg_schema in pg_schemas(pg_schema)
    row = stored(db)
    assert row is not None and row.kind == "postgresql"
    assert "password" not in row.settings and PASSWORD not in row.secrets
    assert box(settings).open(row.secrets) == {"password": PASSWORD}
    audit = console.get("/console/v1/audit_logs").text
    assert "warehouse_connection" in audit and PASSWORD not in audit
    assert PASSWORD not in caplog.text
    key_file = settings.data_dir / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_patch__partial_update__merges_into_stored_connection(
    console: ContractClient, settings: Settings, db: Database, pg_schema: str
) -> None:
    assert console.patch(URL, json=postgresql(pg_schema)).status_code == 200
    moved = pg_schema + "_b"
    try:
        response = console.patch(URL, json={"postgresql": {"stagingSchema": moved}})

        assert response.status_code == 200, response.text
        row = stored(db)
        assert row is not None
        assert row.settings["stagingSchema"] == moved and row.settings["host"] == "127.0.0.1"
        assert box(settings).open(row.secrets) == {"password": PASSWORD}
        assert moved in pg_schemas(moved)
    finally:
        drop_pg_schema(moved)


def test_patch__clickhouse_through_chdb__200(
    console: ContractClient, db: Database, chdb_path: Path
) -> None:
    schema = scratch_name()
    body = {"clickhouse": {"path": CHDB_DIR, "stagingDatabase": schema}}

    response = console.patch(URL, json=body)

    assert response.status_code == 200, response.text
    row = stored(db)
    assert row is not None and row.kind == "clickhouse"


def test_patch__clickhouse_other_data_directory__400_one_per_process(
    console: ContractClient, db: Database, chdb_path: Path
) -> None:
    ChdbWarehouse(chdb_path, staging_schema="default").connect()  # this process's chDB
    body = {"clickhouse": {"path": "elsewhere", "stagingDatabase": scratch_name()}}

    response = console.patch(URL, json=body)

    assert response.status_code == 400
    assert "chDB runs one data directory per process" in response.json()["message"]
    assert stored(db) is None


def test_patch__warehouse_unreachable__400_says_why_and_nothing_stored(
    console: ContractClient, db: Database, pg_schema: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    response = console.patch(URL, json=postgresql(pg_schema, port=1))

    assert response.status_code == 400
    message = response.json()["message"]
    assert message.startswith(
        "Invalid request. The postgresql warehouse connection failed: could not connect: "
    )
    assert "127.0.0.1" in message and PASSWORD not in message
    assert PASSWORD not in caplog.text
    assert stored(db) is None and is_native(console) is False


def test_patch__failed_update__keeps_the_working_connection(
    console: ContractClient, db: Database, pg_schema: str
) -> None:
    assert console.patch(URL, json=postgresql(pg_schema)).status_code == 200
    before = stored(db)

    response = console.patch(URL, json={"postgresql": {"port": 1}})

    assert response.status_code == 400
    after = stored(db)
    assert before is not None and after is not None
    assert (after.settings, after.secrets) == (before.settings, before.secrets)


def test_patch__snowflake_from_the_spec__400_names_the_missing_extra(
    console: ContractClient, db: Database
) -> None:
    body = {
        "snowflake": {
            "accountName": "acme-xy12345",
            "serviceUserName": "STATSIG",
            "serviceUserPassword": PASSWORD,
            "stagingDatabaseName": "STATSIG_STAGING",
            "stagingSchemaName": "STATSIG_TABLES",
            "computeWarehouse": "STATSIG",
        }
    }

    response = console.patch(URL, json=body)

    assert response.status_code == 400
    message = response.json()["message"]
    assert "pip install 'lockgate[snowflake]'" in message and PASSWORD not in message
    assert stored(db) is None


HOSTILE: list[tuple[Any, str]] = [
    ({}, "Name exactly one warehouse"),
    (
        {"duckdb": {"path": "a.duckdb", "stagingSchema": "s"}, "clickhouse": {"path": "c"}},
        "this request names 2",
    ),
    ({"oracle": {"host": "db"}}, "oracle: is not a known warehouse type"),
    ({"athena": {"region": "eu-west-1"}}, "athena: is not supported yet"),
    ({"duckdb": {"stagingSchema": "s"}}, "duckdb.path: is required"),
    ({"duckdb": {"path": "../../etc/passwd", "stagingSchema": "s"}}, "duckdb.path: must name"),
    ({"duckdb": {"path": "/etc/passwd", "stagingSchema": "s"}}, "duckdb.path: must name"),
    ({"duckdb": {"path": "a.duckdb", "stagingSchema": "s; DROP"}}, "duckdb.stagingSchema"),
    ({"duckdb": {"path": "a.duckdb", "stagingSchema": "s", "url": "x"}}, "duckdb.url"),
    (postgresql("s", host="db.example.com/x?sslmode=disable"), "postgresql.host: must be a host"),
    (postgresql("s", host="user:pw@db.example.com"), "postgresql.host: must be a host"),
    (postgresql("s", port=70000), "postgresql.port"),
    (postgresql("s", port="5432; x"), "postgresql.port"),
    (postgresql("s", password="x" * 20_001), "postgresql.password"),
    ({"duckdb": "team.duckdb"}, "duckdb"),
    ([{"duckdb": {}}], "Invalid request"),
]


@pytest.mark.parametrize(("body", "expected"), HOSTILE)
def test_patch__hostile_body__400_precise_and_nothing_changed(
    console: ContractClient, db: Database, body: Any, expected: str
) -> None:
    response = console.patch(URL, json=body)

    assert response.status_code == 400, response.text
    assert expected in response.json()["message"]
    assert stored(db) is None and is_native(console) is False


def test_patch__body_over_the_limit__413_and_nothing_changed(
    console: ContractClient, db: Database, settings: Settings
) -> None:
    padding = "x" * (settings.console_max_body_bytes + 1)

    response = console.patch(
        URL,
        content=b'{"duckdb": {"path": "' + padding.encode() + b'"}}',
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 413
    assert stored(db) is None


def test_patch__no_key__401_and_nothing_changed(anonymous: ContractClient, db: Database) -> None:
    response = anonymous.patch(URL, json={"duckdb": {"path": "a.duckdb", "stagingSchema": "s"}})

    assert response.status_code == 401
    assert stored(db) is None


def test_patch__member_without_whn_connection__403_and_nothing_changed(
    app: FastAPI, db: Database, project: Bootstrap
) -> None:
    with acting_as(app, db, project, "member@example.com", "Member") as member:
        response = member.patch(URL, json={"duckdb": {"path": "a.duckdb", "stagingSchema": "s"}})

    assert response.status_code == 403
    assert "Missing permission: whn_connection" in response.json()["message"]
    assert stored(db) is None


def test_patch__credentials_sealed_under_another_key__settings_kept_credentials_resent(
    console: ContractClient, settings: Settings, db: Database, pg_schema: str
) -> None:
    assert console.patch(URL, json=postgresql(pg_schema)).status_code == 200
    with db.transaction() as session:
        row = session.scalars(select(WarehouseConnection)).one()
        row.secrets = SecretBox(Fernet.generate_key()).seal({"password": "lost"})

    response = console.patch(URL, json={"postgresql": {"password": "resent-password"}})

    assert response.status_code == 200, response.text
    after = stored(db)
    assert after is not None and after.settings["stagingSchema"] == pg_schema
    assert box(settings).open(after.secrets) == {"password": "resent-password"}


def test_open_warehouse__stored_postgresql__credentials_round_trip_and_query_runs(
    console: ContractClient, settings: Settings, db: Database, pg_schema: str
) -> None:
    assert console.patch(URL, json=postgresql(pg_schema)).status_code == 200

    with db.transaction() as session:
        adapter = open_warehouse(
            session, project_id(db), box(settings), settings.resolved_warehouse_files_dir
        )
    with adapter:
        adapter.replace_table_as("t", "SELECT 41 + 1 AS answer")
        assert adapter.fetch(f"SELECT answer FROM {adapter.staging('t')}").rows == [(42,)]
    assert adapter.staging_schema == pg_schema


def test_open_warehouse__no_connection__404(db: Database, settings: Settings) -> None:
    with db.transaction() as session, pytest.raises(NotFound):
        open_warehouse(session, "nope", box(settings), settings.resolved_warehouse_files_dir)


@pytest.mark.database_free
def test_settings__warehouse_key__malformed_refused_and_never_shown() -> None:
    key = Fernet.generate_key().decode()
    assert key not in Settings(warehouse_secret_key=key).summary()
    with pytest.raises(ValueError, match="must be a Fernet key") as raised:
        Settings(warehouse_secret_key="hunter2-not-a-key")
    assert "hunter2" not in str(raised.value)


@pytest.mark.database_free
def test_scrub__replaces_every_credential_longest_first() -> None:
    assert scrub("user abc failed with abcdef and abc", ["abc", "abcdef", None]) == (
        "user *** failed with *** and ***"
    )


@pytest.mark.database_free
def test_load_key__configured_key_used_and_malformed_key_refused(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    assert load_key(key.decode(), tmp_path) == key
    assert not (tmp_path / KEY_FILE).exists()
    with pytest.raises(ValueError):
        load_key("not-a-key", tmp_path)


@pytest.mark.database_free
def test_secret_box__other_key__precise_error(tmp_path: Path) -> None:
    token = SecretBox(Fernet.generate_key()).seal({"password": PASSWORD})

    with pytest.raises(Exception, match="cannot be decrypted with the configured key"):
        SecretBox(Fernet.generate_key()).open(token)
