"""Ingestion sources, schedules and the Databricks connection through the Console API: each
answer in the official shape, audited; every bad input refused with the envelope's error and
nothing changed."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.db import Database
from lockgate.storage.models import IngestionConnection
from tests.contract.client import ContractClient
from tests.ingestions.conftest import (
    EVENTS_MAPPING,
    Warehouse,
    events_source,
    metrics_source,
    snapshot,
)
from tests.users.support import acting_as

URL = "/console/v1/ingestion"
WHERE = {"type": "duckdb", "dataset": "Events", "source_name": "app events"}


def audit_actions(console: ContractClient) -> list[str]:
    entries = console.get("/console/v1/audit_logs", params={"limit": 100}).json()["data"]
    return [entry["actionType"] for entry in entries]


def test_create__events_source_on_duckdb__200_ingestion_dto(
    console: ContractClient, warehouse: Warehouse
) -> None:
    response = console.post(URL, json=events_source())

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "Ingestion created successfully."
    data = body["data"]
    assert (data["type"], data["enabled"]) == ("duckdb", False)
    assert data["data"]["name"] == "app events"
    assert data["data"]["columnMappings"] == {**EVENTS_MAPPING}
    assert data["data"]["scheduled_hour_pst"] == 10
    assert "ingestion_source_create" in audit_actions(console)


def test_read_update_delete__source__each_answers_its_shape(
    console: ContractClient, warehouse: Warehouse
) -> None:
    created = console.post(URL, json=events_source()).json()["data"]

    read = console.get(URL, params=WHERE)
    assert read.status_code == 200 and read.json()["data"] == created
    # Without source_name: the one source of that type and dataset.
    only = console.get(URL, params={"type": "duckdb", "dataset": "Events"})
    assert only.json()["data"]["id"] == created["id"]

    patched = console.patch(
        URL,
        json={
            "type": "duckdb",
            "dataset": "Events",
            "source_name": "app events",
            "enabled": True,
            "query": "SELECT * FROM app_events WHERE event = 'purchase'",
        },
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["message"] == "Ingestion updated successfully."
    assert patched.json()["data"]["enabled"] is True
    assert patched.json()["data"]["data"]["query"].endswith("'purchase'")

    deleted = console.delete(URL, params=WHERE)
    assert deleted.status_code == 200
    assert deleted.json()["message"] == "Ingestion deleted successfully."
    assert console.get(URL, params=WHERE).status_code == 404
    actions = audit_actions(console)
    assert {"ingestion_source_update", "ingestion_source_delete"} <= set(actions)


def test_create__metrics_source__200(console: ContractClient, warehouse: Warehouse) -> None:
    response = console.post(URL, json=metrics_source(enabled=True))

    assert response.status_code == 200, response.text
    assert response.json()["data"]["data"]["dataset"] == "Metrics"


def test_schedule__read_default_then_set__200(console: ContractClient) -> None:
    read = console.get(f"{URL}/schedule", params={"dataset": "Metrics"})
    assert read.json() == {
        "message": "Ingestion schedule read successfully.",
        "data": {"dataset": "Metrics", "scheduled_hour_pst": 10},
    }

    updated = console.post(f"{URL}/schedule", json={"dataset": "Metrics", "scheduled_hour_pst": 3})

    assert updated.status_code == 200
    assert updated.json()["data"] == {"dataset": "Metrics", "scheduled_hour_pst": 3}
    again = console.get(f"{URL}/schedule", params={"dataset": "Metrics"}).json()["data"]
    assert again["scheduled_hour_pst"] == 3
    assert "ingestion_schedule_update" in audit_actions(console)


def test_databricks_connection__200_token_sealed_never_shown(
    console: ContractClient, db: Database
) -> None:
    body = {"token": "dapi-secret-123", "host": "adb-1.azuredatabricks.net", "path": "/sql/1"}

    response = console.post(f"{URL}/connection/databricks", json=body)

    assert response.status_code == 200, response.text
    assert "dapi-secret-123" not in response.text
    assert response.json()["data"]["type"] == "databricks"
    with db.transaction() as session:
        row = session.scalars(select(IngestionConnection)).one()
        assert "dapi-secret-123" not in row.secrets and "token" not in row.settings
    audit = console.get("/console/v1/audit_logs").text
    assert "ingestion_connection_update" in audit and "dapi-secret-123" not in audit
    # A source of that type may now be named; reading one that does not exist is a 404.
    missing = console.get(URL, params={"type": "databricks", "dataset": "Events"})
    assert missing.status_code == 404


BAD_CREATES: list[tuple[str, dict[str, Any], int, str]] = [
    ("unknown type", {"type": "oracle"}, 400, "type"),
    (
        "no connection of the type",
        {"type": "redshift"},
        404,
        "Ingestion of type redshift not found.",
    ),
    ("dataset not ingested here", {"dataset": "export_exposures"}, 400, "dataset"),
    ("no source name", {"source_name": None}, 400, "source_name"),
    ("source name too long", {"source_name": "x" * 201}, 400, "source_name"),
    ("query missing", {"query": None}, 400, "query: is required"),
    ("query not a string", {"query": 12}, 400, "query"),
    ("query too long", {"query": "SELECT 1 " + " " * 100_000}, 400, "query"),
    (
        "query fails in warehouse",
        {"query": "SELECT * FROM nowhere"},
        400,
        "failed in the duckdb warehouse",
    ),
    ("mapping missing", {"column_mapping": None}, 400, "column_mapping: is required"),
    (
        "mapping lacks event_name",
        {"column_mapping": {"timestamp": "ts", "unit_id": "uid"}},
        400,
        "column_mapping.event_name: is required",
    ),
    (
        "mapping names an unknown field",
        {"column_mapping": {**EVENTS_MAPPING, "colour": "x"}},
        400,
        "column_mapping.colour",
    ),
    (
        "mapped column not in result",
        {"column_mapping": {**EVENTS_MAPPING, "event_name": "kind"}},
        400,
        "column 'kind' is not in the query's result",
    ),
    (
        "mapped column not a name",
        {"column_mapping": {**EVENTS_MAPPING, "event_name": "a b"}},
        400,
        "is not a column name",
    ),
    (
        "unit id type too long",
        {"column_mapping": {**EVENTS_MAPPING, "ids": {"device": "t" * 129}}},
        400,
        "column_mapping.ids.device",
    ),
    ("delta sharing", {"use_delta_sharing": True, "share": "s"}, 400, "Delta Sharing"),
    ("enabled not a boolean", {"enabled": "maybe"}, 400, "enabled"),
    ("unknown property", {"colour": "red"}, 400, "colour"),
]


@pytest.mark.parametrize(
    ("change", "status", "says"), [c[1:] for c in BAD_CREATES], ids=[c[0] for c in BAD_CREATES]
)
def test_create__bad_input__envelope_error_and_nothing_changed(
    console: ContractClient,
    db: Database,
    warehouse: Warehouse,
    change: dict[str, Any],
    status: int,
    says: str,
) -> None:
    before = snapshot(db)
    body = {k: v for k, v in {**events_source(), **change}.items() if v is not None}

    response = console.post(URL, json=body)

    assert response.status_code == status, response.text
    assert response.json()["status"] == status and says in response.json()["message"]
    assert snapshot(db) == before


def test_create__duplicate_name__400_already_exists(
    console: ContractClient, db: Database, warehouse: Warehouse
) -> None:
    assert console.post(URL, json=events_source()).status_code == 200
    before = snapshot(db)

    response = console.post(URL, json=events_source())

    assert response.status_code == 400
    assert response.json()["message"] == "Ingestion source already exists with name app events"
    assert snapshot(db) == before


def test_create__metrics_without_value_or_ratio__400(
    console: ContractClient, db: Database, warehouse: Warehouse
) -> None:
    mapping = {"unit_id": "unit", "id_type": "id_type", "dateid": "ds", "metric_name": "metric"}
    before = snapshot(db)

    response = console.post(URL, json=metrics_source(column_mapping=mapping))

    assert response.status_code == 400
    assert "column_mapping.metric_value: is required unless" in response.json()["message"]
    assert snapshot(db) == before


BAD_READS: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("GET", URL, {"type": "duckdb"}, 400, "dataset"),
    ("GET", URL, {"type": "duckdb", "dataset": "Nope"}, 400, "dataset"),
    ("GET", URL, {**WHERE, "source_name": "absent"}, 404, "Ingestion source absent"),
    ("GET", URL, {"type": "athena", "dataset": "Events"}, 404, "Ingestion of type athena"),
    ("DELETE", URL, {**WHERE, "source_name": "absent"}, 404, "Ingestion source absent"),
    ("GET", f"{URL}/schedule", {}, 400, "dataset"),
    ("GET", f"{URL}/schedule", {"dataset": "Other"}, 400, "dataset"),
]


@pytest.mark.parametrize(("method", "url", "params", "status", "says"), BAD_READS)
def test_read_delete__bad_query__envelope_error_and_nothing_changed(
    console: ContractClient,
    db: Database,
    warehouse: Warehouse,
    method: str,
    url: str,
    params: dict[str, Any],
    status: int,
    says: str,
) -> None:
    assert console.post(URL, json=events_source()).status_code == 200
    before = snapshot(db)

    response = console.request(method, url, params=params)

    assert response.status_code == status, response.text
    assert says in response.json()["message"]
    assert snapshot(db) == before


def test_read__two_sources_without_name__400_asks_for_source_name(
    console: ContractClient, db: Database, warehouse: Warehouse
) -> None:
    assert console.post(URL, json=events_source()).status_code == 200
    assert console.post(URL, json=events_source(source_name="second")).status_code == 200

    response = console.get(URL, params={"type": "duckdb", "dataset": "Events"})

    assert response.status_code == 400
    assert "source_name: is required: 2 Events sources" in response.json()["message"]


BAD_UPDATES: list[tuple[str, dict[str, Any], int, str]] = [
    ("unknown source", {"source_name": "absent"}, 404, "Ingestion source absent"),
    ("query fails", {"query": "SELECT nope FROM app_events"}, 400, "query"),
    ("empty query", {"query": "  ;"}, 400, "query: is required"),
    ("bad mapping", {"column_mapping": {"event_name": "event"}}, 400, "column_mapping.timestamp"),
    ("enabled not boolean", {"enabled": [1]}, 400, "enabled"),
]


@pytest.mark.parametrize(
    ("change", "status", "says"), [c[1:] for c in BAD_UPDATES], ids=[c[0] for c in BAD_UPDATES]
)
def test_update__bad_input__envelope_error_and_nothing_changed(
    console: ContractClient,
    db: Database,
    warehouse: Warehouse,
    change: dict[str, Any],
    status: int,
    says: str,
) -> None:
    created = console.post(URL, json=events_source()).json()["data"]
    before = snapshot(db)

    response = console.patch(
        URL, json={"type": "duckdb", "dataset": "Events", "source_name": "app events", **change}
    )

    assert response.status_code == status, response.text
    assert says in response.json()["message"]
    assert snapshot(db) == before
    assert console.get(URL, params=WHERE).json()["data"] == created


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"dataset": "Events", "scheduled_hour_pst": 24}, "scheduled_hour_pst"),
        ({"dataset": "Events", "scheduled_hour_pst": -1}, "scheduled_hour_pst"),
        ({"dataset": "Events", "scheduled_hour_pst": 10.5}, "must be a whole hour"),
        ({"dataset": "Events", "scheduled_hour_pst": "ten"}, "scheduled_hour_pst"),
        ({"scheduled_hour_pst": 3}, "dataset"),
        ({"dataset": "Logs", "scheduled_hour_pst": 3}, "dataset"),
    ],
)
def test_schedule__bad_body__400_and_nothing_changed(
    console: ContractClient, db: Database, body: dict[str, Any], says: str
) -> None:
    before = snapshot(db)

    response = console.post(f"{URL}/schedule", json=body)

    assert response.status_code == 400
    assert says in response.json()["message"]
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"host": "adb.net", "path": "/p"}, "token"),
        ({"token": "t", "host": "https://adb.net/x", "path": "/p"}, "host: must be a host name"),
        ({"token": "t", "host": "adb.net", "path": "/p", "verified": "yes"}, "verified"),
        ({"token": "t" * 20_001, "host": "adb.net", "path": "/p"}, "token"),
    ],
)
def test_databricks_connection__bad_body__400_and_nothing_changed(
    console: ContractClient, db: Database, body: dict[str, Any], says: str
) -> None:
    before = snapshot(db)

    response = console.post(f"{URL}/connection/databricks", json=body)

    assert response.status_code == 400
    assert says in response.json()["message"]
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "", events_source()),
        ("POST", "/schedule", {"dataset": "Events", "scheduled_hour_pst": 3}),
        (
            "POST",
            "/backfill",
            {
                "type": "duckdb",
                "dataset": "Events",
                "datestamp_start": "2026-05-26",
                "datestamp_end": "2026-05-26",
            },
        ),
        ("POST", "/connection/databricks", {"token": "t", "host": "adb.net", "path": "/p"}),
    ],
)
def test_mutations__member_without_ingestion_permission__403_and_nothing_changed(
    app: FastAPI,
    db: Database,
    project: Bootstrap,
    method: str,
    path: str,
    body: dict[str, Any],
) -> None:
    before = snapshot(db)
    with acting_as(app, db, project, "member@example.com", "Member") as member:
        response = member.request(method, f"{URL}{path}", json=body)

    assert response.status_code == 403
    assert (
        "Missing permission: data_warehouse_ingestion_and_exports_edit_access"
        in response.json()["message"]
    )
    after = snapshot(db)
    assert {k: v for k, v in after.items() if k != "audit_logs"} == {
        k: v for k, v in before.items() if k != "audit_logs"
    }
