"""``create_app(settings)``: the ASGI application serving the Console API (and, later, the SDKs)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute

from lockgate import __version__
from lockgate.domains.events import incoming
from lockgate.domains.events.writer import EventWriter
from lockgate.domains.pulse.worker import pulse_worker
from lockgate.domains.specs.cache import SpecCache
from lockgate.faces.console.errors import install_error_handlers
from lockgate.faces.console.ratelimit import RateLimiter
from lockgate.faces.console.router import console_router
from lockgate.faces.sdk.router import sdk_router
from lockgate.kit.clock import Clock, SystemClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.migrations import upgrade

logger = logging.getLogger("lockgate")


@cache
def _api_routes() -> tuple[BaseRoute, ...]:
    """The Console and SDK routes, built once per process and shared by every app it makes.

    Including a router makes FastAPI analyse every endpoint's signature and models, about half
    a second for all of them; the routes keep no reference to an app (they reach its state
    through each request), so a process that makes many apps (the tests make one per test)
    pays it once."""
    template = FastAPI()
    before = len(template.router.routes)  # its own docs and OpenAPI routes
    template.include_router(console_router())
    template.include_router(sdk_router())
    return tuple(template.router.routes[before:])


def create_app(
    settings: Settings, *, clock: Clock | None = None, database: Database | None = None
) -> FastAPI:
    clock = clock or SystemClock()
    owns_database = database is None
    database = database or Database(settings)

    pulse_runner = pulse_worker(database, clock)
    mover = incoming.mover(database)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.run_migrations_on_start:
            upgrade(database.engine)
        if settings.pulse_worker_interval_ms > 0:
            pulse_runner.start(settings.pulse_worker_interval_ms / 1000)
        if settings.incoming_move_interval_ms > 0:
            mover.start(settings.incoming_move_interval_ms / 1000)
        yield
        mover.stop()
        pulse_runner.stop()
        if owns_database:
            database.dispose()

    app = FastAPI(
        title="Lockgate",
        version=__version__,
        description="Self-hosted experimentation platform speaking Statsig's Console API.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.database = database
    app.state.rate_limiter = RateLimiter(
        database, clock, settings.rate_limit_per_10s, settings.rate_limit_per_15min
    )
    app.state.spec_cache = SpecCache(database)
    app.state.event_writer = EventWriter(database)
    app.state.pulse_runner = pulse_runner
    install_error_handlers(app)
    # Browser SDKs call from any origin with custom headers, so preflights must pass.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["*"],
        max_age=86400,
    )
    app.router.routes.extend(_api_routes())

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
