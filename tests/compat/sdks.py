"""The official SDKs as oracles: statsig-python-core, the legacy ``statsig`` SDK and
``@statsig/js-client`` (under Node), each pointed at a live Lockgate server."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import statsig_python_core as core
from statsig import StatsigOptions as LegacyOptions
from statsig import StatsigUser as LegacyUser
from statsig import statsig as legacy
from statsig.utils import HashingAlgorithm

JS_DIR = Path(__file__).resolve().parent.parent / "js"


def core_user(wire: dict[str, Any]) -> core.StatsigUser:
    return core.StatsigUser(
        user_id=wire.get("userID"),
        email=wire.get("email"),
        ip=wire.get("ip"),
        country=wire.get("country"),
        locale=wire.get("locale"),
        app_version=wire.get("appVersion"),
        user_agent=wire.get("userAgent"),
        custom=wire.get("custom"),
        custom_ids=wire.get("customIDs"),
        statsig_environment=wire.get("statsigEnvironment"),
    )


def legacy_user(wire: dict[str, Any]) -> LegacyUser:
    return LegacyUser(
        user_id=wire.get("userID"),
        email=wire.get("email"),
        ip=wire.get("ip"),
        country=wire.get("country"),
        locale=wire.get("locale"),
        app_version=wire.get("appVersion"),
        user_agent=wire.get("userAgent"),
        custom=wire.get("custom"),
        custom_ids=wire.get("customIDs"),
        _statsig_environment=wire.get("statsigEnvironment"),
    )


@contextmanager
def core_sdk(base: str, server_key: str, *, tier: str | None = None) -> Iterator[core.Statsig]:
    """statsig-python-core against ``base``; ``tier`` is its ``environment`` option."""
    options = core.StatsigOptions(
        specs_url=f"{base}/v2/download_config_specs",
        log_event_url=f"{base}/v1/log_event",
        id_lists_url=f"{base}/v1/get_id_lists",
        enable_id_lists=True,
        specs_sync_interval_ms=1000,
        output_log_level="error",
    )
    if tier is not None:
        options.environment = tier
    sdk = core.Statsig(server_key, options)
    sdk.initialize().wait()
    try:
        yield sdk
    finally:
        sdk.shutdown().wait()


@contextmanager
def legacy_sdk(base: str, server_key: str, *, tier: str | None = None) -> Iterator[Any]:
    """The legacy ``statsig`` SDK against ``base``; ``tier`` is its ``tier`` option."""
    legacy.initialize(
        server_key,
        LegacyOptions(
            api=f"{base}/v1", disable_diagnostics=True, rulesets_sync_interval=1, tier=tier
        ),
    )
    try:
        yield legacy
    finally:
        legacy.shutdown()


def core_initialize(sdk: core.Statsig, wire: dict[str, Any]) -> dict[str, Any]:
    raw = sdk.get_client_initialize_response(core_user(wire), hash="none")
    response: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else dict(raw)
    return response


def legacy_initialize(wire: dict[str, Any]) -> dict[str, Any]:
    found = legacy.get_client_initialize_response(legacy_user(wire), hash=HashingAlgorithm.NONE)
    assert found is not None
    return found


def node_available() -> bool:
    return shutil.which("node") is not None and (JS_DIR / "node_modules").is_dir()


def js_evaluate(
    base: str,
    client_key: str,
    users: list[dict[str, Any]],
    gates: list[str],
    configs: list[str],
    event: str | None = None,
    *,
    experiments: list[str] | None = None,
    layers: dict[str, list[str]] | None = None,
    param_stores: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    payload = {
        "api": f"{base}/v1",
        "key": client_key,
        "users": users,
        "gates": gates,
        "configs": configs,
        "experiments": experiments or [],
        "layers": layers or {},
        "paramStores": param_stores or {},
        "event": event,
    }
    result = subprocess.run(
        ["node", "evaluate.mjs"],
        cwd=JS_DIR,
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def js_deltas(
    *,
    merges: Sequence[tuple[bytes, bytes, bytes]] = (),
    checksums: Sequence[str] = (),
    texts: Sequence[str] = (),
) -> dict[str, list[Any]]:
    """The official JS client's delta code on Lockgate's output (``tests/js/deltas.mjs``): each
    (answer held, delta, full answer) merged and compared with the full answer, each document's
    two-level sorted djb2, each document written back by ``JSON.stringify``."""
    assert node_available(), "Node and tests/js/node_modules are needed (make test installs them)"
    payload = {
        "merges": [
            {"cache": cache.decode(), "delta": delta.decode(), "full": full.decode()}
            for cache, delta, full in merges
        ],
        "checksums": list(checksums),
        "texts": list(texts),
    }
    result = subprocess.run(
        ["node", "deltas.mjs"],
        cwd=JS_DIR,
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


class JsClients:
    """Long-lived ``@statsig/js-client`` instances under Node, one per user
    (``tests/js/refresh.mjs``): ``init``, then ``refresh`` (a delta asked from what each holds)
    or ``fresh`` (new clients); each gives per user the evaluations and the maps held."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    def run(self, op: str, **more: Any) -> list[dict[str, Any]]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"op": op, **more}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, (
            f"refresh.mjs ended: {self.process.stderr.read() if self.process.stderr else ''}"
        )
        return json.loads(line)  # type: ignore[no-any-return]


