"""``/v1/initialize`` deltas between real ``lockgate serve`` processes on one database: an answer
one process gave is named by its ``full_checksum`` to another, which tells that nothing changed
(the same answer has the same bytes in every process) and, after a change, sends a delta from
it that js-client's own merge turns into the full answer (docs/sdk.md §Initialize deltas)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from lockgate.domains.specs.deltas import NO_UPDATES
from tests.compat import generators
from tests.compat.sdks import js_deltas, wait_until
from tests.compat.test_proto_deltas_workers import _key
from tests.conftest import new_database_url
from tests.http import TLS
from tests.processes import environment, serving
from tests.sdk_api.test_initialize_deltas_workers import js_since

EVERYONE = {"name": "everyone", "passPercentage": 100, "conditions": [{"type": "public"}]}
HALF = {"name": "half", "passPercentage": 50, "conditions": [{"type": "public"}]}
USERS = 6


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    directory = tmp_path_factory.mktemp("initialize-workers")
    with new_database_url(directory) as url:
        yield environment(url, directory / "data", workers="1", sdk_cache_ttl_ms="200")


def _initialize(server: str, key: str, user: dict[str, Any], **more: Any) -> bytes:
    response = httpx.post(
        f"{server}/v1/initialize?k={key}", json={"user": user, **more}, timeout=60, verify=TLS
    )
    assert response.status_code == 200, response.text
    return response.content


def test_initialize__answer_held_from_another_process__no_updates_then_delta_merging_exactly(
    env: dict[str, str], tmp_path: Path
) -> None:
    with serving(env, tmp_path, 2) as servers:
        first, second = (server.base for server in servers)
        console_key = _key(env, "CONSOLE", "omni_read_write")
        client_key = _key(env, "CLIENT")
        rng = random.Random(5)
        users = [generators.user(rng, i) for i in range(USERS)]
        with httpx.Client(
            base_url=first, headers={"STATSIG-API-KEY": console_key}, timeout=60, verify=TLS
        ) as console:
            for i in range(30):
                rules = [HALF if i % 2 else EVERYONE]
                made = console.post("/console/v1/gates", json={"name": f"gate {i}", "rules": rules})
                assert made.status_code == 201, made.text
            made = console.post(
                "/console/v1/dynamic_configs",
                json={"name": "banner", "defaultValue": {"text": "hi", "ratio": 0.5}},
            )
            assert made.status_code == 201, made.text
            # Given answers the first process gave, once the second sees the same revision
            held = [_initialize(first, client_key, user) for user in users]
            time_then = orjson.loads(held[0])["time"]
            assert wait_until(
                lambda: (
                    orjson.loads(_initialize(second, client_key, {"userID": "x"}))["time"]
                    == time_then
                )
            )
            # When the clients name them to the second: nothing new (the same bytes there)
            for user, answer in zip(users, held, strict=True):
                assert _initialize(second, client_key, user, **js_since(answer)) == NO_UPDATES
            # and after a gate changes and a config goes, through the first
            changed = console.patch("/console/v1/gates/gate_1", json={"rules": [EVERYONE]})
            assert changed.status_code == 200, changed.text
            assert console.delete("/console/v1/dynamic_configs/banner").status_code == 200
            assert wait_until(
                lambda: (
                    orjson.loads(_initialize(second, client_key, {"userID": "x"}))["time"]
                    > time_then
                )
            )
            sent = [
                _initialize(second, client_key, user, **js_since(answer))
                for user, answer in zip(users, held, strict=True)
            ]
            full = [_initialize(first, client_key, user) for user in users]
    # Then the second sends each a delta, which js-client merges into the full answer
    for delta, answer in zip(sent, full, strict=True):
        body = orjson.loads(delta)
        assert body["is_delta"] is True
        assert len(body["deleted_configs"]) == 1
        assert len(delta) * 2 < len(answer)
    merged = js_deltas(merges=list(zip(held, sent, full, strict=True)))["merges"]
    assert merged == [{"differences": [], "extra": ["checksum", "checksumV2", "is_delta"]}] * USERS
