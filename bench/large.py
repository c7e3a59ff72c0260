"""Console writes as one project grows: 100, 1,000 and 10,000 gates, side by side.

One project is filled through the Console API (an in-process ASGI client, rate limit off) on a
throwaway SQLite database and, when the server answers, a throwaway PostgreSQL database, both
built by the migrations. At each size the project also holds a fifth as many dynamic configs,
3% as many rule-based segments and a twentieth as many experiments in layers of ten (at 10,000
gates: 2,000 configs, 300 segments, 500 experiments). Every gate and config has two random
rules, whose condition names an earlier gate one time in five and a segment one in eight, so
reference checks have something to walk.

At each size it prints the median cost of a gate create (and the mean, which shows the slow
tail), update and rule change, and of a config create, update and rule change; the time that
growth step took; the resident memory (RSS) of the process, which serves the requests (the
client is a few objects beside it); and each figure's ratio to the smallest size. The target
is a ratio of at most 1.5 at 10,000.

``LOCKGATE_BENCH_LARGE_SIZES`` (default ``100,1000,10000``) sets the sizes, e.g. ``100,1000``
for a quick run; ``LOCKGATE_BENCH_LARGE_DB`` is ``sqlite``, ``postgresql`` or ``both``
(default); ``LOCKGATE_BENCH_PG_URL`` names the PostgreSQL server (an admin database URL).

    python -m bench.large
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

from bench.pulse import PG_URL, PG_URL_ENV, _postgres_admin_url, throwaway_postgresql
from lockgate.app import create_app
from lockgate.domains.projects.service import bootstrap
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.migrations import upgrade

SIZES_ENV = "LOCKGATE_BENCH_LARGE_SIZES"
DB_ENV = "LOCKGATE_BENCH_LARGE_DB"
SIZES = (100, 1_000, 10_000)
SAMPLES = 60  # updates and rule changes measured at each size
CREATE_SAMPLES = 200  # the last gate creates before each size, whose median is reported
WARM_UP = 30  # gates created and deleted before the project grows
V1 = "/console/v1"
COUNTRIES = ("US", "CA", "GB", "DE", "FR", "SE", "NO", "JP", "BR", "IN")

Echo = Callable[[str], None]


def _print(line: str) -> None:
    print(line, flush=True)


def rss_mb() -> float:
    """The process's resident memory now (Linux ``/proc``), in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Point:
    """The figures at one size."""

    gates: int
    entities: int
    figures: dict[str, float] = field(default_factory=dict)


class Console:
    """Blocking calls to the app's Console API through an in-process ASGI transport."""

    def __init__(self, portal: BlockingPortal, client: httpx.AsyncClient, key: str) -> None:
        self._portal, self._client, self._headers = portal, client, {"STATSIG-API-KEY": key}

    def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        async def send() -> httpx.Response:
            return await self._client.request(method, V1 + path, headers=self._headers, json=body)

        response = self._portal.call(send)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()  # type: ignore[no-any-return]

    def timed(self, method: str, path: str, body: Any = None) -> float:
        start = time.perf_counter()
        self.call(method, path, body)
        return time.perf_counter() - start


