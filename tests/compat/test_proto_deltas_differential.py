"""statsig-python-core polling protobuf specs: after a one-gate change, a poll carries about one
gate, and the SDK then evaluates exactly as one that downloaded everything
(docs/sdk.md §Protobuf specs)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast

import brotli
from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
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
from tests.contract.client import ContractClient

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Recorder:
    """The app, noting each download_config_specs answer: (query, content-encoding, body)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.answers: list[tuple[str, str, bytes]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "download_config_specs" not in scope["path"]:
            await self.app(scope, receive, send)
            return
        encoding, chunks = "", []

        async def noting(message: MutableMapping[str, Any]) -> None:
            nonlocal encoding
            if message["type"] == "http.response.start":
                for name, value in message.get("headers", []):
                    if name == b"content-encoding":
                        encoding = value.decode()
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, noting)
        self.answers.append((scope["query_string"].decode(), encoding, b"".join(chunks)))


def test_core_sdk__one_gate_changed__polls_carry_that_gate_and_evaluate_as_a_full_download(
    app: FastAPI, console: ContractClient, project: Bootstrap
) -> None:
    # Given two running SDKs, one accepting deltas, on a project of many gates
    gates = build(console.post)
    recorder = Recorder(app)
    with (
        live_server(cast(FastAPI, recorder)) as base,
        core_sdk(base, project.server_key, deltas=True) as with_deltas,
        core_sdk(base, project.server_key, deltas=False) as without,
    ):
        # (each has polled with the document it holds, so no first download is still in flight)
        assert wait_until(lambda: both_holding([q for q, _, _ in recorder.answers]))
        first = [(enc, body) for q, enc, body in recorder.answers if not holding(q)]
        assert first and all(enc == "statsig-br" for enc, _ in first)
        full = max(len(body) for _, body in first)
        recorder.answers.clear()
        # When one gate changes so that everyone passes it
        response = console.patch(f"/console/v1/gates/{gates[7]}", json={"rules": EVERYONE})
        assert response.status_code == 200, response.text
        user = core_user({"userID": "anyone"})
        assert wait_until(lambda: with_deltas.check_gate(user, gates[7]))
        assert wait_until(lambda: without.check_gate(user, gates[7]))
        # Then the polls that brought the change carried that gate's data and little else
        changed = [
            (query, envelopes(brotli.decompress(body)))
            for query, encoding, body in recorder.answers
            if encoding == "statsig-br"
        ]
        delta = [found for query, found in changed if "accept_deltas=true" in query]
        held = [found for query, found in changed if "accept_deltas=true" not in query]
        assert delta and held
        for found in delta + held:
            with_data = {name for kind, name, data in found if data and kind in (3, 4, 5)}
            assert with_data == {gates[7]}
        # CopyPrev first; or every spec, those the SDK holds as checksums alone
        assert all(found[0][0] == 10 and len(found) <= 6 for found in delta)
        assert all(sum(1 for kind, _, data in found if not data) > GATES for found in held)
        assert max(len(b) for q, e, b in recorder.answers if "accept_deltas" in q) < full / 20
        # And both evaluate every gate and config as an SDK that downloads everything now
        with core_sdk(base, project.server_key, deltas=False) as fresh:
            expected = evaluations(fresh, gates)
        assert True in expected and False in expected
        assert evaluations(with_deltas, gates) == expected
        assert evaluations(without, gates) == expected
