"""SDK-path benchmarks: evaluator speed against the official SDKs, initialize latency,
download_config_specs and rgstr throughput, all on one throwaway SQLite project."""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from bench import compiled, initialize, serving
from lockgate.cores.evaluation.evaluator import Evaluator
from lockgate.cores.evaluation.user import StatsigUser
from tests.compat import generators
from tests.compat.live import free_port
from tests.compat.sdks import core_sdk, core_user, legacy_sdk, legacy_user

GATES, CONFIGS, SEGMENTS = 100, 50, 20


def _build(client: httpx.Client, rng: random.Random) -> tuple[list[str], list[str]]:
    world = generators.World()
    # The generated rules name the custom unit id type companyID, which a project defines first.
    client.post("/console/v1/unit_id_types", json={"name": "companyID"}).raise_for_status()
    for i in range(SEGMENTS):
        body: dict[str, Any] = {
            "name": f"segment {i}",
            "type": "rule_based",
            "rules": generators.rules(rng, world, in_segment=True),
        }
        world.segments.append(client.post("/console/v1/segments", json=body).json()["data"]["id"])
    gates = []
    for i in range(GATES):
        body = {"name": f"gate {i}", "rules": generators.rules(rng, world)}
        gate = client.post("/console/v1/gates", json=body).json()["data"]["id"]
        gates.append(gate)
        world.gates.append(gate)
    configs = []
    for i in range(CONFIGS):
        body = {
            "name": f"config {i}",
            "defaultValue": {"v": 0},
            "rules": generators.rules(rng, world, values=True),
        }
        configs.append(client.post("/console/v1/dynamic_configs", json=body).json()["data"]["id"])
    return gates, configs


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:12,.0f}/s"


