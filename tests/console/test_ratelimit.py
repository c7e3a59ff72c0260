"""Mutation rate limits per project, counted in the shared database."""

from __future__ import annotations

import pytest

from lockgate.app import create_app
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from tests.contract.client import ContractClient


@pytest.fixture()
def limited_settings(base_settings: Settings) -> Settings:
    return base_settings.model_copy(update={"rate_limit_per_10s": 3, "rate_limit_per_15min": 5})


def _create_tag(client: ContractClient, name: str) -> int:
    return client.post("/console/v1/tags", json={"name": name, "description": ""}).status_code


def test_mutations__over_10s_limit__429_envelope(
    limited_settings: Settings, db: Database, clock: ManualClock, project: Bootstrap
) -> None:
    app = create_app(limited_settings, clock=clock, database=db)
    with ContractClient(app, project.console_key) as client:
        assert [_create_tag(client, f"t{i}") for i in range(3)] == [200, 200, 200]
        response = client.post("/console/v1/tags", json={"name": "t3", "description": ""})
        assert response.status_code == 429
        assert response.json()["status"] == 429
        assert "10 seconds" in response.json()["message"]
        # Reads are not limited, and the rejected mutation changed nothing.
        assert client.get("/console/v1/tags").json()["pagination"]["totalItems"] == 3
        clock.advance(10_000)
        assert _create_tag(client, "t4") == 200


def test_mutations__over_15min_limit__429_until_window_passes(
    limited_settings: Settings, db: Database, clock: ManualClock, project: Bootstrap
) -> None:
    app = create_app(limited_settings, clock=clock, database=db)
    with ContractClient(app, project.console_key) as client:
        statuses = []
        for i in range(6):
            statuses.append(_create_tag(client, f"t{i}"))
            clock.advance(10_000)
        assert statuses == [200] * 5 + [429]
        clock.advance(900_000)
        assert _create_tag(client, "later") == 200


def test_mutations__two_server_processes__share_one_budget(
    limited_settings: Settings, db: Database, clock: ManualClock, project: Bootstrap
) -> None:
    # Two apps with their own engines stand for two Lockgate processes on one database.
    other_db = Database(limited_settings)
    try:
        first = create_app(limited_settings, clock=clock, database=db)
        second = create_app(limited_settings, clock=clock, database=other_db)
        with (
            ContractClient(first, project.console_key) as a,
            ContractClient(second, project.console_key) as b,
        ):
            assert [_create_tag(a, "a1"), _create_tag(b, "b1"), _create_tag(a, "a2")] == [200] * 3
            assert _create_tag(b, "b2") == 429
    finally:
        other_db.dispose()