class Grower:
    """Fills one project, remembering what it created so rules can name it."""

    def __init__(self, console: Console, seed: int = 7) -> None:
        self.console = console
        self.rng = random.Random(seed)
        self.gates: list[str] = []
        self.configs: list[str] = []
        self.segments: list[str] = []
        self.experiments = 0
        self.layer: str | None = None

    @property
    def entities(self) -> int:
        return len(self.gates) + len(self.configs) + len(self.segments) + self.experiments

    def _condition(self, gates: int) -> dict[str, Any]:
        roll = self.rng.random()
        if roll < 0.2 and gates:
            return {"type": "passes_gate", "targetValue": self.gates[self.rng.randrange(gates)]}
        if roll < 0.33 and self.segments:
            return {"type": "passes_segment", "targetValue": self.rng.choice(self.segments)}
        if roll < 0.66:
            countries = self.rng.sample(COUNTRIES, 3)
            return {"type": "country", "operator": "any", "targetValue": countries}
        domain = f"@team{self.rng.randrange(50)}.example"
        return {"type": "email", "operator": "str_contains_any", "targetValue": [domain]}

    def rules(self, config: bool = False, gates: int | None = None) -> list[dict[str, Any]]:
        """Two random rules, naming only the first ``gates`` gates (all by default): a gate's
        rules name only gates created before it, so they never form a cycle."""
        known = len(self.gates) if gates is None else gates
        rules = []
        for n in range(2):
            rule: dict[str, Any] = {
                "name": f"rule {n}",
                "passPercentage": self.rng.randrange(0, 101),
                "conditions": [self._condition(known)],
            }
            if config:
                rule["returnValue"] = {"variant": n, "size": self.rng.randrange(100)}
            rules.append(rule)
        return rules

    def gate_body(self) -> dict[str, Any]:
        name = f"gate {len(self.gates):05d}"
        return {"name": name, "description": "grown by the bench", "rules": self.rules()}

    def create_gate(self) -> float:
        body = self.gate_body()
        seconds = self.console.timed("POST", "/gates", body)
        self.gates.append(body["name"].replace(" ", "_"))
        return seconds

    def create_config(self) -> float:
        name = f"config {len(self.configs):05d}"
        body = {"name": name, "defaultValue": {"variant": -1}, "rules": self.rules(config=True)}
        seconds = self.console.timed("POST", "/dynamic_configs", body)
        self.configs.append(name.replace(" ", "_"))
        return seconds

    def create_segment(self) -> None:
        name = f"segment {len(self.segments):04d}"
        rule = {
            "name": "members",
            "passPercentage": 100,
            "conditions": [
                {"type": "email", "operator": "str_contains_any", "targetValue": [f"@s{name}"]}
            ],
        }
        self.console.call(
            "POST", "/segments", {"name": name, "type": "rule_based", "rules": [rule]}
        )
        self.segments.append(name.replace(" ", "_"))

    def create_experiment(self) -> None:
        if self.experiments % 10 == 0:
            self.layer = f"layer_{self.experiments // 10:03d}"
            self.console.call("POST", "/layers", {"name": self.layer, "idType": "userID"})
        body = {
            "name": f"experiment {self.experiments:04d}",
            "hypothesis": "grown by the bench",
            "layerID": self.layer,
            "allocation": 10,
        }
        self.console.call("POST", "/experiments", body)
        self.experiments += 1

    def grow_to(self, gates: int) -> list[float]:
        """Create segments, experiments, then gates with configs among them, up to the share
        of each at ``gates`` gates; returns each gate create's time."""
        while len(self.segments) < gates * 3 // 100:
            self.create_segment()
        while self.experiments < gates // 20:
            self.create_experiment()
        times = []
        while len(self.gates) < gates:
            times.append(self.create_gate())
            if len(self.configs) < len(self.gates) // 5:
                self.create_config()
        return times

    def sample(self, names: list[str], path: str, body: Callable[[int], Any]) -> float:
        """The median time of PATCHing ``body(index)`` to randomly chosen entities."""
        chosen = [self.rng.randrange(len(names)) for _ in range(SAMPLES)]
        return statistics.median(
            self.console.timed("PATCH", f"{path}/{names[i]}", body(i)) for i in chosen
        )


def _measure(grower: Grower, gates: int, echo: Echo) -> Point:
    start = time.perf_counter()
    gate_times = grower.grow_to(gates)
    grown = time.perf_counter() - start
    point = Point(gates=gates, entities=grower.entities)
    config_times = [grower.create_config() for _ in range(SAMPLES)]
    rng = grower.rng
    figures = point.figures
    figures["gate create, ms"] = statistics.median(gate_times[-CREATE_SAMPLES:]) * 1e3
    figures["gate create (mean), ms"] = statistics.mean(gate_times[-CREATE_SAMPLES:]) * 1e3
    figures["gate update, ms"] = (
        grower.sample(grower.gates, "/gates", lambda _: {"description": f"edit {rng.random()}"})
        * 1e3
    )
    figures["gate rule change, ms"] = (
        grower.sample(grower.gates, "/gates", lambda i: {"rules": grower.rules(gates=i)}) * 1e3
    )
    figures["config create, ms"] = statistics.median(config_times) * 1e3
    figures["config update, ms"] = (
        grower.sample(
            grower.configs,
            "/dynamic_configs",
            lambda _: {"description": f"edit {rng.random()}"},
        )
        * 1e3
    )
    figures["config rule change, ms"] = (
        grower.sample(
            grower.configs, "/dynamic_configs", lambda _: {"rules": grower.rules(config=True)}
        )
        * 1e3
    )
    figures["growing to this size, s"] = grown
    figures["process RSS, MB"] = rss_mb()
    echo(
        f"  {gates:,} gates ({point.entities:,} entities) in {grown:.1f} s: "
        f"gate create {figures['gate create, ms']:.2f} ms"
    )
    return point


