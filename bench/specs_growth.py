"""download_config_specs as a project grows: the first download after a one-gate change
against a cached download of the same payload, at 100, 1,000 and 10,000 gates
(docs/compiling.md §Incremental compile).

The project grows by direct service calls on a throwaway SQLite database (gates and dynamic
configs copied from one created through the gate service, so each has its own ids, salts and
rules); downloads go through the app in process (``httpx.ASGITransport``), gzip accepted, as an
SDK asks. ``full compile`` is the same download from a cold cache: what every change cost
before the compile became incremental. The protobuf polls after a one-gate change are measured
on the process that streamed the SDK's document and on another one (a second app on the same
database, as another worker, machine or a restarted process is), which finds the document in
``proto_documents``.

Run alone: ``python -m bench.specs_growth [sizes...]``.
"""

from __future__ import annotations

import copy
import gzip
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from anyio.from_thread import start_blocking_portal
from sqlalchemy import func, select

from lockgate.app import create_app
from lockgate.domains.configs import service as configs
from lockgate.domains.configs.schemas import ConfigCreate
from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import DYNAMIC_CONFIG, GATE
from lockgate.domains.gates import service as gates
from lockgate.domains.gates.schemas import GateCreate, GatePartialUpdate
from lockgate.domains.projects.service import SYSTEM_ACTOR, bootstrap
from lockgate.domains.specs.cache import SpecCache
from lockgate.kit.actor import Change
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.migrations import upgrade
from lockgate.storage.models import ProtoDocument

SIZES = (100, 1_000, 10_000)
ROUNDS = 15
RULES = [
    {
        "name": "beta",
        "passPercentage": 50,
        "conditions": [{"type": "user_id", "operator": "any", "targetValue": ["a", "b", "c"]}],
    },
    {
        "name": "staff",
        "passPercentage": 10,
        "conditions": [
            {"type": "email", "operator": "str_contains_any", "targetValue": ["@acme.com"]}
        ],
    },
]


class Grower:
    """Adds gates (and a dynamic config for every fifth gate) to one project."""

    def __init__(self, database: Database, project_id: str, now_ms: int) -> None:
        self.database = database
        self.project_id = project_id
        self.now_ms = now_ms
        self.gates = 0
        with database.transaction() as session:
            gates.create(
                session, self.change(), GateCreate.model_validate({"name": "template gate"})
            )
            body = {"name": "template config", "defaultValue": {"v": 0}}
            configs.create(session, self.change(), ConfigCreate.model_validate(body))
            config = entities.load(session, DYNAMIC_CONFIG, project_id, "template_config")
            self.config = copy.deepcopy(config.document)
        self.edit(gate_id="template_gate", rules=RULES)
        with database.transaction(write=False) as session:
            found = entities.load(session, GATE, project_id, "template_gate")
            self.gate = copy.deepcopy(found.document)

    def change(self) -> Change:
        self.now_ms += 1
        return Change(self.project_id, SYSTEM_ACTOR, self.now_ms)

    def _copy(self, template: dict[str, Any], entity_id: str, n: int) -> dict[str, Any]:
        document = copy.deepcopy(template)
        document["id"] = document["name"] = entity_id
        document["salt"] = f"salt-{entity_id}"
        for rule in document.get("rules") or []:
            rule["id"] = rule["baseID"] = f"{rule['baseID'][:12]}{n:010d}"
            rule["salt"] = f"{rule['salt'][:12]}{n:010d}"
        return document

    def grow_to(self, count: int) -> None:
        while self.gates < count:
            with self.database.transaction() as session:
                for _ in range(min(1_000, count - self.gates)):
                    n = self.gates
                    document = self._copy(self.gate, f"gate_{n}", n)
                    entities.insert(
                        session, GATE, self.change(), document, action="gate_create", change_log=""
                    )
                    if n % 5 == 0:
                        document = self._copy(self.config, f"config_{n}", n)
                        entities.insert(
                            session,
                            DYNAMIC_CONFIG,
                            self.change(),
                            document,
                            action="dynamic_config_create",
                            change_log="",
                        )
                    self.gates += 1

    def edit(self, *, gate_id: str | None = None, rules: Any = None) -> None:
        """One gate change: a new description (or ``rules``) on one gate."""
        body: dict[str, Any] = {"description": f"edit {self.now_ms}"}
        if rules is not None:
            body["rules"] = rules
        with self.database.transaction() as session:
            gates.patch(
                session,
                self.change(),
                gate_id or f"gate_{self.now_ms % max(self.gates, 1)}",
                GatePartialUpdate.model_validate(body),
            )


def _kept_bytes(database: Database, checksum: str) -> int:
    """The size of a document's row in ``proto_documents``: its packed entry checksums."""
    with database.transaction(write=False) as session:
        found = session.scalar(
            select(func.length(ProtoDocument.entries)).where(ProtoDocument.checksum == checksum)
        )
    assert found is not None
    return int(found)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.1f} ms"


