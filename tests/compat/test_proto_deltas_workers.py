"""statsig-python-core behind a load balancer: its protobuf polls after a one-gate change reach
a server process other than the one that streamed the document it holds, and still carry about
one gate; then the SDK evaluates exactly as one that downloaded everything (docs/sdk.md
§Protobuf specs). Real ``lockgate serve`` processes on one database, a switching proxy in front.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import brotli
import httpx
import pytest
from fastapi import FastAPI

from lockgate.domains.keys import service as keys_service
from lockgate.domains.projects import repository as projects_repository
from lockgate.domains.projects.service import SYSTEM_ACTOR
from lockgate.kit.clock import SystemClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from tests.compat.live import live_server
from tests.compat.proto_project import (
    EVERYONE,
    GATES,
    both_holding,
    build,
    core_sdk,
    evaluations,
    holding,
)
from tests.compat.proto_stream import envelopes
from tests.compat.sdks import core_user, wait_until
from tests.conftest import new_database_url
from tests.http import TLS
from tests.processes import environment, ready, serving, starting

COPY_PREV, SPECS = 10, (3, 4, 5)  # envelope kinds: CopyPrev, gate / config / layer
HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"host"}
Message = MutableMapping[str, Any]


@dataclass(frozen=True)
class Answer:
    """A download_config_specs answer that went through the proxy."""

    server: int  # index of the server that answered
    query: str
    encoding: str
    body: bytes = field(repr=False)

    @property
    def spec_data(self) -> set[str]:
        """The specs the answer carries data for (a protobuf stream's)."""
        found = envelopes(brotli.decompress(self.body))
        return {name for kind, name, data in found if data and kind in SPECS}

    @property
    def delta(self) -> bool:
        return envelopes(brotli.decompress(self.body))[0][0] == COPY_PREV


class Balancer:
    """A reverse proxy sending every request to ``servers[target]``: a load balancer whose
    choice the test makes. Bodies pass as sent, content encoding and all."""

    def __init__(self, servers: list[str]) -> None:
        self.servers = servers
        self.target = 0
        self.answers: list[Answer] = []

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        server, query = self.target, scope["query_string"].decode()
        url = f"{self.servers[server]}{scope['path']}" + (f"?{query}" if query else "")
        headers = [(k, v) for k, v in scope["headers"] if k not in HOP_BY_HOP]
        async with httpx.AsyncClient(timeout=60, verify=TLS) as client:
            request = httpx.Request(scope["method"], url, headers=headers, content=b"".join(chunks))
            response = await client.send(request, stream=True)
            body = b"".join([chunk async for chunk in response.aiter_raw()])
            await response.aclose()
        if "download_config_specs" in scope["path"]:  # noted before the SDK can act on it
            encoding = response.headers.get("content-encoding", "")
            self.answers.append(Answer(server, query, encoding, body))
        back = [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP]
        await send({"type": "http.response.start", "status": response.status_code, "headers": back})
        await send({"type": "http.response.body", "body": body})

    def of(self, server: int) -> list[Answer]:
        return [answer for answer in self.answers if answer.server == server]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    directory = tmp_path_factory.mktemp("proto-workers")
    with new_database_url(directory) as url:
        yield environment(url, directory / "data", workers="1")


def _key(env: dict[str, str], key_type: str, *scopes: str) -> str:
    """A new key of the servers' project, written to their database in this process as
    ``lockgate keys create`` would (the CLI's own tests start it; here it would only add two
    cold starts)."""
    url, data_dir = env["LOCKGATE_DATABASE_URL"], Path(env["LOCKGATE_DATA_DIR"])
    database = Database(Settings(database_url=url, data_dir=data_dir))
    try:
        with database.transaction() as session:
            project = projects_repository.first_project(session)
            assert project is not None
            _, secret = keys_service.issue(
                session,
                project_id=project.id,
                actor=SYSTEM_ACTOR,
                now_ms=SystemClock().now_ms(),
                key_type=key_type,
                description="made by the test",
                scopes=list(scopes),
            )
    finally:
        database.dispose()
    return secret


ANYONE = core_user({"userID": "anyone"})


def _change(console: httpx.Client, gate: str, *sdks: Any) -> None:
    """Let everyone pass ``gate``, which no SDK passes ``ANYONE`` yet, then wait until each
    SDK does."""
    assert not any(sdk.check_gate(ANYONE, gate) for sdk in sdks)
    response = console.patch(f"/console/v1/gates/{gate}", json={"rules": EVERYONE})
    assert response.status_code == 200, response.text
    for sdk in sdks:
        assert wait_until(lambda sdk=sdk: sdk.check_gate(ANYONE, gate))


def _streamed(answers: list[Answer]) -> tuple[list[Answer], list[Answer]]:
    """The protobuf answers: to polls accepting deltas, and to the others."""
    streams = [a for a in answers if a.encoding == "statsig-br"]
    deltas = [a for a in streams if "accept_deltas=true" in a.query]
    return deltas, [a for a in streams if a not in deltas]


def test_core_sdk__polls_after_a_change_reach_other_processes__deltas_then_same_evaluations(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "later").mkdir()
    with serving(env, tmp_path, 2) as servers:
        console_key = _key(env, "CONSOLE", "omni_read_write")
        server_key = _key(env, "SERVER")
        balancer = Balancer([server.base for server in servers])
        headers = {"STATSIG-API-KEY": console_key}
        with (
            httpx.Client(
                base_url=servers[0].base, headers=headers, timeout=60, verify=TLS
            ) as console,
            live_server(cast(FastAPI, balancer)) as base,
        ):
            gates = build(console.post)
            with (
                core_sdk(base, server_key, deltas=True) as with_deltas,
                core_sdk(base, server_key, deltas=False) as without,
            ):
                # Given two SDKs that downloaded everything from the first process and
                # polled it since, naming the document it streamed them
                assert wait_until(lambda: both_holding([a.query for a in balancer.answers]))
                full = [a for a in balancer.of(0) if not holding(a.query)]
                assert full and all(a.encoding == "statsig-br" and not a.delta for a in full)
                assert all(len(a.spec_data) > GATES for a in full)
                # When their polls go to the second process, which never streamed to them
                # (it computes the same document, so it has had nothing to send),
                balancer.target = 1
                assert wait_until(lambda: both_holding([a.query for a in balancer.of(1)]))
                assert {a.body for a in balancer.of(1)} == {b'{"has_updates":false}'}
                # and one gate changes through the first process
                first, second = [g for g in gates if not with_deltas.check_gate(ANYONE, g)][:2]
                _change(console, first, with_deltas, without)
                # (a process started now, after the documents the SDKs hold were streamed, as
                # one restarted is, starts up while the second process's answers are checked)
                with starting(env, tmp_path / "later", 1) as (later,):
                    # Then the second process's answers carry that gate's data alone: a delta
                    # after CopyPrev to the SDK accepting deltas, held specs as checksums to
                    # the other
                    deltas, held = _streamed(balancer.of(1))
                    assert deltas and held, balancer.of(1)
                    assert all(a.delta and a.spec_data == {first} for a in deltas)
                    assert all(not a.delta and a.spec_data == {first} for a in held)
                    assert max(len(a.body) for a in deltas) < min(len(a.body) for a in full) / 20
                    # And both evaluate every gate and config as an SDK that downloads
                    # everything
                    with core_sdk(base, server_key, deltas=False) as fresh:
                        expected = evaluations(fresh, gates)
                    assert True in expected and False in expected
                    assert evaluations(with_deltas, gates) == expected
                    assert evaluations(without, gates) == expected
                    # When that later process answers the polls after the next change
                    ready([later])
                    balancer.servers.append(later.base)
                    balancer.target = 2
                    _change(console, second, with_deltas, without)
                    # Then its answers carry that gate alone too
                    deltas, held = _streamed(balancer.of(2))
                    assert deltas and held, balancer.of(2)
                    assert all(a.delta and a.spec_data == {second} for a in deltas)
                    assert all(not a.delta and a.spec_data == {second} for a in held)
                    # And the SDKs still evaluate as one that downloads everything
                    with core_sdk(base, server_key, deltas=True) as fresh:
                        expected = evaluations(fresh, gates)
                    assert evaluations(with_deltas, gates) == expected
                    assert evaluations(without, gates) == expected
                    balancer.target = 0  # for the SDKs' last events, after it stops
