"""Server time of the web console's results page for an experiment with 20 metrics and 3 test
groups, next to the Console API's ``pulse_results`` for one test group as the baseline, both
measured in the same run against the same in-process app and database.

The page asks Pulse for every test group's results and for each day's daily view (for the metric
detail), so its cost is a multiple of one ``pulse_results`` call plus rendering.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from anyio.from_thread import start_blocking_portal
from sqlalchemy import insert

from lockgate.app import create_app
from lockgate.domains.projects.service import bootstrap
from lockgate.domains.users import service as users_service
from lockgate.domains.users.permissions import ADMIN
from lockgate.kit.actor import Actor, Change
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.migrations import upgrade
from lockgate.storage.models import CustomEvent, Exposure

METRICS = 20
GROUPS = ("Control", "Test A", "Test B", "Test C")
UNITS_PER_GROUP = 500
DAYS = 3
ROUNDS = 30
DAY_MS = 86_400_000
EMAIL, PASSWORD = "bench@acme.com", "a-bench-password"


@dataclass(frozen=True)
class Timings:
    api_ms: float
    page_ms: float


def _median_ms(call: Callable[[], httpx.Response], rounds: int) -> float:
    for _ in range(3):
        call()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = call()
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, response.text[:500]
    return statistics.median(samples) * 1e3


def _seed(
    database: Database, project_id: str, experiment: dict[str, object], now: int, units: int
) -> None:
    """Units exposed over ``DAYS`` days; each logs each metric's event a few times."""
    groups = experiment["groups"]
    assert isinstance(groups, list)
    exposures, events = [], []
    for g, group in enumerate(groups):
        for i in range(units):
            user, exposed = f"{g}-{i}", now - (i % DAYS) * DAY_MS - 60_000
            exposures.append(
                {
                    "project_id": project_id,
                    "kind": "config",
                    "name": experiment["id"],
                    "rule_id": group["id"],
                    "user_id": user,
                    "time": exposed,
                    "received_time": exposed,
                }
            )
            for m in range(METRICS):
                for k in range((i + m + g) % 3):
                    at = exposed + 1_000 + k
                    events.append(
                        {
                            "project_id": project_id,
                            "event_name": f"event_{m:02d}",
                            "user_id": user,
                            "time": at,
                            "received_time": at,
                        }
                    )
    with database.transaction() as session:
        session.execute(insert(Exposure), exposures)
        session.execute(insert(CustomEvent), events)


def run(
    units_per_group: int = UNITS_PER_GROUP,
    rounds: int = ROUNDS,
    echo: Callable[[str], None] = print,
) -> Timings:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            rate_limit_per_10s=0,
            rate_limit_per_15min=0,
            pulse_worker_interval_ms=0,
        )
        database = Database(settings)
        upgrade(database.engine)
        now = int(time.time() * 1000)
        with database.transaction() as session:
            created = bootstrap(session, now)
            assert created is not None
            change = Change(created.project.id, Actor(id="bench", name="bench"), now)
            users_service.create(session, change, email=EMAIL, role=ADMIN, password=PASSWORD)
        app = create_app(settings, database=database)
        key = {"STATSIG-API-KEY": created.console_key}
        transport = httpx.ASGITransport(app=app)
        with start_blocking_portal() as portal:
            client = httpx.AsyncClient(transport=transport, base_url="http://bench")

            def call(method: str, url: str, **kw: object) -> Callable[[], httpx.Response]:
                async def send() -> httpx.Response:
                    return await client.request(method, url, **kw)  # type: ignore[arg-type]

                return lambda: portal.call(send)

            body = {
                "name": "bench_results",
                "groups": [{"name": n, "size": 25, "parameterValues": {}} for n in GROUPS],
                "primaryMetrics": [
                    {"name": f"event_{m:02d}", "type": "event_count"} for m in range(5)
                ],
                "secondaryMetrics": [
                    {"name": f"event_{m:02d}", "type": "event_count"} for m in range(5, METRICS)
                ],
            }
            made = call("POST", "/console/v1/experiments", json=body, headers=key)()
            assert made.status_code == 201, made.text
            experiment = made.json()["data"]
            base = f"/console/v1/experiments/{experiment['id']}"
            assert call("PUT", f"{base}/start", json={}, headers=key)().status_code == 200
            _seed(database, created.project.id, experiment, now, units_per_group)
            assert call("POST", f"{base}/load_pulse", json={}, headers=key)().status_code == 200
            assert app.state.pulse_runner.run_pending() == 1
            signed = call("POST", "/ui/login", data={"email": EMAIL, "password": PASSWORD})()
            assert signed.status_code == 303, signed.text
            control, test = experiment["groups"][0]["id"], experiment["groups"][1]["id"]
            api = _median_ms(
                call("GET", f"{base}/pulse_results?control={control}&test={test}", headers=key),
                rounds,
            )
            page_call = call("GET", f"/ui/experiments/{experiment['id']}/results")
            shown = page_call().text
            assert shown.count('class="metric-row"') == METRICS * (len(GROUPS) - 1), "scorecard"
            page = _median_ms(page_call, rounds)
            portal.call(client.aclose)
        database.dispose()
    echo(
        f"web results page: {METRICS} metrics, {len(GROUPS) - 1} test groups, {DAYS} days, "
        f"{units_per_group * len(GROUPS)} units, SQLite; median of {rounds} requests"
    )
    echo(f"baseline GET pulse_results (one test group): {api:8.2f} ms")
    ratio = page / api
    echo(f"GET /ui/experiments/{{id}}/results:            {page:8.2f} ms  {ratio:6.1f}x baseline")
    return Timings(api, page)


if __name__ == "__main__":
    run()
