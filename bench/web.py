"""Web console page cost at scale: the gates catalog page at 5,000 gates with 14 days of checks
stored (first page, with its checks sparklines; a filtered and sorted page, in SQL; a search
for the last gate, in the catalog and in Ctrl+K search) and the user lookup (its first page of
evaluations, and its size), each next to the Console API's ``GET /console/v1/gates`` list of
the same page size measured in the same run as the baseline.

Requests go in process through ``httpx.ASGITransport`` (server time, no network); each figure
is the median of ``ROUNDS`` requests after a warm-up.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from anyio.from_thread import start_blocking_portal
from sqlalchemy import insert, inspect

from lockgate.app import create_app
from lockgate.domains.gates import service as gates_service
from lockgate.domains.gates.schemas import GateCreate
from lockgate.domains.projects.service import bootstrap
from lockgate.kit.actor import Actor, Change
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.migrations import upgrade
from lockgate.storage.models import Exposure, Gate

GATES = 5_000
CHECKS_PER_GATE = 40  # 200,000 stored gate checks, spread over the last 14 days
ROUNDS = 50
OWNER = "bench@acme.com"
TAGGED_EVERY = 10  # every tenth gate carries the tag "bench": 500 for the filtered page
FILTERED = "/ui/gates?status=In+Progress&idType=userID&tags=bench&sort=-name"


def _median_ms(call: Callable[[], httpx.Response], rounds: int = ROUNDS) -> float:
    for _ in range(5):
        call()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = call()
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, response.text[:300]
    return statistics.median(samples) * 1e3


def _tags(n: int) -> list[str]:
    return ["bench"] if n % TAGGED_EVERY == 0 else []


def _seed(database: Database, project_id: str, now_ms: int) -> None:
    """``GATES`` gates, gate_0000 to gate_4999: one through the service, the rest its copies."""
    with database.transaction() as session:
        change = Change(project_id, Actor(id="bench", name="bench"), now_ms)
        template = gates_service.create(session, change, GateCreate(name="gate_0000"))
        columns = {c.key: getattr(template, c.key) for c in inspect(Gate).column_attrs}
        session.execute(
            insert(Gate),
            [
                {
                    **columns,
                    "id": f"gate_{n:04d}",
                    "name": f"gate_{n:04d}",
                    "created_time": columns["created_time"] + n,
                    "tags": _tags(n),
                    "document": {
                        **columns["document"],
                        "id": f"gate_{n:04d}",
                        "name": f"gate_{n:04d}",
                        "tags": _tags(n),
                    },
                }
                for n in range(1, GATES)
            ],
        )


def _seed_checks(database: Database, project_id: str, now_ms: int) -> None:
    """``CHECKS_PER_GATE`` checks of every gate, a third failing, over the last 14 days."""
    day_ms = 86_400_000
    with database.transaction() as session:
        for n in range(GATES):
            session.execute(
                insert(Exposure),
                [
                    {
                        "project_id": project_id,
                        "kind": "gate",
                        "name": f"gate_{n:04d}",
                        "rule_id": "default",
                        "value": "false" if k % 3 == 0 else "true",
                        "user_id": f"u{k}",
                        "time": now_ms - (k % 14) * day_ms - k,
                        "received_time": now_ms,
                    }
                    for k in range(CHECKS_PER_GATE)
                ],
            )


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), rate_limit_per_10s=0, rate_limit_per_15min=0)
        database = Database(settings)
        upgrade(database.engine)
        now_ms = int(time.time() * 1000)
        with database.transaction() as session:
            created = bootstrap(session, now_ms, owner_email=OWNER)
        assert created is not None and created.owner_password is not None
        _seed(database, created.project.id, now_ms)
        _seed_checks(database, created.project.id, now_ms)
        app = create_app(settings, database=database)
        last = f"gate_{GATES - 1:04d}"
        with start_blocking_portal() as portal:
            transport = httpx.ASGITransport(app=app)
            client = httpx.AsyncClient(transport=transport, base_url="http://bench")

            def get(
                url: str, headers: dict[str, str] | None = None
            ) -> Callable[[], httpx.Response]:
                async def send() -> httpx.Response:
                    return await client.get(url, headers=headers)

                return lambda: portal.call(send)

            async def sign_in() -> httpx.Response:
                form = {"email": OWNER, "password": created.owner_password or ""}
                return await client.post("/ui/login", data=form)

            assert portal.call(sign_in).status_code == 303
            api = {"STATSIG-API-KEY": created.console_key}
            baseline = _median_ms(get("/console/v1/gates?limit=50", api))
            tagged = GATES // TAGGED_EVERY
            cases = {
                f"GET /ui/gates (page 1 of {GATES})": _median_ms(get("/ui/gates")),
                f"GET {FILTERED} ({tagged} match)": _median_ms(get(FILTERED)),
                "GET /console/v1/gates?idType=userID&tags=bench&limit=50": _median_ms(
                    get("/console/v1/gates?idType=userID&tags=bench&limit=50", api)
                ),
                f"GET /ui/gates?q={last}": _median_ms(get(f"/ui/gates?q={last}")),
                f"GET /ui/search?q={last} (six kinds)": _median_ms(get(f"/ui/search?q={last}")),
                f"GET /ui/users?id=u1 ({GATES} gates)": _median_ms(
                    get("/ui/users?id=u1"), rounds=10
                ),
            }
            lookup_kb = len(get("/ui/users?id=u1")().content) / 1024
            portal.call(client.aclose)
        database.dispose()
    print(
        f"baseline GET /console/v1/gates?limit=50 ({GATES} gates, "
        f"{GATES * CHECKS_PER_GATE} checks): {baseline:.3f} ms (median)"
    )
    for name, ms in cases.items():
        print(f"{name:60s} {ms:8.3f} ms  {ms / baseline:6.2f}x baseline")
    print(f"GET /ui/users?id=u1 page size: {lookup_kb:.0f} KiB")


if __name__ == "__main__":
    run()
