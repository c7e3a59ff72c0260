"""SDK serving speed under load, side by side in one run: wrk against Lockgate and against nginx
serving the very same bytes from files, and statsig-python-core's in-process
``get_client_initialize_response`` for the same user.

wrk and nginx are installed with apt-get when missing and the bench runs as root; otherwise
the bench says how to install them and skips this part.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests.compat.live import free_port
from tests.compat.sdks import core_sdk, core_user

SECONDS = 5
THREADS, CONNECTIONS = 2, 32
PACKAGES = ("wrk", "nginx-light")


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


def _wrk(
    url: str, *, headers: dict[str, str] | None = None, post: bytes | None = None
) -> dict[str, float]:
    """Requests per second and p99 latency (ms) of wrk on ``url``."""
    args = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    with tempfile.TemporaryDirectory() as tmp:
        if post is not None:
            script = Path(tmp) / "post.lua"
            script.write_text(
                f'wrk.method = "POST"\nwrk.body = {json.dumps(post.decode())}\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
            )
            args += ["-s", str(script)]
        out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert errors is None, out
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    return {"rate": rate, "p99": float(p99.group(1)) * scale[p99.group(2)] if p99 else 0.0}


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


def _core_rate(base: str, server_key: str, user: dict[str, Any]) -> float:
    """statsig-python-core's get_client_initialize_response per second, in process."""
    with core_sdk(base, server_key) as core:
        wired = core_user(user)
        for _ in range(50):
            core.get_client_initialize_response(wired)
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < 2:
            core.get_client_initialize_response(wired)
            count += 1
        return count / (time.perf_counter() - start)


def run(base: str, keys: dict[str, str], user: dict[str, Any]) -> None:
    """Lockgate at ``base`` against nginx and statsig-python-core, one path at a time."""
    if not ensure_tools():
        return
    server_key, client_key = keys["server secret"], keys["client key"]
    dcs = f"{base}/v2/download_config_specs/{server_key}.json"
    init = f"{base}/v1/initialize?k={client_key}"
    init_body = json.dumps({"user": user, "hash": "djb2"}).encode()
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
                    "/v1/initialize, one user",
                    _wrk(f"{static}/init.json"),
                    _wrk(init, post=init_body),
                ),
            ]
        finally:
            nginx.terminate()
            nginx.wait(timeout=30)
    core = _core_rate(base, server_key, user)
    print(
        f"serving under load (wrk, {THREADS} threads, {CONNECTIONS} connections, {SECONDS} s each):"
    )
    print(f"  {'path':34s} {'nginx':>10s} {'lockgate':>10s}  share   lockgate p99")
    for name, static_figures, ours in rows:
        share = ours["rate"] / static_figures["rate"]
        print(
            f"  {name:34s} {static_figures['rate']:8,.0f}/s {ours['rate']:8,.0f}/s"
            f"  {share:6.1%}  {ours['p99']:8.2f} ms"
        )
    initialize = rows[2][2]
    print(
        f"  /v1/initialize {initialize['rate']:,.0f}/s against statsig-python-core's in-process "
        f"get_client_initialize_response {core:,.0f}/s: {initialize['rate'] / core:.2f}x "
        f"(target >= 1.0x, p99 {initialize['p99']:.2f} ms, target < 10 ms); "
        "DCS target >= 30% of nginx"
    )
