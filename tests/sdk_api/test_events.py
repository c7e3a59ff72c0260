"""Event ingestion: every SDK encoding, per-item errors, durability before the answer."""

from __future__ import annotations

import base64
import gzip
import json
import threading
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from lockgate.domains.events.incoming import forget_old_batches, settle
from lockgate.domains.events.repository import BATCH_MEMORY_MS
from lockgate.domains.events.service import prepare
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.storage.models import CustomEvent, EventBatch, Exposure
from tests.contract.client import ContractClient


@pytest.fixture()
def sdk(app: FastAPI) -> Any:
    with ContractClient(app) as client:
        yield client


def _count(db: Database, model: type) -> int:
    settle(db)  # acknowledged events reach the indexed tables
    with db.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


EVENTS = {
    "events": [
        {
            "eventName": "purchase",
            "user": {"userID": "u1"},
            "value": 9.5,
            "time": 1,
            "metadata": {"sku": "a"},
        },
        {
            "eventName": "statsig::gate_exposure",
            "user": {"userID": "u1", "customIDs": {"companyID": "c1"}},
            "time": 2,
            "metadata": {"gate": "g", "gateValue": "true", "ruleID": "r1"},
        },
    ],
    "statsigMetadata": {"sdkType": "py-server"},
}


def test_log_event__gzip_header__stored_and_202(
    sdk: ContractClient, project: Bootstrap, db: Database
) -> None:
    response = sdk.post(
        "/v1/log_event",
        content=gzip.compress(json.dumps(EVENTS).encode()),
        headers={"STATSIG-API-KEY": project.server_key, "content-encoding": "gzip"},
    )
    assert response.status_code == 202 and response.json() == {"success": True}
    settle(db)  # acknowledged events reach the indexed tables
    with db.transaction(write=False) as session:
        event = session.scalars(select(CustomEvent)).one()
        exposure = session.scalars(select(Exposure)).one()
    assert (event.event_name, event.value_number, event.user_id) == ("purchase", 9.5, "u1")
    assert event.event_metadata == {"sku": "a"} and event.sdk_type == "py-server"
    assert (exposure.kind, exposure.name, exposure.rule_id, exposure.value) == (
        "gate",
        "g",
        "r1",
        "true",
    )
    assert exposure.custom_ids == {"companyID": "c1"}


def test_rgstr__browser_encoding_se__decoded(
    sdk: ContractClient, project: Bootstrap, db: Database
) -> None:
    encoded = base64.b64encode(json.dumps(EVENTS).encode()).decode()[::-1]
    response = sdk.post(
        f"/v1/rgstr?k={project.client_key}&st=javascript-client&se=1",
        content=encoded,
        headers={"content-type": "text/plain;charset=UTF-8"},
    )
    assert response.status_code == 202
    assert _count(db, CustomEvent) == 1 and _count(db, Exposure) == 1


def test_rgstr__gz_flag_raw_gzip__decoded(
    sdk: ContractClient, project: Bootstrap, db: Database
) -> None:
    response = sdk.post(
        f"/v1/rgstr?k={project.client_key}&gz=1", content=gzip.compress(json.dumps(EVENTS).encode())
    )
    assert response.status_code == 202 and _count(db, CustomEvent) == 1


def test_rgstr__stable_id_in_metadata__kept_as_unit_id(
    sdk: ContractClient, project: Bootstrap, db: Database
) -> None:
    body = {
        "events": [{"eventName": "click", "user": {"userID": "u"}}],
        "statsigMetadata": {"stableID": "s-1"},
    }
    sdk.post(f"/v1/rgstr?k={project.client_key}", json=body)
    settle(db)  # acknowledged events reach the indexed tables
    with db.transaction(write=False) as session:
        event = session.scalars(select(CustomEvent)).one()
    assert event.stable_id == "s-1" and event.custom_ids == {"stableID": "s-1"}


def test_log_event__one_malformed_event__reported_rest_kept(
    sdk: ContractClient, project: Bootstrap, db: Database
) -> None:
    body = {
        "events": [
            {"eventName": "ok"},
            {"value": 3},
            {"eventName": "statsig::config_exposure", "metadata": {}},
            "nonsense",
            {"eventName": "also_ok", "metadata": {"a": "b"}},
        ]
    }
    response = sdk.post("/v1/log_event", json=body, headers={"STATSIG-API-KEY": project.server_key})
    assert response.status_code == 202
    rejected = response.json()["rejected"]
    assert [r["index"] for r in rejected] == [1, 2, 3]
    assert "eventName" in rejected[0]["message"] and "metadata.config" in rejected[1]["message"]
    assert _count(db, CustomEvent) == 2


