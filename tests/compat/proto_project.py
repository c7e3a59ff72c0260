"""A project of many gates, configs and segments, statsig-python-core polling it for protobuf
specs, and its evaluations: shared by the protobuf delta tests, in one process or several
(docs/sdk.md §Protobuf specs)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import statsig_python_core as core

from tests.compat import generators
from tests.compat.sdks import core_user

GATES, CONFIGS, SEGMENTS, USERS = 150, 30, 10, 40


def build(post: Callable[..., httpx.Response]) -> list[str]:
    """Create the project's entities through the Console API's ``post``; the gates' ids."""
    rng = random.Random(19)
    world = generators.World()
    post("/console/v1/unit_id_types", json={"name": "companyID"}).raise_for_status()
    for i in range(SEGMENTS):
        body: dict[str, Any] = {
            "name": f"segment {i}",
            "type": "rule_based",
            "rules": generators.rules(rng, world, in_segment=True),
        }
        world.segments.append(post("/console/v1/segments", json=body).json()["data"]["id"])
    for i in range(GATES):
        body = {"name": f"gate {i}", "rules": generators.rules(rng, world)}
        world.gates.append(post("/console/v1/gates", json=body).json()["data"]["id"])
    for i in range(CONFIGS):
        body = {
            "name": f"config {i}",
            "defaultValue": {"v": 0},
            "rules": generators.rules(rng, world, values=True),
        }
        post("/console/v1/dynamic_configs", json=body).raise_for_status()
    return list(world.gates)


EVERYONE = [{"name": "all", "passPercentage": 100, "conditions": [{"type": "public"}]}]


@contextmanager
def core_sdk(base: str, key: str, *, deltas: bool) -> Iterator[Any]:
    """statsig-python-core polling ``base`` every second, initialized."""
    options = core.StatsigOptions(
        specs_url=f"{base}/v2/download_config_specs",
        log_event_url=f"{base}/v1/log_event",
        # The SDK's shortest interval: it refuses a shorter one and polls at its default, ten
        # seconds, which the tests would wait for at every change.
        specs_sync_interval_ms=1000,
        output_log_level="error",
        enable_dcs_deltas=deltas,
    )
    sdk = core.Statsig(key, options)
    sdk.initialize().wait()
    try:
        yield sdk
    finally:
        sdk.shutdown().wait()


def holding(query: str) -> bool:
    """Whether a poll names a document the SDK already holds."""
    return "checksum=" in query or "sinceTime=" in query


def both_holding(queries: list[str]) -> bool:
    """Both SDKs (one asking for deltas, one not) have polled naming the document they hold."""
    held = [query for query in queries if holding(query)]
    return any("accept_deltas=true" in q for q in held) and any(
        "accept_deltas=true" not in q for q in held
    )


def evaluations(sdk: Any, gates: list[str]) -> list[Any]:
    """Every gate and config for ``USERS`` generated users."""
    rng = random.Random(5)
    found = []
    for index in range(USERS):
        user = core_user(generators.user(rng, index))
        found += [sdk.check_gate(user, gate) for gate in gates]
        found += [sdk.get_dynamic_config(user, f"config_{i}").value for i in range(CONFIGS)]
    return found
