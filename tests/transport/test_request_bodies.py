"""Request bodies through the app, in process: keys before bodies, limits, content codings."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from lockgate.app import create_app
from lockgate.domains.events.incoming import settle
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.models import CustomEvent, Tag
from tests.contract.client import ContractClient
from tests.transport.encodings import ENCODERS, MIB, zero_bomb

LIMIT = 64 * 1024
BATCH = {
    "events": [{"eventName": "checkout", "user": {"userID": "u1"}, "value": 2.5, "time": 1}],
    "statsigMetadata": {"sdkType": "test"},
}


@pytest.fixture()
def small_limits(base_settings: Settings) -> Settings:
    return base_settings.model_copy(
        update={"sdk_max_body_bytes": LIMIT, "console_max_body_bytes": LIMIT}
    )


@pytest.fixture()
def client(small_limits: Settings, db: Database, clock: ManualClock) -> Iterator[ContractClient]:
    app: FastAPI = create_app(small_limits, clock=clock, database=db)
    with ContractClient(app) as sdk:
        yield sdk


class WatchedBody:
    """A streamed request body that counts the chunks the server pulled from it."""

    def __init__(self, chunks: int, size: int = 32 * 1024) -> None:
        self.chunks, self.size, self.pulled = chunks, size, 0

    async def stream(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.pulled += 1
            yield b" " * self.size


def _stored(db: Database, model: type) -> int:
    settle(db)  # acknowledged events reach the indexed tables
    with db.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status and set(body) == {"status", "message"}
    return str(body["message"])


@pytest.mark.parametrize("coding", sorted(ENCODERS))
@pytest.mark.parametrize("path", ["/v1/rgstr", "/v1/log_event"])
def test_events__each_content_coding__decoded_and_stored(
    client: ContractClient, project: Bootstrap, db: Database, path: str, coding: str
) -> None:
    response = client.post(
        path,
        content=ENCODERS[coding](json.dumps(BATCH).encode()),
        headers={"STATSIG-API-KEY": project.server_key, "content-encoding": coding},
    )
    assert response.status_code == 202 and response.json() == {"success": True}
    assert _stored(db, CustomEvent) == 1


def test_rgstr__unknown_content_coding__415(
    client: ContractClient, project: Bootstrap, db: Database
) -> None:
    response = client.post(
        f"/v1/rgstr?k={project.client_key}",
        content=json.dumps(BATCH).encode(),
        headers={"content-encoding": "compress"},
    )
    assert "compress" in _error(response, 415)
    assert _stored(db, CustomEvent) == 0


@pytest.mark.parametrize("path", ["/v1/rgstr", "/v1/log_event", "/v1/initialize", "/v1/check_gate"])
def test_sdk__no_key__401_without_reading_the_body(
    client: ContractClient, db: Database, path: str
) -> None:
    body = WatchedBody(chunks=64)
    response = client.post(path, content=body.stream())
    _error(response, 401)
    assert body.pulled == 0


def test_sdk__declared_length_over_limit__413_without_reading(
    client: ContractClient, project: Bootstrap
) -> None:
    body = WatchedBody(chunks=64)
    response = client.post(
        "/v1/log_event",
        content=body.stream(),
        headers={"STATSIG-API-KEY": project.server_key, "content-length": str(LIMIT + 1)},
    )
    assert str(LIMIT) in _error(response, 413)
    assert body.pulled == 0


def test_sdk__streamed_body_over_limit__413_at_the_limit(
    client: ContractClient, project: Bootstrap, db: Database
) -> None:
    body = WatchedBody(chunks=64)  # 2 MiB in 32 KiB chunks, without a Content-Length
    response = client.post(
        "/v1/log_event", content=body.stream(), headers={"STATSIG-API-KEY": project.server_key}
    )
    _error(response, 413)
    assert body.pulled == LIMIT // body.size + 1
    assert _stored(db, CustomEvent) == 0


@pytest.mark.parametrize("coding", sorted(ENCODERS))
def test_sdk__bomb_with_a_key__413(
    client: ContractClient, project: Bootstrap, db: Database, coding: str
) -> None:
    bomb = zero_bomb(coding, 8 * MIB)
    assert len(bomb) < LIMIT
    response = client.post(
        f"/v1/rgstr?k={project.client_key}", content=bomb, headers={"content-encoding": coding}
    )
    assert "decompressed" in _error(response, 413)
    assert _stored(db, CustomEvent) == 0


def test_rgstr__browser_gz_flag_bomb__413(client: ContractClient, project: Bootstrap) -> None:
    response = client.post(
        f"/v1/rgstr?k={project.client_key}&gz=1", content=zero_bomb("gzip", 8 * MIB)
    )
    _error(response, 413)


def test_console__no_key__401_without_reading_the_body(client: ContractClient) -> None:
    body = WatchedBody(chunks=64)
    response = client.post("/console/v1/tags", content=body.stream())
    assert "CONSOLE key" in _error(response, 401)
    assert body.pulled == 0


def test_console__sdk_key__401_without_reading_the_body(
    client: ContractClient, project: Bootstrap
) -> None:
    body = WatchedBody(chunks=64)
    response = client.post(
        "/console/v1/tags", content=body.stream(), headers={"STATSIG-API-KEY": project.server_key}
    )
    _error(response, 401)
    assert body.pulled == 0


def test_console__body_over_limit__413_and_nothing_changed(
    client: ContractClient, project: Bootstrap, db: Database
) -> None:
    headers = {"STATSIG-API-KEY": project.console_key}
    declared = client.post(
        "/console/v1/tags", json={"name": "t", "description": "x" * LIMIT}, headers=headers
    )
    _error(declared, 413)
    body = WatchedBody(chunks=64)
    streamed = client.post("/console/v1/tags", content=body.stream(), headers=headers)
    _error(streamed, 413)
    assert body.pulled == LIMIT // body.size + 1
    assert _stored(db, Tag) == 0


@pytest.mark.parametrize("coding", sorted(ENCODERS))
def test_console__compressed_body__decoded(
    client: ContractClient, project: Bootstrap, coding: str
) -> None:
    response = client.post(
        "/console/v1/tags",
        content=ENCODERS[coding](json.dumps({"name": f"t-{coding}", "description": ""}).encode()),
        headers={
            "STATSIG-API-KEY": project.console_key,
            "content-encoding": coding,
            "content-type": "application/json",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["name"] == f"t-{coding}"


def test_console__unknown_content_coding__415(client: ContractClient, project: Bootstrap) -> None:
    response = client.post(
        "/console/v1/tags",
        content=b'{"name": "t"}',
        headers={"STATSIG-API-KEY": project.console_key, "content-encoding": "snappy"},
    )
    _error(response, 415)