@contextmanager
def js_clients(
    base: str,
    client_key: str,
    users: list[dict[str, Any]],
    *,
    gates: list[str],
    configs: list[str],
    experiments: list[str],
    layers: dict[str, list[str]],
) -> Iterator[tuple[JsClients, list[dict[str, Any]]]]:
    """The clients, initialized, and what they first evaluated."""
    assert node_available(), "Node and tests/js/node_modules are needed (make test installs them)"
    process = subprocess.Popen(
        ["node", "refresh.mjs"],
        cwd=JS_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        clients = JsClients(process)
        first = clients.run(
            "init",
            api=f"{base}/v1",
            key=client_key,
            users=users,
            gates=gates,
            configs=configs,
            experiments=experiments,
            layers=layers,
        )
        yield clients, first
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def wait_until(predicate: Any, timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return bool(predicate())


def initialize_entry(init: dict[str, Any], section: str, name: str) -> tuple[Any, ...]:
    """(value, rule id, secondary exposures) of one entry of an initialize response."""
    entry = init[section][name]
    exposures = [(e["gate"], e["gateValue"], e["ruleID"]) for e in entry["secondary_exposures"]]
    return entry["value"], entry["rule_id"], exposures


def gate_mismatches(
    name: str,
    wire: dict[str, Any],
    *,
    core_init: dict[str, Any],
    lockgate_init: dict[str, Any],
    legacy_init: dict[str, Any],
    checked: dict[str, Any],
    core_client: core.Statsig,
    legacy_client: Any,
) -> list[str]:
    """Every way of evaluating one gate for one user, compared with statsig-python-core's
    initialize entry; returns a line per disagreement."""
    expected = initialize_entry(core_init, "feature_gates", name)
    gate = core_client.get_feature_gate(core_user(wire), name)
    legacy_gate = legacy_client.get_feature_gate(legacy_user(wire), name)
    observed = {
        "lockgate initialize": initialize_entry(lockgate_init, "feature_gates", name),
        "legacy initialize": initialize_entry(legacy_init, "feature_gates", name),
        "core check": (gate.value, gate.rule_id, expected[2]),
        "legacy check": (legacy_gate.value, legacy_gate.rule_id, expected[2]),
        "lockgate check_gate": (
            checked[name]["value"],
            checked[name]["rule_id"] or "",
            expected[2],
        ),
    }
    return [
        f"{name} {wire['userID']} {who}: {got} != core {expected}"
        for who, got in observed.items()
        if got != expected
    ]