def report(points: list[Point], engine: str, gates_total: float, echo: Echo) -> None:
    sizes = [f"{p.gates:,}" for p in points]
    ratios = [f"{s}/{sizes[0]}" for s in sizes[1:]]
    width = max(12, *(len(h) + 2 for h in ratios))
    echo(f"large project on {engine}: one project grown through the Console API")
    header = f"{'':28s}" + "".join(f"{s:>12s}" for s in sizes)
    echo(header + "".join(f"{r:>{width}s}" for r in ratios))
    echo(f"{'entities':28s}" + "".join(f"{p.entities:>12,}" for p in points))
    for name in points[0].figures:
        values = [p.figures[name] for p in points]
        cells = "".join(f"{v:>12.2f}" for v in values)
        shown = "".join(f"{v / values[0]:>{width}.2f}" for v in values[1:]) if values[0] else ""
        if name.startswith("growing"):
            shown = ""  # each step grows by a different number of entities
        echo(f"{name:28s}{cells}{shown}")
    echo(f"all {points[-1].gates:,} gates created in {gates_total:.1f} s (with the rest)")


@contextmanager
def _console(database: Database, data_dir: Path) -> Iterator[Console]:
    settings = Settings(
        database_url=str(database.engine.url.render_as_string(hide_password=False)),
        data_dir=data_dir,
        rate_limit_per_10s=0,
        rate_limit_per_15min=0,
        run_migrations_on_start=False,
    )
    with database.transaction() as session:
        created = bootstrap(session, int(time.time() * 1000))
    assert created is not None
    app = create_app(settings, database=database)
    with start_blocking_portal() as portal:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b")
        try:
            yield Console(portal, client, created.console_key)
        finally:
            portal.call(client.aclose)


def _warm_up(console: Console) -> None:
    """First requests pay for imports, caches and query plans; they are not the project's."""
    for n in range(WARM_UP):
        console.call("POST", "/gates", {"name": f"warm up {n}"})
        console.call("DELETE", f"/gates/warm_up_{n}")


def run_on(database: Database, data_dir: Path, engine: str, sizes: list[int], echo: Echo) -> None:
    with _console(database, data_dir) as console:
        _warm_up(console)
        grower = Grower(console)
        points = []
        start = time.perf_counter()
        for size in sizes:
            points.append(_measure(grower, size, echo))
        report(points, engine, time.perf_counter() - start, echo)


def sizes_from_env() -> list[int]:
    raw = os.environ.get(SIZES_ENV)
    if not raw:
        return list(SIZES)
    return sorted({int(part.replace("_", "")) for part in raw.split(",") if part.strip()})


def run(
    sizes: list[int] | None = None,
    *,
    engines: str | None = None,
    postgres_url: str | None = None,
    echo: Echo = _print,
) -> None:
    """Grow a project on each engine (``sqlite``, ``postgresql`` or ``both``) and print the
    figures; an unreachable PostgreSQL server is skipped with a notice."""
    sizes = sizes or sizes_from_env()
    engines = engines or os.environ.get(DB_ENV) or "both"
    if engines in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            database = Database(Settings(data_dir=Path(tmp)))
            upgrade(database.engine)
            try:
                run_on(database, Path(tmp), "SQLite", sizes, echo)
            finally:
                database.dispose()
    if engines in ("postgresql", "both"):
        admin = _postgres_admin_url(postgres_url or os.environ.get(PG_URL_ENV) or PG_URL)
        if admin is None:
            echo("PostgreSQL: no server answers at LOCKGATE_BENCH_PG_URL; skipped")
            return
        with (
            tempfile.TemporaryDirectory() as tmp,
            throwaway_postgresql(admin, Path(tmp)) as database,
        ):
            run_on(database, Path(tmp), "PostgreSQL", sizes, echo)


def main() -> None:
    run()


if __name__ == "__main__":
    main()
