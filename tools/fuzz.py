"""Fuzz a live Lockgate with Schemathesis: every implemented operation, on SQLite and PostgreSQL.

    python -m tools.fuzz [--examples N] [--seed S] [--database sqlite|postgresql ...]

For each database the script starts `lockgate serve` on a new data directory (on PostgreSQL, a new
database), creates a console key, a server secret and a client key with the CLI, and runs
`st run` twice: the official Console API spec (tests/contract/console_spec.json, the corrected
extract the contract tests use) with the console key, and the official HTTP API spec
(tests/contract/http_api_spec.json) with the server secret. Only the operations the server
implements are fuzzed: the spec is cut down to the (method, path) pairs of the server's own
/openapi.json. Two checks must hold for every request, with valid and invalid inputs alike: no
5xx, and every response matches the official schema of its status code. The script prints the
number of requests and failures per run, and exits non-zero when any run failed; each run's
Schemathesis event stream and the server's log stay in .fuzz/ for a closer look.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CONSOLE_SPEC = ROOT / "tests" / "contract" / "console_spec.json"
HTTP_SPEC = ROOT / "tests" / "contract" / "http_api_spec.json"
PG_ADMIN_URL = os.environ.get(
    "LOCKGATE_FUZZ_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REPORTS = ROOT / ".fuzz"
CHECKS = "not_a_server_error,response_schema_conformance"


@dataclass(frozen=True)
class Server:
    base: str
    console_key: str
    server_key: str
    client_key: str


@dataclass(frozen=True)
class Outcome:
    name: str
    requests: int
    failures: int
    tool_errors: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _database(kind: str, data_dir: Path) -> Iterator[str]:
    """A database of the run's own: a file for SQLite, a new database for PostgreSQL."""
    if kind == "sqlite":
        yield f"sqlite:///{data_dir / 'lockgate.db'}"
        return
    name = f"lockgate_fuzz_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(BIN / "lockgate"), *args], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


