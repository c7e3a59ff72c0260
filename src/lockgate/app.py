"""``create_app(settings)``: the ASGI application serving the Console API, the SDKs and the web
console."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute
from starlette.types import Message, Receive, Scope, Send

from lockgate import __version__
from lockgate.domains.events import incoming
from lockgate.domains.events.writer import EventWriter
from lockgate.domains.experiments.schedule import ScheduledStarts
from lockgate.domains.ingestions.connections import Keys
from lockgate.domains.ingestions.loader import IngestionRunner
from lockgate.domains.keys.cache import KeyCache
from lockgate.domains.pulse.worker import pulse_worker
from lockgate.domains.reviews.worker import ReviewWorker
from lockgate.domains.specs.cache import SpecCache
from lockgate.domains.warehouse import service as warehouse_service
from lockgate.faces.console.bodies import ConsoleBodies
from lockgate.faces.console.errors import install_error_handlers
from lockgate.faces.console.ratelimit import RateLimiter
from lockgate.faces.console.router import console_router
from lockgate.faces.sdk.fast import SdkFastPath
from lockgate.faces.sdk.router import sdk_router
from lockgate.faces.web.router import install_web, web_router
from lockgate.kit.background import Periodic
from lockgate.kit.clock import Clock, SystemClock
from lockgate.kit.db import Database
from lockgate.kit.mail import Mailer
from lockgate.kit.memory import Warmup
from lockgate.kit.passwords import use_memory_cost
from lockgate.kit.proxies import parse_networks
from lockgate.kit.settings import Settings
from lockgate.storage.migrations import upgrade

logger = logging.getLogger(__name__)

# A worker settles its long-lived objects again this many requests after it starts serving and
# after it builds a new evaluator: by then its routes, caches and shared renderings are built
# (``kit/memory.py`` ``Warmup``; docs/sdk.md §Serving speed).
WARMUP_REQUESTS = 1_000


@cache
def _api_routes() -> tuple[BaseRoute, ...]:
    """The Console and SDK routes, built once per process and shared by every app it makes.

    Including a router makes FastAPI analyse every endpoint's signature and models, about half
    a second for all of them; the routes keep no reference to an app (they reach its state
    through each request), so a process that makes many apps (the tests make one per test)
    pays it once."""
    template = FastAPI()
    before = len(template.router.routes)  # its own docs and OpenAPI routes
    # SDK routes first: routes are matched in order, and the SDKs call many times more often
    # than Console clients (matching past every Console route was a third of a download).
    template.include_router(sdk_router())
    template.include_router(console_router())
    template.include_router(web_router())
    return tuple(template.router.routes[before:])


class LockgateApp(FastAPI):
    """The application, with the SDK's lean path in front of the framework: a cached
    ``download_config_specs`` is answered before any middleware, routing or dependency runs
    (``faces/sdk/fast.py``); every other request goes through FastAPI as usual."""

    sdk_fast_path: SdkFastPath | None = None
    worker_header: bool = False
    warmup: Warmup | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        warmup = self.warmup
        if warmup is not None:
            warmup.count()
        if self.worker_header and scope["type"] == "http":
            send = _naming_worker(send)
        fast = self.sdk_fast_path
        if fast is not None:
            rest = await fast.answer(scope, receive, send)
            if rest is None:
                return
            receive = rest
        await super().__call__(scope, receive, send)


def _naming_worker(send: Send) -> Send:
    """``send``, adding to the response a header with this process's id (read per request: a
    forked worker is not the process that made the app)."""
    header = (b"x-lockgate-worker", str(os.getpid()).encode("ascii"))

    async def named(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), header]}
        await send(message)

    return named


def create_app(
    settings: Settings, *, clock: Clock | None = None, database: Database | None = None
) -> LockgateApp:
    clock = clock or SystemClock()
    use_memory_cost(settings.password_hash_memory_kib)
    owns_database = database is None
    database = database or Database(settings)

    pulse_runner = pulse_worker(
        database,
        clock,
        stale_ms=settings.pulse_job_stale_ms,
        open_warehouse=warehouse_service.opener(settings),
    )
    mover = incoming.Mover(
        database,
        clock,
        interval_ms=settings.incoming_move_interval_ms,
        defer_ms=settings.incoming_move_defer_ms,
    )
    review_worker = ReviewWorker(
        database,
        clock,
        max_attempts=settings.webhook_max_attempts,
        mailer=Mailer.from_settings(settings),
    )
    review_runner = Periodic("reviews.worker", review_worker.run_once)
    ingestion_runner = IngestionRunner(
        database,
        clock,
        lambda: Keys.from_settings(settings),
        recheck_days=settings.ingestion_recheck_days,
    )
    ingestion_thread = Periodic("ingestions.worker", ingestion_runner.run_pending)
    scheduled_starts = ScheduledStarts(database, clock)
    scheduled_start_thread = Periodic("experiments.scheduled_starts", scheduled_starts.run_once)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        logger.info("Lockgate %s starting", __version__)
        if settings.run_migrations_on_start:
            upgrade(database.engine)
        if settings.pulse_worker_interval_ms > 0:
            pulse_runner.start(settings.pulse_worker_interval_ms / 1000)
        else:
            logger.info("no Pulse worker in this process (pulse_worker_interval_ms=0)")
        if settings.incoming_move_interval_ms > 0:
            mover.start(settings.incoming_move_interval_ms / 1000)
        else:
            logger.info("no background event mover (incoming_move_interval_ms=0)")
        if settings.review_worker_interval_ms > 0:
            review_runner.start(settings.review_worker_interval_ms / 1000)
        else:
            logger.info("no review worker in this process (review_worker_interval_ms=0)")
        if settings.ingestion_worker_interval_ms > 0:
            ingestion_thread.start(settings.ingestion_worker_interval_ms / 1000)
        else:
            logger.info("no ingestion worker in this process (ingestion_worker_interval_ms=0)")
        if settings.scheduled_start_interval_ms > 0:
            scheduled_start_thread.start(settings.scheduled_start_interval_ms / 1000)
        else:
            logger.info("no scheduled experiment starts in this process (interval 0)")
        yield
        logger.info("Lockgate shutting down")
        scheduled_start_thread.stop()
        ingestion_thread.stop()
        review_runner.stop()
        mover.stop()
        pulse_runner.stop()
        if owns_database:
            database.dispose()
        logger.info("Lockgate stopped")

    app = LockgateApp(
        title="Lockgate",
        version=__version__,
        description="Self-hosted experimentation platform speaking Statsig's Console API.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.trusted_proxies = parse_networks(settings.trusted_proxies)
    app.state.clock = clock
    app.state.database = database
    app.state.rate_limiter = RateLimiter(
        database, clock, settings.rate_limit_per_10s, settings.rate_limit_per_15min
    )
    app.warmup = Warmup(WARMUP_REQUESTS)
    app.state.spec_cache = SpecCache(
        database,
        settings.sdk_cache_ttl_ms,
        initialize_cache_bytes=settings.sdk_initialize_cache_bytes,
        initialize_delta_bytes=settings.sdk_initialize_delta_bytes,
        initialize_delta_revisions=settings.sdk_initialize_delta_revisions,
        warmup=app.warmup,
    )
    app.state.key_cache = KeyCache(database, settings.sdk_cache_ttl_ms)
    app.sdk_fast_path = SdkFastPath(
        app.state.key_cache,
        app.state.spec_cache,
        protobuf=settings.sdk_protobuf_specs,
        trusted_proxies=app.state.trusted_proxies,
        max_body_bytes=settings.sdk_max_body_bytes,
    )
    app.worker_header = settings.worker_header
    app.state.event_writer = EventWriter(database)
    app.state.pulse_runner = pulse_runner
    app.state.ingestion_runner = ingestion_runner
    app.state.review_worker = review_worker
    app.state.scheduled_starts = scheduled_starts
    app.add_middleware(ConsoleBodies)  # inside CORS, so its refusals carry CORS headers too
    install_error_handlers(app)
    # Browser SDKs call from any origin with custom headers, so preflights must pass.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["*"],
        max_age=86400,
    )
    install_web(app, settings)
    app.router.routes.extend(_api_routes())

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