def run(sizes: tuple[int, ...] = SIZES) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), rate_limit_per_10s=0, rate_limit_per_15min=0)
        database = Database(settings)
        upgrade(database.engine)
        with database.transaction() as session:
            created = bootstrap(session, int(time.time() * 1000))
        assert created is not None
        app = create_app(settings, database=database)
        other = create_app(settings, database=database)  # another process: its own caches
        grower = Grower(database, created.project.id, int(time.time() * 1000))
        url = f"/v2/download_config_specs/{created.server_key}.json"
        rows = []
        polls: list[tuple[int, int, int, int, int, int]] = []
        cross: list[tuple[int, float, float, int]] = []
        with start_blocking_portal() as portal:
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench"
            )
            other_client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=other), base_url="http://bench"
            )

            async def download() -> httpx.Response:
                return await client.get(url, headers={"accept-encoding": "gzip"})

            def raw(query: str, via: httpx.AsyncClient = client) -> bytes:
                """The body as sent (gzip or protobuf stream), without decoding."""

                async def fetch() -> bytes:
                    async with via.stream(
                        "GET", f"{url}?{query}", headers={"accept-encoding": "gzip"}
                    ) as response:
                        assert response.status_code == 200
                        return b"".join([chunk async for chunk in response.aiter_raw()])

                return portal.call(fetch)

            def timed(call: Callable[[], httpx.Response]) -> tuple[float, float, httpx.Response]:
                """Wall and CPU seconds of one download, the body decoded as an SDK does. The
                server and the client both run in this process, so its CPU time is the whole
                download's work, which the neighbours on a shared machine do not inflate."""
                start, start_cpu = time.perf_counter(), time.process_time()
                response = call()
                elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
                assert response.status_code == 200, response.text
                return elapsed, cpu, response

            def dcs() -> httpx.Response:
                return portal.call(download)

            for size in sizes:
                grower.grow_to(size)
                dcs()
                cached_runs = [timed(dcs) for _ in range(ROUNDS)]
                cached = statistics.median(run[0] for run in cached_runs)
                cached_cpu = statistics.median(run[1] for run in cached_runs)
                size_json = len(cached_runs[0][2].content)
                first_runs = []
                for _ in range(ROUNDS):
                    grower.edit()
                    first_runs.append(timed(dcs))
                first = statistics.median(run[0] for run in first_runs)
                first_cpu = statistics.median(run[1] for run in first_runs)
                fulls = []
                for _ in range(3):
                    app.state.spec_cache = SpecCache(database, settings.sdk_cache_ttl_ms)
                    # the lean path answers from the cache it was given: a cold one too
                    assert app.sdk_fast_path is not None
                    app.sdk_fast_path.specs = app.state.spec_cache
                    fulls.append(timed(dcs)[0])
                full = statistics.median(fulls)
                # Polls after a one-gate change by an SDK holding the previous document.
                gz = raw("")
                held = json.loads(gzip.decompress(gz))["checksum"]
                stream = raw("supports_proto=true")
                grower.edit()
                since = f"supports_proto=true&checksum={held}"
                raw("")  # the change compiled and encoded here, as below on the other process
                # CPU time of this process (the server's work and the client's, both here):
                # on a shared machine, wall time measures the neighbours too.
                start = time.process_time()
                kept = raw(since)
                delta = raw(since + "&accept_deltas=true")
                same_ms = (time.process_time() - start) * 1e3
                # The same polls reaching another process, once it has compiled the change.
                raw("", via=other_client)
                start = time.process_time()
                other_kept = raw(since, via=other_client)
                other_delta = raw(since + "&accept_deltas=true", via=other_client)
                other_ms = (time.process_time() - start) * 1e3
                assert len(other_kept) == len(kept)
                polls.append((size, len(gz), len(stream), len(kept), len(delta), len(other_delta)))
                cross.append((size, same_ms, other_ms, _kept_bytes(database, held)))
                rows.append((size, cached, first, full, size_json, cached_cpu, first_cpu))
            portal.call(client.aclose)
            portal.call(other_client.aclose)
        database.dispose()
    print("download_config_specs v2 as a project grows (gates; a dynamic config per 5 gates)")
    print("wall time, then CPU time (server and client, both in this process; the target is")
    print("the first download after a change within 3x of a cached one)")
    print(
        f"{'gates':>7} {'cached DCS':>11} {'first after change':>19} {'ratio':>6}"
        f" {'full compile':>13} {'payload':>9}"
    )
    for size, cached, first, full, payload, _, _ in rows:
        print(
            f"{size:7,d} {_ms(cached):>11} {_ms(first):>19} {first / cached:5.1f}x"
            f" {_ms(full):>13} {payload / 1024:7.0f} KB JSON  first/full {first / full:4.2f}"
        )
    print(f"{'gates':>7} {'cached, CPU':>11} {'first, CPU':>19} {'ratio':>6}")
    for size, _, _, _, _, cached_cpu, first_cpu in rows:
        print(
            f"{size:7,d} {_ms(cached_cpu):>11} {_ms(first_cpu):>19} {first_cpu / cached_cpu:5.1f}x"
        )
    print()
    print("bytes of a poll after a one-gate change (statsig-python-core, protobuf specs)")
    print(
        f"{'gates':>7} {'JSON gzip':>10} {'protobuf, all':>14} {'held as checksums':>18}"
        f" {'accept_deltas':>14} {'deltas, other process':>22}"
    )
    for size, gz_bytes, stream_bytes, kept_bytes, delta_bytes, other_bytes in polls:
        print(
            f"{size:7,d} {gz_bytes:10,d} {stream_bytes:14,d} {kept_bytes:18,d}"
            f" {delta_bytes:14,d} {other_bytes:22,d}"
            f"  ({gz_bytes / other_bytes:,.0f}x smaller than JSON gzip)"
        )
    print()
    print("CPU time of both polls (held, deltas) after the change: on the process that")
    print("streamed the SDK's document, and on another that reads it from proto_documents")
    print(f"{'gates':>7} {'same process':>13} {'other process':>14} {'document kept':>14}")
    for size, same_ms, other_ms, kept_size in cross:
        print(f"{size:7,d} {same_ms:10.1f} ms {other_ms:11.1f} ms {kept_size / 1024:11.0f} KB")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bench process peak RSS: {rss_mb:.0f} MB")


if __name__ == "__main__":
    run(tuple(int(arg) for arg in sys.argv[1:]) or SIZES)