@contextmanager
def _served(kind: str, out: Path) -> Iterator[Server]:
    with (
        tempfile.TemporaryDirectory(prefix="lockgate-fuzz-") as tmp,
        _database(kind, Path(tmp)) as url,
    ):
        port = _free_port()
        env = {
            **os.environ,
            "LOCKGATE_DATA_DIR": tmp,
            "LOCKGATE_DATABASE_URL": url,
            # The fuzzer sends thousands of mutations; the limiter has tests of its own.
            "LOCKGATE_RATE_LIMIT_PER_10S": "0",
            "LOCKGATE_RATE_LIMIT_PER_15MIN": "0",
            "LOCKGATE_LOG_LEVEL": "warning",
        }
        log = open(out / "server.log", "w")  # noqa: SIM115 (closed below)
        process = subprocess.Popen(
            [str(BIN / "lockgate"), "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base, process)
            yield Server(
                base=base,
                console_key=_cli(
                    env, "keys", "create", "--type", "console", "--scope", "omni_read_write"
                ),
                server_key=_cli(env, "keys", "create", "--type", "server"),
                client_key=_cli(env, "keys", "create", "--type", "client"),
            )
        finally:
            process.terminate()
            process.wait(timeout=20)
            log.close()
            _report_server_errors(kind, out / "server.log")


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"lockgate serve exited with {process.returncode}")
        try:
            httpx.get(f"{base}/openapi.json", timeout=2).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("lockgate serve did not answer within 60 s")


def _report_server_errors(kind: str, log: Path) -> None:
    tracebacks = log.read_text().count("Traceback (most recent call last)")
    if tracebacks:
        print(f"  [{kind}] the server logged {tracebacks} tracebacks: {log}")


def _implemented(spec: dict[str, Any], served: dict[str, Any]) -> dict[str, Any]:
    """The spec cut down to the operations the server answers, as an OpenAPI 3.0 document."""
    paths: dict[str, Any] = {}
    for path, operations in spec["paths"].items():
        mine = served["paths"].get(path, {})
        kept = {m: _operation(op) for m, op in operations.items() if m in mine}
        if kept:
            paths[path] = kept
    document = {k: v for k, v in spec.items() if k != "corrections"}
    info = {"title": "Lockgate fuzz target", **spec.get("info", {})}
    return {"openapi": "3.0.0", **document, "info": info, "paths": paths, "servers": [{"url": "/"}]}


def _operation(operation: dict[str, Any]) -> dict[str, Any]:
    """An operation of the schema-only extract, back in OpenAPI form.

    The extract (tests/contract/console_spec.json) keeps each response as its bare schema and an
    empty requestBody where there is none; the HTTP API spec is full OpenAPI and passes through.
    """
    shaped = {k: v for k, v in operation.items() if k != "requestBody" or v}
    responses = {}
    for status, response in operation.get("responses", {}).items():
        if isinstance(response, dict) and ("description" in response or "content" in response):
            responses[status] = response
        elif response:
            content = {"application/json": {"schema": response}}
            responses[status] = {"description": str(status), "content": content}
        else:
            responses[status] = {"description": str(status)}
    shaped["responses"] = responses
    return shaped


def _run_schemathesis(
    name: str, spec: dict[str, Any], base: str, header: str, examples: int, seed: int, out: Path
) -> Outcome:
    spec_path = out / f"{name}.json"
    spec_path.write_text(json.dumps(spec))
    events = out / f"{name}.ndjson"
    command = [
        str(BIN / "st"), "run", str(spec_path),
        "--url", base,
        "--header", header,
        "--checks", CHECKS,
        "--max-examples", str(examples),
        "--seed", str(seed),
        "--phases", "examples,coverage,fuzzing",
        "--workers", "2",
        "--no-color",
        "--suppress-health-check", "all",
        "--generation-database", "none",
        "--report", "ndjson",
        "--report-ndjson-path", str(events),
    ]  # fmt: skip
    operations = sum(len(set(ops) - {"parameters"}) for ops in spec["paths"].values())
    print(f"== {name}: {operations} operations", flush=True)
    subprocess.run(command, cwd=out, check=False)
    return Outcome(name, *_count(events))


def _count(events: Path) -> tuple[int, int, int]:
    """Requests sent, distinct failures found and Schemathesis's own errors, from its events.

    A failure is a 5xx or a response off its schema. A tool error is Schemathesis failing to
    generate cases for an operation (it happens on a few deeply nested schemas); those are
    counted and shown, and do not fail the run, since no request was judged.
    """
    requests = 0
    failures: set[tuple[str, str, str]] = set()
    tool_errors = 0
    if not events.exists():
        return 0, 0, 0
    for line in events.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if "NonFatalError" in event:
            tool_errors += 1
        if not finished:
            continue
        recorder = finished["recorder"]
        requests += len(recorder.get("cases") or {})
        for checks in (recorder.get("checks") or {}).values():
            for check in checks:
                if check["status"] == "failure":
                    failure = check["failure_info"]["failure"]
                    failures.add((failure["operation"], failure["title"], failure["message"]))
    return requests, len(failures), tool_errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=20, help="Test cases per operation.")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument(
        "--database", action="append", choices=["sqlite", "postgresql"], default=None
    )
    args = parser.parse_args()
    outcomes: list[Outcome] = []
    console_spec = json.loads(CONSOLE_SPEC.read_text())
    http_spec = json.loads(HTTP_SPEC.read_text())
    for kind in args.database or ["sqlite", "postgresql"]:
        out = REPORTS / kind
        out.mkdir(parents=True, exist_ok=True)
        with _served(kind, out) as server:
            served = httpx.get(f"{server.base}/openapi.json").json()
            runs = [
                (
                    f"console-{kind}",
                    _implemented(console_spec, served),
                    f"STATSIG-API-KEY: {server.console_key}",
                ),
                (
                    f"http-{kind}",
                    _implemented(http_spec, served),
                    f"statsig-api-key: {server.server_key}",
                ),
            ]
            for name, spec, header in runs:
                outcomes.append(
                    _run_schemathesis(
                        name, spec, server.base, header, args.examples, args.seed, out
                    )
                )
    print("\nrun                    requests  failures  tool errors")
    for o in outcomes:
        print(f"{o.name:<22} {o.requests:>8}  {o.failures:>8}  {o.tool_errors:>11}")
    return 0 if all(o.failures == 0 and o.requests > 0 for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
