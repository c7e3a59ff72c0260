"""Warehouse-native sources through the Console API: each is validated by running its query in
the real warehouse (DuckDB, PostgreSQL, ClickHouse through chDB) without reading rows; the
columns it names must be among those the query answers; bad definitions are refused with the
field named and nothing stored. Every answer is checked against the official schemas by the
contract client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.models import AuditLog, WarehouseSource
from tests.contract.client import ContractClient
from tests.users.support import acting_as
from tests.warehouse.conftest import connected_warehouse, drop_schema, scratch_name

ASSIGNMENTS = "/console/v1/experiments/assignment_sources"
ASSIGNMENT = "/console/v1/experiments/assignment_source"
PROPERTIES = "/console/v1/experiments/entity_properties"
PROPERTY = "/console/v1/experiments/entity_property"
QUALIFYING = "/console/v1/experiments/qualifying_events"
METRIC_SOURCES = "/console/v1/metrics/metric_source"
ID_MAPPING = [{"statsigUnitID": "userID", "column": "user_id"}]


@pytest.fixture(params=["duckdb", "postgresql", "clickhouse"])
def table(
    request: pytest.FixtureRequest, console: ContractClient, settings: Settings, chdb_path: Path
) -> Iterator[str]:
    """A warehouse connection for the project, and the qualified name of a table in that
    warehouse with exposures-like columns (user_id, ts, experiment, grp, amount_cents)."""
    kind, schema = request.param, scratch_name()
    adapter, connection = connected_warehouse(kind, schema, settings, chdb_path)
    qualified = f"{schema}.assignments"
    engine = " ENGINE = MergeTree ORDER BY user_id" if kind == "clickhouse" else ""
    with adapter:
        adapter.ensure_staging()
        adapter.run(
            f"CREATE TABLE {qualified} (user_id VARCHAR(64), ts TIMESTAMP, experiment VARCHAR(64),"
            f" grp VARCHAR(64), amount_cents INTEGER){engine}"
        )
    response = console.patch("/console/v1/wh_connections", json=connection)
    assert response.status_code == 200, response.text
    try:
        yield qualified
    finally:
        with adapter:
            drop_schema(adapter, kind, schema)


def assignment(table: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": "exposures",
        "sql": f"SELECT * FROM {table} WHERE ts >= {{statsig_start_date}}",
        "timestampColumn": "ts",
        "experimentIDColumn": "experiment",
        "groupIDColumn": "grp",
        "idTypeMapping": ID_MAPPING,
        **fields,
    }


def stored(db: Database, kind: str) -> dict[str, dict[str, Any]]:
    with db.transaction() as session:
        rows = session.scalars(select(WarehouseSource).where(WarehouseSource.kind == kind))
        return {row.name: dict(row.document) for row in rows}


def audit_count(db: Database) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(AuditLog)) or 0)


def test_assignment_source__create_list_replace_patch_delete(
    console: ContractClient, db: Database, table: str
) -> None:
    created = console.post(ASSIGNMENTS, json=assignment(table, tags=["core"]))
    assert created.status_code == 201, created.text
    assert created.json()["message"] == "Assignment Source created successfully"
    data = created.json()["data"]
    assert (data["name"], data["description"], data["tags"]) == ("exposures", "", ["core"])

    listed = console.get(ASSIGNMENTS).json()
    assert [s["name"] for s in listed["data"]] == ["exposures"]
    assert listed["pagination"]["totalItems"] == 1

    new_query = assignment(table, sql=f"SELECT user_id, ts, experiment, grp FROM {table}")
    del new_query["name"]
    replaced = console.post(f"{ASSIGNMENT}/exposures", json=new_query)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["data"]["sql"].startswith("SELECT user_id, ts, experiment, grp")

    patched = console.patch(f"{ASSIGNMENT}/exposures", json={"description": "checkout"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["description"] == "checkout"
    assert stored(db, "assignment")["exposures"]["sql"] == new_query["sql"]

    deleted = console.delete(f"{ASSIGNMENT}/exposures")
    assert deleted.status_code == 200
    assert deleted.json() == {"message": "Assignment source deleted successfully."}
    assert stored(db, "assignment") == {}
    audit = console.get("/console/v1/audit_logs").json()["data"]
    actions = [entry["actionType"] for entry in audit if "assignment_source" in entry["actionType"]]
    expected = ["create", "delete", "update", "update"]
    assert sorted(actions) == [f"assignment_source_{action}" for action in expected]


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"groupIDColumn": "variant"}, "groupIDColumn: column 'variant' is not among"),
        (
            {"idTypeMapping": [{"statsigUnitID": "userID", "column": "uid"}]},
            "idTypeMapping[0].column: column 'uid'",
        ),
        ({"sql": "SELECT * FROM no_such_table_here"}, "sql: the warehouse refused the query"),
        (
            {"idTypeMapping": [{"statsigUnitID": "accountID", "column": "user_id"}]},
            "unknown unit id type 'accountID'",
        ),
        (
            {"idTypeMapping": ID_MAPPING + ID_MAPPING},
            "names a unit id type more than once",
        ),
        ({"name": "a/b"}, "name: must not contain '/'"),
        ({"timestampColumn": ""}, "timestampColumn: is required"),
    ],
)
def test_assignment_source__bad_definition__400_and_nothing_stored(
    console: ContractClient, db: Database, table: str, fields: dict[str, Any], needle: str
) -> None:
    before = audit_count(db)

    response = console.post(ASSIGNMENTS, json=assignment(table, **fields))

    assert response.status_code == 400, response.text
    assert needle in response.json()["message"]
    assert stored(db, "assignment") == {}
    assert audit_count(db) == before


def test_assignment_source__dry_run_and_duplicate_name(
    console: ContractClient, db: Database, table: str
) -> None:
    dry = console.post(ASSIGNMENTS, json=assignment(table, dryRun=True))
    assert dry.status_code == 201 and "dryRun" not in dry.json()["data"]
    assert stored(db, "assignment") == {}
    assert console.post(ASSIGNMENTS, json=assignment(table)).status_code == 201
    again = console.post(ASSIGNMENTS, json=assignment(table, name="EXPOSURES"))
    assert again.status_code == 400
    assert "already exists with name exposures" in again.json()["message"]


def test_patch__query_read_only_and_columns_checked_against_the_validated_query(
    console: ContractClient, db: Database, table: str
) -> None:
    assert console.post(ASSIGNMENTS, json=assignment(table)).status_code == 201

    sql = console.patch(f"{ASSIGNMENT}/exposures", json={"sql": "SELECT 1"})
    assert sql.status_code == 400 and "sql: cannot change with PATCH" in sql.json()["message"]
    moved = console.patch(f"{ASSIGNMENT}/exposures", json={"groupIDColumn": "nope"})
    assert moved.status_code == 400 and "column 'nope'" in moved.json()["message"]
    ok = console.patch(f"{ASSIGNMENT}/exposures", json={"groupIDColumn": "amount_cents"})
    assert ok.status_code == 200, ok.text
    assert stored(db, "assignment")["exposures"]["groupIDColumn"] == "amount_cents"


def test_metric_source__table_with_custom_fields__custom_column_usable(
    console: ContractClient, db: Database, table: str
) -> None:
    body = {
        "name": "purchases",
        "sql": "",
        "sourceType": "table",
        "tableName": table,
        "timestampColumn": "ts",
        "idTypeMapping": ID_MAPPING,
        "customFieldMapping": [{"key": "amount", "formula": "amount_cents / 100.0"}],
    }
    created = console.post(METRIC_SOURCES, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["data"]["sql"] == f"SELECT * FROM {table}"

    # The custom field is one of the source's columns: a replace may name it.
    replaced = console.post(
        f"{METRIC_SOURCES}/purchases", json={**body, "datePartitionColumn": "amount"}
    )
    assert replaced.status_code == 200, replaced.text
    bad = {**body, "customFieldMapping": [{"key": "amount", "formula": "no_such_column * 2"}]}
    refused = console.post(f"{METRIC_SOURCES}/purchases", json=bad)
    assert refused.status_code == 400 and "the warehouse refused" in refused.json()["message"]
    assert stored(db, "metric")["purchases"]["datePartitionColumn"] == "amount"

    read = console.get(f"{METRIC_SOURCES}/purchases").json()
    assert read["message"] == "Metric source read successfully."
    listed = console.get(f"{METRIC_SOURCES}/list").json()
    assert [s["name"] for s in listed["data"]] == ["purchases"]
    metrics = console.get(f"{METRIC_SOURCES}/purchases/metrics")
    assert metrics.status_code == 200 and metrics.json()["data"] == []
    renamed = console.post(f"{METRIC_SOURCES}/purchases", json={**body, "name": "other"})
    assert renamed.status_code == 400 and "name cannot change" in renamed.json()["message"]
    assert console.delete(f"{METRIC_SOURCES}/purchases").status_code == 200
    assert console.get(f"{METRIC_SOURCES}/purchases").status_code == 404


def test_entity_property_and_qualifying_event__crud_and_rename(
    console: ContractClient, db: Database, table: str
) -> None:
    prop = {"name": "countries", "sql": f"SELECT user_id, grp AS country FROM {table}"}
    created = console.post(PROPERTIES, json={**prop, "idTypeMapping": ID_MAPPING})
    assert created.status_code == 201, created.text
    renamed = console.post(
        f"{PROPERTY}/countries",
        json={**prop, "name": "country", "idTypeMapping": ID_MAPPING},
    )
    assert renamed.status_code == 200, renamed.text
    assert set(stored(db, "entity_property")) == {"country"}
    assert console.get(f"{PROPERTY}/countries").status_code == 404
    assert console.get(f"{PROPERTY}/country").json()["data"]["name"] == "country"
    dynamic = console.patch(f"{PROPERTY}/country", json={"timestampColumn": "ts"})
    assert dynamic.status_code == 400  # the query answers no ts column
    assert console.delete(f"{PROPERTY}/country").status_code == 200

    event = {
        "name": "checkout",
        "sql": f"SELECT * FROM {table} WHERE experiment = 'checkout'",
        "timestampColumn": "ts",
        "idTypeMapping": ID_MAPPING,
    }
    assert console.post(QUALIFYING, json=event).status_code == 201
    read = console.get(f"{QUALIFYING}/checkout").json()["data"]
    assert read["sql"] == event["sql"] and read["tags"] == []
    assert console.post(f"{QUALIFYING}/checkout", json={**event, "tags": ["x"]}).status_code == 200
    assert console.get(QUALIFYING).json()["data"][0]["tags"] == ["x"]
    assert console.delete(f"{QUALIFYING}/checkout").status_code == 200
    assert console.delete(f"{QUALIFYING}/checkout").status_code == 404


def test_entity_property__patch__read_back_by_list_and_bad_bodies_change_nothing(
    console: ContractClient, db: Database, table: str
) -> None:
    # Given an entity property source
    sql = f"SELECT user_id, grp AS country FROM {table}"
    prop = {"name": "country", "sql": sql, "idTypeMapping": ID_MAPPING}
    assert console.post(PROPERTIES, json=prop).status_code == 201

    # When its description and tags are patched
    patched = console.patch(
        f"{PROPERTY}/country", json={"description": "home country", "tags": ["geo"]}
    )

    # Then the list reads the new values back, the query unchanged
    assert patched.status_code == 200, patched.text
    assert patched.json()["message"] == "Entity Property Source updated successfully"
    listed = console.get(PROPERTIES)
    assert listed.status_code == 200, listed.text
    assert listed.json()["pagination"]["totalItems"] == 1
    [source] = listed.json()["data"]
    assert (source["name"], source["description"], source["tags"], source["sql"]) == (
        "country",
        "home country",
        ["geo"],
        sql,
    )

    # And a bad body is refused in the error envelope, naming the field, and changes nothing
    before, audits = stored(db, "entity_property"), audit_count(db)
    bad_bodies = [
        ({"tags": "geo"}, "tags"),
        ({"description": 5}, "description"),
        ({"sql": f"SELECT user_id FROM {table}"}, "sql"),
        ({"idTypeMapping": [{"statsigUnitID": "userID", "column": "nobody"}]}, "nobody"),
    ]
    for body, named in bad_bodies:
        refused = console.patch(f"{PROPERTY}/country", json=body)
        assert refused.status_code == 400, (body, refused.text)
        assert refused.json()["status"] == 400
        assert named in refused.json()["message"], (body, refused.text)
    assert stored(db, "entity_property") == before
    assert audit_count(db) == audits
    assert console.get(PROPERTIES).json()["data"] == [source]


def test_sources__no_warehouse_connection__400_names_the_fix(
    console: ContractClient, db: Database
) -> None:
    response = console.post(
        ASSIGNMENTS, json=assignment("t", sql="SELECT 1 AS ts, 1 AS experiment")
    )
    assert response.status_code == 400
    assert "no warehouse connection" in response.json()["message"]
    assert stored(db, "assignment") == {}


@pytest.mark.parametrize("path", [f"{ASSIGNMENT}/x", f"{PROPERTY}/x", f"{METRIC_SOURCES}/x"])
def test_sources__unknown_name__404(console: ContractClient, path: str) -> None:
    assert console.delete(path).status_code == 404


def test_sources__read_only_member__403_and_nothing_stored(
    app: FastAPI, db: Database, project: Bootstrap, table: str
) -> None:
    with acting_as(app, db, project, "reader@example.com", "Read Only") as reader:
        response = reader.post(ASSIGNMENTS, json=assignment(table))
        assert response.status_code == 403
        assert "source_connection_and_creation" in response.json()["message"]
    assert stored(db, "assignment") == {}
