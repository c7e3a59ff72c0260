"""The HTTP servers ``lockgate serve`` runs the application under, in one process, on a socket
the caller has bound: granian (the default) or uvicorn (``LOCKGATE_SERVER``; docs/operations.md
§Web server).

Either way the process starts the application's lifespan, serves until SIGTERM or SIGINT,
lets the requests in flight finish, then runs the lifespan's shutdown. Once it serves, it
exempts what it has loaded from the cycle collector and arms the warm-up
(docs/sdk.md §Serving speed), then calls ``on_started``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from typing import Any, Final

import uvicorn
import uvloop

# granian's own entry points bind and fork for themselves; Lockgate binds, migrates and
# bootstraps once and forks its workers itself (kit/processes.py), so each worker drives
# granian's worker directly on the socket it inherited or opened, as granian's own worker
# processes do (granian/server/mp.py). These are granian's internal modules: pyproject pins
# granian to the minor version they were read from.
from granian._futures import _future_watcher_wrapper, _new_cbscheduler
from granian._granian import ASGIWorker, SocketHolder
from granian._signals import set_loop_signals
from granian.asgi import LifespanProtocol
from granian.asgi import _callback_wrapper as asgi_callback
from granian.http import HTTP1Settings
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lockgate.app import LockgateApp
from lockgate.kit.memory import settle_long_lived
from lockgate.kit.processes import BACKLOG
from lockgate.logs import ACCESS_LOGGER

logger = logging.getLogger(__name__)
access = logging.getLogger(ACCESS_LOGGER)

# Requests one granian worker takes on at once before it leaves further connections waiting
# in the socket's queue: granian's own default for a backlog of 2,048 shared by two workers.
GRANIAN_BACKPRESSURE: Final = BACKLOG // 2
# Rust threads doing a granian worker's network I/O (granian's default); Python code runs on
# the worker's one event loop thread whatever this is.
GRANIAN_RUNTIME_THREADS: Final = 1
# granian's TLS arguments, switched off: TLS ends at the proxy in front (docs/operations.md).
_NO_TLS: Final[tuple[object, ...]] = (False, None, None, None, "tls1.3", None, [], False)


def serve(
    server: str,
    app: LockgateApp,
    listener: socket.socket,
    log_level: str,
    on_started: Callable[[], None],
) -> None:
    """Serve ``app`` on ``listener`` with ``server`` ("granian" or "uvicorn") until SIGINT or
    SIGTERM; ``on_started`` runs once the app's start-up is done and connections are
    accepted, so what it reports is true."""
    if server == "granian":
        serve_granian(app, listener, on_started)
    else:
        serve_uvicorn(app, listener, log_level, on_started)


def _settle(app: LockgateApp) -> None:
    # Everything loaded so far (modules, routes, the app) lives as long as the process: keep
    # the collector from walking it during every full collection that the SDK routes'
    # short-lived objects trigger (docs/sdk.md §Serving speed).
    settle_long_lived()
    # The framework builds its routes' request parsers when the first request reaches them,
    # and caches fill as requests come: settle those too, once warm.
    if app.warmup is not None:
        app.warmup.arm()


def serve_granian(
    app: LockgateApp, listener: socket.socket, on_started: Callable[[], None]
) -> None:
    """granian's ASGI worker on ``listener``, with uvloop. HTTP/1.1 only, kept alive, no
    access log, no proxy headers (Lockgate reads X-Forwarded-For itself, from
    LOCKGATE_TRUSTED_PROXIES only: docs/operations.md §Behind a proxy)."""
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        lifespan = LifespanProtocol(app)  # type: ignore[no-untyped-call]
        loop.run_until_complete(lifespan.startup())  # type: ignore[no-untyped-call]
        if lifespan.interrupt:
            logger.error("the application failed to start", exc_info=lifespan.exc)
            raise SystemExit(3)
        stop = set_loop_signals(loop)  # type: ignore[no-untyped-call]
        stopped = asyncio.Event()
        stop.add_cb(lambda: loop.call_soon_threadsafe(stopped.set))
        # The arguments of granian/server/mp.py's ASGI worker (its .pyi lags behind them).
        worker_type: Any = ASGIWorker
        holder_type: Any = SocketHolder
        worker = worker_type(
            1,  # worker id, in granian's own log lines
            # A copy of the socket: granian closes the one it is given when it stops.
            (None, holder_type(os.dup(listener.fileno()), False, BACKLOG)),
            None,  # no metrics channel
            GRANIAN_RUNTIME_THREADS,
            512,  # blocking threads of the runtime (granian's default)
            1,  # Python threads: ASGI runs on the event loop
            30,  # their idle timeout, seconds
            GRANIAN_BACKPRESSURE,
            "1",  # HTTP/1.1, as uvicorn served
            HTTP1Settings(keep_alive=True),
            None,
            False,  # no websockets: Lockgate serves none
            None,  # no static files
            *_NO_TLS,
            (None, None),  # no metrics
        )
        served = _access_logged(app) if access.isEnabledFor(logging.INFO) else app
        callback = _future_watcher_wrapper(  # type: ignore[no-untyped-call]
            asgi_callback(served, {}, lifespan.state, None)  # type: ignore[no-untyped-call]
        )
        scheduler = _new_cbscheduler(  # type: ignore[no-untyped-call]
            loop, callback, impl_asyncio=True
        )
        worker.serve_mtr(scheduler, loop, stop)
        _settle(app)
        on_started()
        loop.run_until_complete(stopped.wait())
        loop.run_until_complete(lifespan.shutdown())  # type: ignore[no-untyped-call]
    finally:
        loop.close()


def _access_logged(app: ASGIApp) -> ASGIApp:
    """``app``, logging each request once answered in uvicorn's access format (client, request
    line with its query, status), which the log's key masking knows (``logs.py``)."""

    async def logged(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        status = 500  # what the client gets when the app fails before answering

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, sending)
        finally:
            query = scope["query_string"].decode("latin-1")
            path = f"{scope['path']}?{query}" if query else scope["path"]
            client = scope.get("client")
            peer = f"{client[0]}:{client[1]}" if client else "-"
            line = '%s - "%s %s HTTP/%s" %d'
            access.info(line, peer, scope["method"], path, scope["http_version"], status)

    return logged


class _UvicornServer(uvicorn.Server):
    """uvicorn's server, calling back once the app has started and the sockets accept."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            app = self.config.app
            if isinstance(app, LockgateApp):
                _settle(app)
            self._on_started()


def serve_uvicorn(
    app: LockgateApp, listener: socket.socket, log_level: str, on_started: Callable[[], None]
) -> None:
    """uvicorn on ``listener``, with httptools and uvloop."""
    # log_config=None: uvicorn's loggers keep to the handler and format the CLI set up.
    # httptools and uvloop (uvicorn's "auto" picks them when installed, as they are with
    # uvicorn[standard]) parse and loop in C; named here so that a missing one fails loudly.
    # proxy_headers=False: uvicorn would otherwise believe X-Forwarded-For from any local
    # peer; Lockgate reads it itself, from LOCKGATE_TRUSTED_PROXIES only (docs/operations.md
    # §Behind a proxy). It also spares every request a middleware.
    config = uvicorn.Config(
        app,
        log_level=log_level,
        log_config=None,
        http="httptools",
        loop="uvloop",
        proxy_headers=False,
    )
    _UvicornServer(config, on_started).run(sockets=[listener])
