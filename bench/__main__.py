"""Console API request cost against a baseline route, on a throwaway SQLite database.

The baseline is ``GET /health`` (routing and serialisation only); each figure is the mean time of
a Console API call and its ratio to that baseline, so the numbers compare across machines.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from anyio.from_thread import start_blocking_portal

from bench import large, pulse, sdk, serving, specs_growth, web, web_results
from lockgate.app import create_app
from lockgate.domains.projects.service import bootstrap
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.migrations import upgrade

ROUNDS = 300


def _measure(call: Callable[[], httpx.Response], rounds: int = ROUNDS) -> float:
    for _ in range(20):
        call()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = call()
        samples.append(time.perf_counter() - start)
        assert response.status_code < 400, response.text
    return statistics.mean(samples)


def main() -> None:
    console_api()
    print()
    sdk.run()
    print()
    web.run()
    print()
    web_results.run()
    print()
    specs_growth.run()
    print()
    serving.scale_out()
    print()
    pulse.main([])
    print()
    large.main()


def console_api() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), rate_limit_per_10s=0, rate_limit_per_15min=0)
        database = Database(settings)
        upgrade(database.engine)
        with database.transaction() as session:
            created = bootstrap(session, int(time.time() * 1000))
        assert created is not None
        app = create_app(settings, database=database)
        headers = {"STATSIG-API-KEY": created.console_key}
        transport = httpx.ASGITransport(app=app)
        with start_blocking_portal() as portal:
            client = httpx.AsyncClient(transport=transport, base_url="http://bench")

            def call(method: str, url: str, **kw: object) -> Callable[[], httpx.Response]:
                async def send() -> httpx.Response:
                    return await client.request(method, url, headers=headers, **kw)  # type: ignore[arg-type]

                return lambda: portal.call(send)

            for i in range(100):
                call("POST", "/console/v1/tags", json={"name": f"t{i}", "description": ""})()
            counter = iter(range(10**9))

            def create() -> httpx.Response:
                n = next(counter)
                return call("POST", "/console/v1/tags", json={"name": f"b{n}", "description": ""})()

            baseline = _measure(call("GET", "/health"))
            cases = {
                "GET /console/v1/tags (100 tags)": _measure(call("GET", "/console/v1/tags")),
                "GET /console/v1/keys": _measure(call("GET", "/console/v1/keys")),
                "GET /console/v1/audit_logs?limit=100": _measure(
                    call("GET", "/console/v1/audit_logs?limit=100")
                ),
                "POST /console/v1/tags (audited write)": _measure(create),
            }
            portal.call(client.aclose)
        database.dispose()
    print(f"baseline GET /health: {baseline * 1e3:.3f} ms")
    for name, seconds in cases.items():
        print(f"{name:45s} {seconds * 1e3:8.3f} ms  {seconds / baseline:6.1f}x baseline")


if __name__ == "__main__":
    main()
