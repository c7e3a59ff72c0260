"""Console request bodies: the key is checked before the body is read, and the body is read
within ``console_max_body_bytes`` and decompressed (``faces/bodies.py``).

The framework reads a route's body before it runs the route's dependencies, so this runs
earlier, as ASGI middleware, and hands the route the body it has read.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lockgate.errors import LockgateError
from lockgate.faces import bodies
from lockgate.faces.console.context import (
    MUTATING_METHODS,
    PRINCIPAL_SCOPE_KEY,
    Principal,
    authenticate_console,
)
from lockgate.faces.console.errors import render
from lockgate.faces.console.router import PREFIX
from lockgate.kit.db import Database


def _check_key(database: Database, raw_key: str | None) -> Principal:
    with database.transaction(write=False) as session:
        return authenticate_console(session, raw_key)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` whole, then whatever the client sends next
    (its disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _decoded(scope: Scope, body: bytes) -> Scope:
    headers = [
        (name, value)
        for name, value in scope["headers"]
        if name not in (b"content-encoding", b"content-length", b"transfer-encoding")
    ]
    headers.append((b"content-length", str(len(body)).encode("ascii")))
    return {**scope, "headers": headers}


class ConsoleBodies:
    """ASGI middleware in front of the Console API's mutations."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in MUTATING_METHODS
            or not scope["path"].startswith(f"{PREFIX}/")
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        state = request.app.state
        limit: int = state.settings.console_max_body_bytes
        try:
            principal = await run_in_threadpool(
                _check_key, state.database, request.headers.get("statsig-api-key")
            )
            codings = bodies.codings_of(request.headers.get("content-encoding"))
            body = await bodies.read(request, limit)
            if codings:
                body = await run_in_threadpool(bodies.inflate, body, codings, limit)
        except LockgateError as error:
            await render(error)(scope, receive, send)
            return
        except ClientDisconnect:
            return  # nobody is left to answer
        # The route's dependency takes the caller found here rather than reading the key again.
        scope = {**_decoded(scope, body), PRINCIPAL_SCOPE_KEY: principal}
        await self.app(scope, _replay(body, receive), send)
