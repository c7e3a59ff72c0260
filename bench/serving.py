"""SDK serving speed under load, side by side in one run: wrk against Lockgate and against nginx
serving the very same bytes from files, and statsig-python-core's in-process
``get_client_initialize_response`` for the same user; then scale-out: one worker process
against two (``lockgate serve --workers``), on SQLite and on PostgreSQL, for downloads,
initialize and rgstr.

wrk and nginx are installed with apt-get when missing and the bench runs as root; otherwise
the bench says how to install them and skips this part.

    python -m bench.serving     # these figures alone, with the default serving configuration
                                # (granian), and granian against uvicorn side by side
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

from bench import sdk
from lockgate.kit.settings import Settings
from tests.compat import generators
from tests.compat.live import free_port
from tests.compat.sdks import core_sdk, core_user

SECONDS = 5
# Scale-out: both configurations serve at once and wrk alternates between them, after a
# warm-up of each, so that the machine's other load falls on both alike; the median round counts.
SCALE_ROUNDS = 3
WARMUP_SECONDS = 1
THREADS, CONNECTIONS = 2, 32
PACKAGES = ("wrk", "nginx-light")
PG_URL_ENV = "LOCKGATE_BENCH_PG_URL"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# Initialize for many users, each request another one (never an answer reused), beside one user
# asking again and again (answers reused: docs/sdk.md §Answers reused).
DISTINCT_USERS = 20_000
CORE_USERS = 2_000
SCALE_RGSTR_BATCHES = 160  # per configuration: half from one client, half from eight
# Scale-out's initialize for distinct users: each request another user, so no answer is reused.
SCALE_USERS = 5_000
INITIALIZE_P99_TARGET_MS = 10.0


def ensure_tools() -> bool:
    """Whether wrk and nginx are there, installing them (apt-get, as root) when they are not."""
    if shutil.which("wrk") and _nginx():
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"installing {' '.join(PACKAGES)} with apt-get ...")
        subprocess.run(["apt-get", "install", "-y", "-q", *PACKAGES], check=False, timeout=600)
        if not (shutil.which("wrk") and _nginx()):
            subprocess.run(["apt-get", "update", "-q"], check=False, timeout=600)
            subprocess.run(["apt-get", "install", "-y", "-q", *PACKAGES], check=False, timeout=600)
    if shutil.which("wrk") and _nginx():
        return True
    print(
        "serving benchmark skipped: it needs wrk and nginx on the PATH "
        f"(as root: apt-get install {' '.join(PACKAGES)}; on macOS: brew install wrk nginx)"
    )
    return False


def _nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


# wrk posting one body of many, each thread walking the list from its own place: one line of
# the file named by BODIES is one request body.
_MANY_BODIES_LUA = """
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("start", counter)
end
function init(args)
  bodies = {}
  for line in io.lines(os.getenv("BODIES")) do bodies[#bodies + 1] = line end
  index = (start - 1) * math.floor(#bodies / 2)
end
function request()
  index = index % #bodies + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, bodies[index])
end
"""


def _cpu_seconds(pid: int) -> float:
    """CPU time (user and system) process ``pid`` and its children have used so far: a
    ``lockgate serve`` and its workers (Linux's /proc; 0 elsewhere)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _wrk(
    url: str,
    *,
    headers: dict[str, str] | None = None,
    post: bytes | None = None,
    bodies: list[bytes] | None = None,
    server_pid: int | None = None,
    seconds: int = SECONDS,
) -> dict[str, float]:
    """Requests per second and p50 and p99 latency (ms) of wrk on ``url``; ``post`` is one
    body posted again and again, ``bodies`` many posted in turn. Also the cores wrk used
    (``wrk_cores``) and, given the server's process, the cores it and its workers used
    (``server_cores``), each its CPU time over the run's wall time."""
    args = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        if post is not None:
            script.write_text(
                f'wrk.method = "POST"\nwrk.body = {json.dumps(post.decode())}\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
            )
            args += ["-s", str(script)]
        elif bodies is not None:
            lines = Path(tmp) / "bodies.txt"
            lines.write_bytes(b"\n".join(bodies) + b"\n")
            env["BODIES"] = str(lines)
            script.write_text(_MANY_BODIES_LUA)
            args += ["-s", str(script)]
        server_before = _cpu_seconds(server_pid) if server_pid else 0.0
        wrk_before, start = _children_cpu(), time.perf_counter()
        out = subprocess.run(
            [*args, url], capture_output=True, text=True, check=True, env=env
        ).stdout
        wall = time.perf_counter() - start
        wrk_cores = (_children_cpu() - wrk_before) / wall
        server_cores = (_cpu_seconds(server_pid) - server_before) / wall if server_pid else 0.0
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert errors is None, out
    return {
        "rate": rate,
        "p50": _latency(out, "50"),
        "p99": _latency(out, "99"),
        "wrk_cores": wrk_cores,
        "server_cores": server_cores,
        # Server CPU per request (microseconds): what the rate would be per core it gets.
        "cpu_us": server_cores / rate * 1e6 if rate else 0.0,
        "load": os.getloadavg()[0],
    }


def _latency(out: str, percent: str) -> float:
    """One percentile of wrk's latency distribution, in ms."""
    found = re.search(percent + r"%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    return float(found.group(1)) * scale[found.group(2)] if found else 0.0


def _nginx_serving(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    conf = directory / "nginx.conf"
    conf.write_text(
        f"""daemon off; worker_processes auto; pid {directory}/nginx.pid;
error_log {directory}/error.log; events {{ worker_connections 1024; }}
http {{ access_log off; default_type application/json;
  client_body_temp_path {directory}; proxy_temp_path {directory};
  fastcgi_temp_path {directory}; uwsgi_temp_path {directory}; scgi_temp_path {directory};
  server {{ listen 127.0.0.1:{port}; root {directory};
    location = /dcs.json.gz {{ add_header Content-Encoding gzip; }} }} }}
"""
    )
    process = subprocess.Popen([str(_nginx()), "-c", str(conf), "-p", str(directory)])
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/noupd.json")
            return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("nginx did not start")


def _core_rate(base: str, server_key: str, users: list[dict[str, Any]]) -> float:
    """statsig-python-core's get_client_initialize_response per second, in process, for
    ``users`` in turn."""
    with core_sdk(base, server_key) as core:
        wired = [core_user(user) for user in users[:CORE_USERS]]
        for each in wired[:50]:
            core.get_client_initialize_response(each)
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < 2:
            core.get_client_initialize_response(wired[count % len(wired)])
            count += 1
        return count / (time.perf_counter() - start)


def run(
    base: str, keys: dict[str, str], user: dict[str, Any], server_pid: int | None = None
) -> None:
    """Lockgate at ``base`` (served by process ``server_pid``, whose CPU time is then counted)
    against nginx and statsig-python-core, one path at a time."""
    if not ensure_tools():
        return
    server_key, client_key = keys["server secret"], keys["client key"]
    dcs = f"{base}/v2/download_config_specs/{server_key}.json"
    init = f"{base}/v1/initialize?k={client_key}"
    init_body = json.dumps({"user": user, "hash": "djb2"}).encode()
    rng = random.Random(23)
    users = [generators.user(rng, index) for index in range(DISTINCT_USERS)]
    init_bodies = [json.dumps({"user": each, "hash": "djb2"}).encode() for each in users]
    with httpx.Client() as client, tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        with client.stream("GET", dcs, headers={"Accept-Encoding": "gzip"}) as response:
            gzipped = b"".join(response.iter_raw())
        since = client.get(dcs).json()["time"]
        (directory / "dcs.json.gz").write_bytes(gzipped)
        (directory / "noupd.json").write_bytes(client.get(dcs, params={"sinceTime": since}).content)
        (directory / "init.json").write_bytes(client.post(init, content=init_body).content)
        nginx, static = _nginx_serving(directory)
        try:
            gzip_header = {"Accept-Encoding": "gzip"}
            _warm(dcs, init, init_body, init_bodies)
            rows = [
                (
                    "download_config_specs v2, gzip",
                    _wrk(f"{static}/dcs.json.gz", headers=gzip_header),
                    _wrk(dcs, headers=gzip_header),
                ),
                (
                    "same, unchanged sinceTime",
                    _wrk(f"{static}/noupd.json"),
                    _wrk(f"{dcs}?sinceTime={since}"),
                ),
                (
                    "/v1/initialize, one user again",
                    _wrk(f"{static}/init.json"),
                    _wrk(init, post=init_body, server_pid=server_pid),
                ),
                (
                    f"/v1/initialize, {DISTINCT_USERS:,} users",
                    _wrk(f"{static}/init.json"),
                    _wrk(init, bodies=init_bodies, server_pid=server_pid),
                ),
            ]
        finally:
            nginx.terminate()
            nginx.wait(timeout=30)
    core = _core_rate(base, server_key, users)
    print(
        f"serving under load (wrk, {THREADS} threads, {CONNECTIONS} connections, {SECONDS} s each;"
        f" after a {WARMUP_SECONDS} s warm-up of each; lockgate serve's default configuration,"
        f" {Settings.model_fields['server'].default}, {len(os.sched_getaffinity(0))} workers;"
        f" load average {_load()}):"
    )
    print(f"  {'path':34s} {'nginx':>10s} {'lockgate':>10s}  share   lockgate p50 / p99 (ms)")
    for name, static_figures, ours in rows:
        share = ours["rate"] / static_figures["rate"]
        print(
            f"  {name:34s} {static_figures['rate']:8,.0f}/s {ours['rate']:8,.0f}/s"
            f"  {share:6.1%}  {ours['p50']:8.2f} / {ours['p99']:.2f}"
        )
    print(
        f"  statsig-python-core's in-process get_client_initialize_response, {CORE_USERS:,} "
        f"users in turn, one thread: {core:,.0f}/s (target: /v1/initialize >= 1.0x, p99 < 10 ms;"
        " DCS >= 30% of nginx)"
    )
    for name, _, ours in rows[2:]:
        print(
            f"  {name:34s} {ours['rate'] / core:5.2f}x core, p50 {ours['p50']:.2f} ms,"
            f" p99 {ours['p99']:.2f} ms = {ours['p99'] / INITIALIZE_P99_TARGET_MS:.2f}x the"
            f" {INITIALIZE_P99_TARGET_MS:.0f} ms target; server CPU {ours['cpu_us']:.0f} us"
            f" a request on {ours['server_cores']:.2f} cores"
        )


def _warm(dcs: str, init: str, init_body: bytes, init_bodies: list[bytes]) -> None:
    """Every path under wrk for WARMUP_SECONDS before any is timed: each worker builds its
    encodings and evaluator on its first requests and settles what they keep some requests
    later (``kit/memory.py`` ``Warmup``), once per revision; the rows time a warm server."""
    _wrk(dcs, headers={"Accept-Encoding": "gzip"}, seconds=WARMUP_SECONDS)
    _wrk(init, post=init_body, seconds=WARMUP_SECONDS)
    _wrk(init, bodies=init_bodies, seconds=WARMUP_SECONDS)


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


@contextmanager
def _postgresql_database() -> Iterator[str | None]:
    """A fresh database on the bench's PostgreSQL server, dropped afterwards; None when the
    server cannot be reached."""
    admin = make_url(os.environ.get(PG_URL_ENV, PG_URL))
    name = f"lockgate_bench_{uuid.uuid4().hex[:12]}"
    plain = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as problem:
        print(f"  PostgreSQL at {admin.render_as_string()} unreachable, skipped: {problem}")
        yield None
        return
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _figures(
    base: str, keys: dict[str, str], user: dict[str, Any], server_pid: int, seconds: int = SECONDS
) -> dict[str, dict[str, float]]:
    """DCS (gzip), initialize for one user and for SCALE_USERS distinct users, under wrk:
    requests per second and the cores used."""
    dcs = f"{base}/v2/download_config_specs/{keys['server secret']}.json"
    init = f"{base}/v1/initialize?k={keys['client key']}"
    init_body = json.dumps({"user": user, "hash": "djb2"}).encode()
    httpx.post(init, content=init_body).raise_for_status()
    rng = random.Random(29)
    bodies = [
        json.dumps({"user": generators.user(rng, index), "hash": "djb2"}).encode()
        for index in range(SCALE_USERS)
    ]
    return {
        "dcs": _wrk(
            dcs, headers={"Accept-Encoding": "gzip"}, server_pid=server_pid, seconds=seconds
        ),
        "init": _wrk(init, post=init_body, server_pid=server_pid, seconds=seconds),
        "users": _wrk(init, bodies=bodies, server_pid=server_pid, seconds=seconds),
    }


@contextmanager
def _project_server(
    url: str | None, workers: int
) -> Iterator[tuple[subprocess.Popen[str], str, dict[str, str], dict[str, Any]]]:
    """A server of ``workers`` workers on a fresh project of the SDK bench's size; its
    process, address, keys and a user."""
    settings = {"workers": str(workers)}
    if url is not None:
        settings["database_url"] = url
    rng = random.Random(7)
    with sdk.served_project(rng, **settings) as served:
        yield served.process, served.base, served.keys, generators.user(rng, 0)


SCALE_PATHS = ("dcs", "init", "users")


def _ceiling(one: dict[str, float], two: dict[str, float], cores: int) -> float:
    """The most two workers could give over one on this machine, from the cores left to the
    server beside wrk: one worker uses ``server_cores`` of a core; two can use at most two
    cores, and never those wrk took while they ran. Per-request CPU is assumed equal."""
    left = min(2.0, cores - two["wrk_cores"])
    return left / one["server_cores"] if one["server_cores"] else 0.0


def _side_by_side(
    url_one: str | None, url_two: str | None
) -> dict[int, dict[str, dict[str, float]]]:
    """DCS and initialize of one worker and of two, both servers up at once and wrk
    alternating between them for SCALE_ROUNDS rounds after a warm-up of each (every worker
    builds its caches and encodings on its first requests); per configuration and path, the
    round of median rate."""
    with _project_server(url_one, 1) as one, _project_server(url_two, 2) as two:
        servers = {1: one, 2: two}
        for process, base, keys, user in servers.values():
            _figures(base, keys, user, process.pid, seconds=WARMUP_SECONDS)
        rounds: dict[int, list[dict[str, dict[str, float]]]] = {1: [], 2: []}
        for _ in range(SCALE_ROUNDS):
            for workers, (process, base, keys, user) in servers.items():
                rounds[workers].append(_figures(base, keys, user, process.pid))
    return {
        workers: {
            path: sorted((each[path] for each in taken), key=lambda f: f["rate"])[len(taken) // 2]
            for path in SCALE_PATHS
        }
        for workers, taken in rounds.items()
    }


def _rgstr_rate(
    base: str, keys: dict[str, str], bodies: list[bytes], clients: int, server_pid: int
) -> dict[str, float]:
    """Events per second stored and committed before each 202, ``clients`` SDKs flushing
    their share of ``bodies`` at once (after ten batches to warm up); and the server's CPU
    time per event (``cpu_us``, microseconds) and cores used, which say what the rate would be
    on an idle machine better than the rate does on a busy one."""
    headers = {"STATSIG-API-KEY": keys["server secret"], "content-encoding": "gzip"}
    sdk._post_all(base, headers, bodies[:10])
    timed = bodies[10:]
    shares = [timed[i::clients] for i in range(clients)]
    failed: list[BaseException] = []

    def post(share: list[bytes]) -> None:
        try:
            sdk._post_all(base, headers, share)
        except BaseException as problem:  # reported below: a figure over fewer events is wrong
            failed.append(problem)

    threads = [threading.Thread(target=post, args=(share,)) for share in shares]
    cpu, start = _cpu_seconds(server_pid), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    cpu = _cpu_seconds(server_pid) - cpu
    if failed:
        raise RuntimeError(f"{len(failed)} rgstr client(s) failed") from failed[0]
    events = len(timed) * sdk.RGSTR_BATCH
    return {"rate": events / wall, "cpu_us": cpu / events * 1e6, "cores": cpu / wall}


def rgstr_pair(
    url: str | None,
    batches: int,
    seed: int = 17,
    after: Callable[[str, dict[str, str]], None] | None = None,
    **settings: str,
) -> tuple[dict[str, float], dict[str, float]]:
    """rgstr from one client, then from RGSTR_CLIENTS at once, each on a server of its own
    started on an empty database: a later phase would otherwise find the tables (and the
    indexes the landed rows are moved into) grown by the earlier one, and the mover busy with
    its rows, and be slower for it. ``after`` runs on the last server before it stops."""
    bodies = sdk._rgstr_bodies(batches, random.Random(seed))
    figures = []
    for clients in (1, sdk.RGSTR_CLIENTS):
        with tempfile.TemporaryDirectory() as tmp:
            if url is not None:
                settings = {**settings, "database_url": url}
            process, base, keys = sdk._serve(tmp, **settings)
            try:
                figures.append(_rgstr_rate(base, keys, bodies, clients, process.pid))
                if after is not None and clients != 1:
                    after(base, keys)
            finally:
                sdk._stop(process)
        if url is not None:
            _empty(url)
    return figures[0], figures[1]


def rgstr_line(label: str, figures: dict[str, float], note: str = "") -> str:
    return (
        f"  {label:20s} {figures['rate']:10,.0f}/s events  server CPU "
        f"{figures['cpu_us']:5.1f} us/event on {figures['cores']:.2f} cores{note}"
    )


def scale_out() -> None:
    """One worker process against two, on SQLite and on PostgreSQL, each on a fresh project of
    the size the SDK bench uses; with the cores the server and wrk used and the server's CPU
    time per request, since on a machine of few cores the load generator and any other load
    take their share of them."""
    if not ensure_tools():
        return
    rows: list[tuple[str, dict[int, dict[str, dict[str, float]]]]] = []
    for dialect in ("sqlite", "postgresql"):
        pg = dialect == "postgresql"
        with (
            _postgresql_database() if pg else _no_url() as url_one,
            _postgresql_database() if pg else _no_url() as url_two,
        ):
            if pg and (url_one is None or url_two is None):
                continue
            figures = _side_by_side(url_one, url_two)
            for workers, url in ((1, url_one), (2, url_two)):
                if url is not None:  # the rgstr phases start from an empty database
                    _empty(url)
                one, many = rgstr_pair(url, SCALE_RGSTR_BATCHES, workers=str(workers))
                figures[workers].update(rgstr1=one, rgstr8=many)
            rows.append((dialect, figures))
    cores = len(os.sched_getaffinity(0))
    print(
        f"scale-out: lockgate serve --workers 1 against --workers 2 (wrk {THREADS} threads, "
        f"{CONNECTIONS} connections, {SECONDS} s; both servers up at once, wrk alternating "
        f"between them, median of {SCALE_ROUNDS} rounds after a {WARMUP_SECONDS} s warm-up; "
        f"rgstr {sdk.RGSTR_BATCH}-event batches, each phase on a fresh server; {cores} cores, "
        f"load average {_load()}):"
    )
    print(
        f"  {'':45s} {'1 worker':>10s} {'2 workers':>10s}  ratio   server cores (wrk cores),"
        " 1 -> 2 workers; server CPU us per request/event, 1 -> 2; per-core ratio; load"
    )
    names = {
        "dcs": "download_config_specs v2, gzip",
        "init": "/v1/initialize, one user",
        "users": f"/v1/initialize, {SCALE_USERS:,} users",
        "rgstr1": "rgstr events, 1 client",
        "rgstr8": f"rgstr events, {sdk.RGSTR_CLIENTS} clients",
    }
    for dialect, figures in rows:
        for field, name in names.items():
            one, two = figures[1][field], figures[2][field]
            ratio = two["rate"] / one["rate"]
            used = "server_cores" if "server_cores" in one else "cores"
            wrk = (
                f" ({one['wrk_cores']:.2f} -> {two['wrk_cores']:.2f})" if "wrk_cores" in one else ""
            )
            per_core = one["cpu_us"] / two["cpu_us"] if one["cpu_us"] and two["cpu_us"] else 0.0
            load = f"; load {one['load']:.1f}/{two['load']:.1f}" if "load" in one else ""
            ceiling = f" (ceiling {_ceiling(one, two, cores):.2f}x)" if "wrk_cores" in one else ""
            print(
                f"  {dialect:10s} {name:34s} {one['rate']:8,.0f}/s {two['rate']:8,.0f}/s"
                f"  {ratio:5.2f}x{ceiling}  {one[used]:.2f} -> {two[used]:.2f}{wrk};"
                f" {one['cpu_us']:.0f} -> {two['cpu_us']:.0f} us; {per_core:.2f}x{load}"
            )
    print(
        "  target: 2 workers >= 1.7x of one for DCS and initialize on PostgreSQL. The ceiling"
        " is the most two workers could give over one here: the cores left to the server beside"
        " wrk (at most two) over the cores one worker used, on an otherwise idle machine. The"
        " per-core"
        " ratio (server CPU per request, 1 worker over 2) near 1.0 says a worker serves as"
        " much per core as a lone process: the rate then grows with the cores the server gets,"
        f" of the {cores} this machine has beside wrk and other load."
    )


@contextmanager
def _no_url() -> Iterator[str | None]:
    yield None


def _empty(url: str) -> None:
    """Drop every table of the bench database, so the next server migrates and bootstraps."""
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")


SERVERS = ("granian", "uvicorn")  # LOCKGATE_SERVER: the default first
SERVER_ROUNDS = 3
SERVER_PATHS = {
    "noupd": "download_config_specs v2, unchanged sinceTime",
    "dcs": "download_config_specs v2, gzip",
    "init": "/v1/initialize, one user",
}


def servers() -> None:
    """The default web server against the other (LOCKGATE_SERVER), both up at once with the
    default workers on projects built alike, wrk alternating between them; then rgstr, each
    phase on a fresh server."""
    if not ensure_tools():
        return
    rounds: dict[str, list[dict[str, dict[str, float]]]] = {name: [] for name in SERVERS}
    with (
        sdk.served_project(random.Random(7), server=SERVERS[0]) as first,
        sdk.served_project(random.Random(7), server=SERVERS[1]) as second,
    ):
        targets = {}
        for name, served in zip(SERVERS, (first, second), strict=True):
            dcs = f"{served.base}/v2/download_config_specs/{served.keys['server secret']}.json"
            since = httpx.get(dcs).json()["time"]
            init = f"{served.base}/v1/initialize?k={served.keys['client key']}"
            user = generators.user(random.Random(7), 0)
            body = json.dumps({"user": user, "hash": "djb2"}).encode()
            targets[name] = (f"{dcs}?sinceTime={since}", dcs, init, body, served.process.pid)
        gzip_header = {"Accept-Encoding": "gzip"}
        for noupd, dcs, init, body, _ in targets.values():
            _wrk(noupd, seconds=WARMUP_SECONDS)
            _wrk(dcs, headers=gzip_header, seconds=WARMUP_SECONDS)
            _wrk(init, post=body, seconds=WARMUP_SECONDS)
        for _ in range(SERVER_ROUNDS):
            for name, (noupd, dcs, init, body, pid) in targets.items():
                rounds[name].append(
                    {
                        "noupd": _wrk(noupd, server_pid=pid),
                        "dcs": _wrk(dcs, headers=gzip_header, server_pid=pid),
                        "init": _wrk(init, post=body, server_pid=pid),
                    }
                )
    median = {
        name: {
            path: sorted((each[path] for each in taken), key=lambda f: f["rate"])[len(taken) // 2]
            for path in SERVER_PATHS
        }
        for name, taken in rounds.items()
    }
    rgstr = {name: rgstr_pair(None, SCALE_RGSTR_BATCHES, server=name) for name in SERVERS}
    print(
        f"web servers (LOCKGATE_SERVER), {len(os.sched_getaffinity(0))} workers each (wrk"
        f" {THREADS} threads, {CONNECTIONS} connections, {SECONDS} s; both up at once, wrk"
        f" alternating, median of {SERVER_ROUNDS} rounds; load average {_load()}):"
    )
    print(
        f"  {'':48s} {SERVERS[0]:>10s} {SERVERS[1]:>10s}  ratio   server CPU us per request,"
        " and its ratio (the steadier figure on a busy machine)"
    )
    for path, name in SERVER_PATHS.items():
        one, two = median[SERVERS[0]][path], median[SERVERS[1]][path]
        print(
            f"  {name:48s} {one['rate']:8,.0f}/s {two['rate']:8,.0f}/s"
            f"  {one['rate'] / two['rate']:5.2f}x  {one['cpu_us']:.0f} / {two['cpu_us']:.0f} us"
            f" = {two['cpu_us'] / one['cpu_us']:.2f}x"
        )
    for index, label in enumerate(
        ("rgstr events, 1 client", f"rgstr, {sdk.RGSTR_CLIENTS} clients")
    ):
        one, two = rgstr[SERVERS[0]][index], rgstr[SERVERS[1]][index]
        print(
            f"  {label:48s} {one['rate']:8,.0f}/s {two['rate']:8,.0f}/s"
            f"  {one['rate'] / two['rate']:5.2f}x  {one['cpu_us']:.1f} / {two['cpu_us']:.1f} us"
            f" = {two['cpu_us'] / one['cpu_us']:.2f}x"
        )


def main() -> None:
    """The serving figures alone: the default configuration against nginx, rgstr, the web
    servers side by side, scale-out."""
    rng = random.Random(7)
    with sdk.served_project(rng) as served:
        run(served.base, served.keys, generators.user(rng, 0), served.process.pid)
    sdk.rgstr()
    print()
    servers()
    print()
    scale_out()


if __name__ == "__main__":
    main()
