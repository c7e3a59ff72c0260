"""Mutation rate limits per project: sliding windows, counted in the shared database."""

from __future__ import annotations

import random
import threading

import pytest

from lockgate.app import create_app
from lockgate.domains.projects.service import Bootstrap
from lockgate.errors import RateLimited
from lockgate.faces.console.ratelimit import RateLimiter
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


def test_mutations__burst_across_a_fixed_window_edge__429_with_retry_after(
    limited_settings: Settings, db: Database, clock: ManualClock, project: Bootstrap
) -> None:
    app = create_app(limited_settings, clock=clock, database=db)
    assert clock.now_ms() % 10_000 == 0  # the tests' clock starts on a 10 s boundary
    with ContractClient(app, project.console_key) as client:
        clock.advance(9_900)
        assert [_create_tag(client, f"t{i}") for i in range(3)] == [200, 200, 200]
        clock.advance(200)  # past the boundary, 0.2 s after the three
        response = client.post("/console/v1/tags", json={"name": "t3", "description": ""})
        assert response.status_code == 429
        # The three leave the window 10 s after they came: 9.8 s from now.
        assert response.headers["Retry-After"] == "10"
        clock.advance(9_799)
        assert _create_tag(client, "t4") == 429
        clock.advance(1)
        assert _create_tag(client, "t5") == 200


def test_rate_limiter__random_arrivals__no_window_ever_over_its_limit(
    db: Database, clock: ManualClock, project: Bootstrap
) -> None:
    # Given limits of 5 per 10 s and 12 per 15 min, and bursts at random times over 40 min
    limiter = RateLimiter(db, clock, per_10s=5, per_15min=12)
    rng = random.Random(7)
    admitted: list[int] = []
    refused: list[tuple[int, int]] = []
    for _ in range(240):
        clock.advance(rng.choice([0, 1, 50, 900, 3_000, 9_999, 10_000, 30_000]))
        try:
            limiter.hit(project.project.id)
            admitted.append(clock.now_ms())
        except RateLimited as refusal:
            refused.append((clock.now_ms(), refusal.retry_after_s))

    def inside(end: int, span: int) -> int:
        return sum(1 for at in admitted if end - span < at <= end)

    # Then no interval of either length, wherever it starts, holds more than its limit ...
    for at in admitted:
        assert inside(at, 10_000) <= 5 and inside(at, 900_000) <= 12
    # ... and every refusal came when a window ending then was full.
    assert refused and len(admitted) >= 12
    for at, retry_after_s in refused:
        assert inside(at, 10_000) == 5 or inside(at, 900_000) == 12
        assert retry_after_s >= 1


def test_rate_limiter__concurrent_hits__admit_exactly_the_limit(
    limited_settings: Settings, db: Database, clock: ManualClock, project: Bootstrap
) -> None:
    # Each thread stands for a request in some process; the clock stands still.
    limiter = RateLimiter(db, clock, per_10s=10, per_15min=0)
    outcomes: list[bool] = []

    def burst() -> None:
        for _ in range(5):
            try:
                limiter.hit(project.project.id)
                outcomes.append(True)
            except RateLimited:
                outcomes.append(False)

    threads = [threading.Thread(target=burst) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(True) == 10 and outcomes.count(False) == 20