@pytest.mark.parametrize(
    ("content", "needle"), [(b"{not json", "JSON"), (b"\x1f\x8bgarbage", "gzip")]
)
def test_log_event__undecodable_body__400_and_nothing_stored(
    sdk: ContractClient, project: Bootstrap, db: Database, content: bytes, needle: str
) -> None:
    headers = {"STATSIG-API-KEY": project.server_key}
    if needle == "gzip":
        headers["content-encoding"] = "gzip"
    response = sdk.post("/v1/log_event", content=content, headers=headers)
    assert response.status_code == 400 and needle in response.json()["message"]
    assert _count(db, CustomEvent) == 0


def test_log_event__no_key__401(sdk: ContractClient, db: Database) -> None:
    response = sdk.post("/v1/log_event", json=EVENTS)
    assert response.status_code == 401 and _count(db, CustomEvent) == 0


def test_rgstr__cors_preflight__allowed(sdk: ContractClient) -> None:
    response = sdk.request(
        "OPTIONS",
        "/v1/rgstr",
        headers={
            "origin": "http://shop.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "statsig-event-count,statsig-sdk-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "http://shop.example")


def test_log_custom_exposure__gate_and_experiment__stored(
    sdk: ContractClient, project: Bootstrap, db: Database
) -> None:
    body = {
        "user": {"userID": "u9"},
        "exposures": [
            {"gateName": "g", "passes": True, "ruleID": "r"},
            {"experimentName": "e", "group": "Control"},
        ],
    }
    response = sdk.post(
        "/v1/log_custom_exposure", json=body, headers={"STATSIG-API-KEY": project.server_key}
    )
    assert response.status_code == 202
    settle(db)  # acknowledged events reach the indexed tables
    with db.transaction(write=False) as session:
        rows = session.scalars(select(Exposure).order_by(Exposure.seq)).all()
    assert [(r.kind, r.name, r.user_id) for r in rows] == [
        ("gate", "g", "u9"),
        ("config", "e", "u9"),
    ]
    assert rows[1].group_name == "Control"


# -- a batch sent again (a flush retried after its answer was lost) is stored once -------------


def _post(sdk: ContractClient, project: Bootstrap, body: dict[str, Any], *, gzipped: bool) -> None:
    raw = json.dumps(body).encode()
    headers = {"STATSIG-API-KEY": project.server_key}
    if gzipped:
        raw, headers = gzip.compress(raw), {**headers, "content-encoding": "gzip"}
    response = sdk.post("/v1/rgstr", content=raw, headers=headers)
    assert response.status_code == 202 and response.json() == {"success": True}


def test_rgstr__same_batch_sent_again__acknowledged_and_stored_once(
    sdk: ContractClient, project: Bootstrap, db: Database
) -> None:
    _post(sdk, project, EVENTS, gzipped=False)
    _post(sdk, project, EVENTS, gzipped=True)  # the same body, compressed this time
    assert (_count(db, CustomEvent), _count(db, Exposure)) == (1, 1)
    purchase: dict[str, Any] = EVENTS["events"][0]  # type: ignore[index]
    changed = {**EVENTS, "events": [{**purchase, "time": 3}]}
    _post(sdk, project, changed, gzipped=False)  # another batch: stored
    assert _count(db, CustomEvent) == 2


def test_rgstr__events_without_their_own_time__never_taken_for_a_resend(
    sdk: ContractClient, project: Bootstrap, db: Database
) -> None:
    click = {"events": [{"eventName": "click", "user": {"userID": "u1"}}]}
    _post(sdk, project, click, gzipped=False)
    _post(sdk, project, click, gzipped=False)  # two equal clicks, a moment apart
    assert _count(db, CustomEvent) == 2


def test_event_writer__same_batch_from_concurrent_requests__stored_once(
    app: FastAPI, project: Bootstrap, db: Database
) -> None:
    writer = app.state.event_writer

    def send() -> None:
        batch = prepare(
            project.project.id, EVENTS["events"], received_ms=5, sdk_type=None, digest="d" * 40
        )
        writer.write(batch)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (_count(db, CustomEvent), _count(db, Exposure)) == (1, 1)


def test_mover__digests_older_than_a_day__forgotten(
    sdk: ContractClient, project: Bootstrap, db: Database, clock: ManualClock
) -> None:
    _post(sdk, project, EVENTS, gzipped=False)
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(EventBatch)) == 1
    clock.advance(BATCH_MEMORY_MS + 1)
    assert forget_old_batches(db, clock) == 1
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(EventBatch)) == 0