def _timed(call: Callable[[], Any], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


START_SECONDS = 300


def _serve(data_dir: str, **settings: str) -> tuple[subprocess.Popen[str], str, dict[str, str]]:
    """``lockgate serve`` in its own process, so the client never competes for its GIL;
    ``settings`` are more LOCKGATE_ variables, named without the prefix."""
    port = free_port()
    env = {
        **os.environ,
        "LOCKGATE_DATA_DIR": data_dir,
        "LOCKGATE_RATE_LIMIT_PER_10S": "0",
        "LOCKGATE_RATE_LIMIT_PER_15MIN": "0",
        "LOCKGATE_LOG_LEVEL": "warning",
        **{f"LOCKGATE_{name.upper()}": value for name, value in settings.items()},
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "lockgate.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    keys: dict[str, str] = {}
    base = f"http://127.0.0.1:{port}"
    # Long: on a machine busy with other work, migrating and bootstrapping took over a minute.
    deadline = time.monotonic() + START_SECONDS
    while len(keys) < 3 and time.monotonic() < deadline:
        line = process.stdout.readline()
        match = re.match(r"\s+(console API key|server secret|client key):\s+(\S+)", line)
        if match:
            keys[match.group(1)] = match.group(2)
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                return process, base, keys
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("lockgate serve did not start")


@dataclass(frozen=True)
class ServedProject:
    """A running ``lockgate serve`` holding the bench project: its process, address and keys
    (``console API key``, ``server secret``, ``client key``), and the ids of its gates and
    dynamic configs."""

    process: subprocess.Popen[str]
    base: str
    keys: dict[str, str]
    gates: list[str]
    configs: list[str]


@contextmanager
def served_project(rng: random.Random, **settings: str) -> Iterator[ServedProject]:
    """A server on a fresh data directory with the bench project built through its Console
    API from ``rng`` (which the caller may go on drawing from), stopped on leaving;
    ``settings`` as for ``_serve``."""
    with tempfile.TemporaryDirectory() as tmp:
        process, base, keys = _serve(tmp, **settings)
        try:
            headers = {"STATSIG-API-KEY": keys["console API key"]}
            with httpx.Client(base_url=base, headers=headers) as console:
                gates, configs = _build(console, rng)
            yield ServedProject(process, base, keys, gates, configs)
        finally:
            _stop(process)


def run() -> None:
    rng = random.Random(7)
    with served_project(rng) as served:
        base, keys = served.base, served.keys
        users = [generators.user(rng, i) for i in range(300)]
        _evaluators(base, keys, served.gates, users)
        spec = httpx.get(f"{base}/v2/download_config_specs/{keys['server secret']}.json")
        initialize.run(spec.json(), users)
        compiled.run(spec.json(), served.gates)
        _initialize(base, keys, users)
        _download(base, keys)
        serving.run(base, keys, users[0], served.process.pid)
    rgstr()
    _rgstr_durability()
    rgstr_move_deferral()


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(timeout=30)
    if process.stdout is not None:
        process.stdout.close()


def _evaluators(base: str, keys: dict[str, str], gates: list[str], users: list[Any]) -> None:
    server_key = keys["server secret"]
    spec = httpx.get(f"{base}/v2/download_config_specs/{server_key}.json").json()
    evaluator = Evaluator(spec)
    checks = len(gates) * len(users)
    # Users built in advance, as the SDKs' own users are below: like for like.
    built = [StatsigUser.from_wire(u) for u in users]
    start = time.perf_counter()
    for statsig_user in built:
        for gate in gates:
            evaluator.check_gate(statsig_user, gate)
    ours = time.perf_counter() - start
    # The same checks handed the wire dict, built into a StatsigUser by every call.
    start = time.perf_counter()
    for user in users:
        for gate in gates:
            evaluator.check_gate(user, gate)
    ours_wire = time.perf_counter() - start
    with core_sdk(base, server_key) as core, legacy_sdk(base, server_key) as legacy:
        core_users = [core_user(u) for u in users]
        legacy_users = [legacy_user(u) for u in users]
        start = time.perf_counter()
        for user in core_users:
            for gate in gates:
                core.check_gate(user, gate)
        core_time = time.perf_counter() - start
        start = time.perf_counter()
        for user in legacy_users:
            for gate in gates:
                legacy.check_gate(user, gate)
        legacy_time = time.perf_counter() - start
    print(f"check_gate evaluations ({len(gates)} gates x {len(users)} users, same spec):")
    print(f"  lockgate evaluator   {_rate(checks, ours)}  ({ours / checks * 1e6:.2f} us a check)")
    print(
        f"  lockgate, wire users {_rate(checks, ours_wire)}  ({ours_wire / checks * 1e6:.2f} us a"
        " check, the user built from its wire dict each time)"
    )
    legacy_ratio, core_ratio = legacy_time / ours, core_time / ours
    print(f"  statsig (legacy)     {_rate(checks, legacy_time)}  lockgate is {legacy_ratio:.2f}x")
    print(
        f"  statsig-python-core  {_rate(checks, core_time)}  lockgate is {core_ratio:.2f}x"
        f"  (target: lockgate's time a check within 2x of core's, i.e. >= 0.50x)"
    )


def _initialize(base: str, keys: dict[str, str], users: list[Any]) -> None:
    client = httpx.Client(base_url=base)
    url = f"/v1/initialize?k={keys['client key']}"
    bodies = [json.dumps({"user": u, "hash": "djb2"}) for u in users]
    client.post(url, content=bodies[0])
    index = iter(range(10**9))
    samples = _timed(lambda: client.post(url, content=bodies[next(index) % len(bodies)]), 600)
    total = sum(samples)
    p99 = _percentile(samples, 0.99) * 1e3
    print(f"/v1/initialize ({GATES} gates, {CONFIGS} configs, {SEGMENTS} segments, one client):")
    print(
        f"  {_rate(len(samples), total)}  p50 {statistics.median(samples) * 1e3:.2f} ms"
        f"  p99 {p99:.2f} ms = {p99 / serving.INITIALIZE_P99_TARGET_MS:.2f}x the target"
        f" ({serving.INITIALIZE_P99_TARGET_MS:.0f} ms)"
    )
    client.close()


def _download(base: str, keys: dict[str, str]) -> None:
    client = httpx.Client(base_url=base)
    url = f"/v2/download_config_specs/{keys['server secret']}.json"
    first = client.get(url).json()
    full = _timed(lambda: client.get(url), 300)
    fresh = _timed(lambda: client.get(url, params={"sinceTime": first["time"]}), 1000)
    print("download_config_specs v2:")
    print(f"  full payload         {_rate(len(full), sum(full))}")
    print(f"  has_updates: false   {_rate(len(fresh), sum(fresh))}")
    client.close()


RGSTR_BATCH = 500
RGSTR_BATCHES = 480
RGSTR_CLIENTS = 8


def _rgstr_bodies(count: int, rng: random.Random) -> list[bytes]:
    """Gzipped batches as a server SDK sends them: a third exposures, the rest custom events,
    users drawn from a population of 100,000, times increasing."""
    bodies = []
    for batch in range(count):
        events = []
        for i in range(RGSTR_BATCH):
            user = rng.randrange(100_000)
            event: dict[str, Any] = {
                "eventName": "statsig::gate_exposure" if i % 3 == 0 else "purchase",
                "user": {"userID": f"u{user}", "customIDs": {"stableID": f"s{user}"}},
                "time": 1_780_000_000_000 + batch * 1_000 + i,
            }
            if i % 3 == 0:
                event["metadata"] = {"gate": "gate_1", "gateValue": "true", "ruleID": "r"}
            else:
                event["value"] = rng.randrange(100)
                event["metadata"] = {"sku": f"sku{rng.randrange(50)}"}
            events.append(event)
        payload = {"events": events, "statsigMetadata": {"sdkType": "bench"}}
        bodies.append(gzip.compress(json.dumps(payload).encode()))
    return bodies


def _post_all(base: str, headers: dict[str, str], bodies: list[bytes]) -> None:
    # A long timeout: on a busy machine a 5 s default would end a client's thread early and
    # leave a rate over fewer events than counted.
    with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
        for body in bodies:
            response = client.post("/v1/rgstr", content=body)
            assert response.status_code == 202, response.text


def rgstr() -> None:
    """rgstr throughput with the default serving configuration: one SDK flushing batches one
    after another, then RGSTR_CLIENTS SDK instances flushing at once (as a fleet of servers
    does), each phase on a fresh server; then how long the next Console read takes to move
    what is still incoming into the indexed tables."""
    settled: list[float] = []

    def settle(base: str, keys: dict[str, str]) -> None:
        start = time.perf_counter()
        console = {"STATSIG-API-KEY": keys["console API key"]}
        read = httpx.get(f"{base}/console/v1/events", headers=console, timeout=300)
        assert read.status_code == 200, read.text
        settled.append(time.perf_counter() - start)

    one, many = serving.rgstr_pair(None, RGSTR_BATCHES, seed=11, after=settle)
    print(
        f"rgstr ({RGSTR_BATCH}-event batches, gzip, stored and committed before each 202; "
        f"default configuration, each phase on a fresh server; load average {serving._load()}):"
    )
    print(serving.rgstr_line("1 client", one))
    print(
        serving.rgstr_line(
            f"{RGSTR_CLIENTS} clients at once",
            many,
            f"  ({many['rate'] / one['rate']:.2f}x of 1 client; target >= 50,000/s on SQLite)",
        )
    )
    print(f"  then the next Console read moved what was still incoming in {settled[0]:.2f} s")


DURABILITY_BATCHES = 160


def _rgstr_durability() -> None:
    """What syncing every commit (``LOCKGATE_SQLITE_SYNCHRONOUS=full``, the default) costs
    rgstr against ``normal`` (the earlier default, which may lose the last commits on a power
    loss): the same batches to a fresh server of each phase, in this one run, as a ratio."""
    rates = {
        mode: serving.rgstr_pair(None, DURABILITY_BATCHES, seed=13, sqlite_synchronous=mode)
        for mode in ("normal", "full")
    }
    print(f"rgstr durability (SQLite synchronous, {DURABILITY_BATCHES} batches per phase):")
    for index, label in enumerate(("1 client", f"{RGSTR_CLIENTS} clients at once")):
        normal, full = rates["normal"][index]["rate"], rates["full"][index]["rate"]
        print(
            f"  {label:20s} normal {normal:10,.0f}/s  full {full:10,.0f}/s events"
            f"  (full at {full / normal:.2f}x of normal)"
        )


def rgstr_move_deferral() -> None:
    """What the background move's waiting while batches arrive buys (the default
    ``LOCKGATE_INCOMING_MOVE_DEFER_MS``) against moving every second regardless (``0``, the
    baseline): the same batches to a fresh server of each phase, in this one run, as a ratio;
    and how long the Console read after the phases took to move what was left."""
    settled: dict[str, float] = {}

    def settle(mode: str) -> Callable[[str, dict[str, str]], None]:
        def read(base: str, keys: dict[str, str]) -> None:
            start = time.perf_counter()
            console = {"STATSIG-API-KEY": keys["console API key"]}
            answer = httpx.get(f"{base}/console/v1/events", headers=console, timeout=300)
            assert answer.status_code == 200, answer.text
            settled[mode] = time.perf_counter() - start

        return read

    rates = {
        mode: serving.rgstr_pair(
            None, DURABILITY_BATCHES, seed=19, after=settle(mode), incoming_move_defer_ms=value
        )
        for mode, value in (("every second", "0"), ("deferred", "10000"))
    }
    print(
        f"rgstr move deferral ({DURABILITY_BATCHES} batches per phase, default configuration but"
        f" LOCKGATE_INCOMING_MOVE_DEFER_MS; load average {serving._load()}):"
    )
    for index, label in enumerate(("1 client", f"{RGSTR_CLIENTS} clients at once")):
        base, ours = rates["every second"][index], rates["deferred"][index]
        print(
            f"  {label:20s} moving every second {base['rate']:10,.0f}/s"
            f" ({base['cpu_us']:.1f} us/event)"
            f"  deferred {ours['rate']:10,.0f}/s ({ours['cpu_us']:.1f} us/event)"
            f"  ({ours['rate'] / base['rate']:.2f}x)"
        )
    print(
        f"  the Console read after {RGSTR_CLIENTS} clients moved what was left in"
        f" {settled['every second']:.2f} s (moving every second) and"
        f" {settled['deferred']:.2f} s (deferred)"
    )
