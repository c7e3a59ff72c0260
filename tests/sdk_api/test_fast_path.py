"""The lean path of ``download_config_specs`` (``faces/sdk/fast.py``) answers cache hits with the
very bytes and headers the route gives, and leaves everything else, refusals included, to the
route."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from starlette.types import Message, Scope

from lockgate.app import LockgateApp
from lockgate.domains.projects.service import Bootstrap
from tests.contract.client import ContractClient

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


def _scope(path: str, query: str = "", headers: dict[str, str] | None = None) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


def _call(app: Any, scope: Scope) -> Answer:
    """Run one request through an ASGI callable and collect exactly what it sent."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    async def run() -> None:
        await app(scope, receive, send)

    # A thread of its own: the suite's other fixtures may have left this thread marked as
    # running an event loop (sniffio's thread state), which anyio.run refuses.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(anyio.run, run).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], list(start["headers"]), body


def _both(app: LockgateApp, scope: Scope) -> tuple[Answer, Answer, bool]:
    """The answer of the application as served, the answer of the framework alone (the route,
    past the lean path), and whether the lean path answered the first."""
    assert app.sdk_fast_path is not None
    hits = app.sdk_fast_path.hits
    served = _call(app, scope)
    answered_fast = app.sdk_fast_path.hits == hits + 1

    async def framework(scope: Scope, receive: Any, send: Any) -> None:
        await FastAPI.__call__(app, scope, receive, send)

    return served, _call(framework, scope), answered_fast


@pytest.fixture()
def served(app: FastAPI, console: ContractClient, project: Bootstrap) -> dict[str, Any]:
    """A project with a gate whose server key has downloaded every encoding once."""
    assert isinstance(app, LockgateApp)
    made = console.post("/console/v1/gates", json={"name": "fast gate"})
    assert made.status_code == 201, made.text
    for version in (1, 2):
        for encoding in ("gzip", "identity"):
            warm = _call(
                app,
                _scope(
                    f"/v{version}/download_config_specs/{project.server_key}.json",
                    headers={"accept-encoding": encoding},
                ),
            )
            assert warm[0] == 200
    since = _call(app, _scope(f"/v2/download_config_specs/{project.server_key}.json"))[1]
    return {"app": app, "key": project.server_key, "since": dict(since)[b"x-since-time"].decode()}


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("encoding", ["gzip", "identity", "gzip, deflate, br"])
@pytest.mark.parametrize("key_in", ["path", "header"])
def test_fast_path__cached_download__same_bytes_and_headers_as_route(
    served: dict[str, Any], version: int, encoding: str, key_in: str
) -> None:
    key = served["key"]
    path, headers = f"/v{version}/download_config_specs/{key}.json", {"accept-encoding": encoding}
    if key_in == "header":
        path, headers = f"/v{version}/download_config_specs", {**headers, "STATSIG-API-KEY": key}
    # When a cached download is requested
    fast, route, answered_fast = _both(served["app"], _scope(path, headers=headers))
    # Then the lean path answered it, with the route's status, headers and body exactly
    assert answered_fast
    assert fast == route
    assert fast[0] == 200
    assert ((b"content-encoding", b"gzip") in fast[1]) == ("gzip" in encoding)


@pytest.mark.parametrize(
    "query",
    [
        "sinceTime={since}",
        "sinceTime={since}&checksum=1",
        "sinceTime=1",
        "checksum=nope",
        "",
        "supports_proto=true&sinceTime={since}&accept_deltas=true",
        "sinceTime=1&sinceTime={since}",
    ],
)
def test_fast_path__since_time_and_checksum__same_answer_as_route(
    served: dict[str, Any], query: str
) -> None:
    scope = _scope(
        f"/v2/download_config_specs/{served['key']}.json", query.format(since=served["since"])
    )
    fast, route, answered_fast = _both(served["app"], scope)
    assert answered_fast
    assert fast == route


def test_fast_path__unchanged_since_time__has_updates_false(served: dict[str, Any]) -> None:
    scope = _scope(
        f"/v2/download_config_specs/{served['key']}.json", f"sinceTime={served['since']}"
    )
    status, headers, body = _both(served["app"], scope)[0]
    assert (status, body) == (200, b'{"has_updates":false}')
    assert headers == [
        (b"content-length", b"21"),
        (b"content-type", b"application/json"),
        (b"vary", b"Origin"),
    ]


@pytest.mark.parametrize(
    ("path", "query", "headers", "status"),
    [
        ("/v2/download_config_specs/secret-unknown.json", "", {}, 401),
        ("/v2/download_config_specs/{console}.json", "", {}, 401),
        ("/v2/download_config_specs/{client}.json", "", {}, 403),
        ("/v1/download_config_specs", "", {}, 401),
        ("/v2/download_config_specs/.json", "", {}, 404),
        ("/v2/download_config_specs/{key}.json", "sinceTime=%00", {}, 400),
        ("/v2/download_config_specs/{key}.json", "", {"origin": "https://app.example"}, 200),
        ("/v2/download_config_specs/{key}.json/more", "", {}, 404),
        ("/v3/download_config_specs/{key}.json", "", {}, 404),
    ],
)
def test_fast_path__refused_or_unusual__left_to_route_with_same_answer(
    served: dict[str, Any],
    project: Bootstrap,
    path: str,
    query: str,
    headers: dict[str, str],
    status: int,
) -> None:
    keys = {"key": served["key"], "console": project.console_key, "client": project.client_key}
    scope = _scope(path.format(**keys), query, headers)
    # A key refused once is remembered as refused: ask twice so the second finds it cached
    _call(served["app"], scope)
    fast, route, answered_fast = _both(served["app"], scope)
    assert not answered_fast
    assert fast == route
    assert fast[0] == status


def test_fast_path__key_deactivated__refused_at_once_as_by_route(
    served: dict[str, Any], console: ContractClient
) -> None:
    # Given a key whose downloads the lean path answers
    made = console.post("/console/v1/keys", json={"description": "k", "type": "SERVER"})
    assert made.status_code == 200, made.text
    key = made.json()["data"]
    scope = _scope(f"/v2/download_config_specs/{key['key']}.json")
    _call(served["app"], scope)
    assert _both(served["app"], scope)[2]
    # When it is deactivated through this process
    assert console.patch(f"/console/v1/keys/{key['id']}/deactivate").status_code == 200
    # Then the next download is refused, by the route, with its 401
    fast, route, answered_fast = _both(served["app"], scope)
    assert not answered_fast
    assert fast == route
    assert fast[0] == 401
