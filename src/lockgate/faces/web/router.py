"""The web console's routes and static files, and the headers every page carries."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lockgate.faces.web.pages import STATIC_DIR
from lockgate.faces.web.routes.configs import router as configs_router
from lockgate.faces.web.routes.events import router as events_router
from lockgate.faces.web.routes.experiment_lifecycle import router as lifecycle_router
from lockgate.faces.web.routes.experiment_setup import router as setup_router
from lockgate.faces.web.routes.experiments import router as experiments_router
from lockgate.faces.web.routes.gates import router as gates_router
from lockgate.faces.web.routes.holdouts import router as holdouts_router
from lockgate.faces.web.routes.home import router as home_router
from lockgate.faces.web.routes.keys import router as keys_router
from lockgate.faces.web.routes.layers import router as layers_router
from lockgate.faces.web.routes.members import router as members_router
from lockgate.faces.web.routes.metrics import router as metrics_router
from lockgate.faces.web.routes.results import router as results_router
from lockgate.faces.web.routes.roles import router as roles_router
from lockgate.faces.web.routes.search import router as search_router
from lockgate.faces.web.routes.segments import router as segments_router
from lockgate.faces.web.routes.settings import router as settings_router
from lockgate.faces.web.routes.teams import router as teams_router
from lockgate.faces.web.routes.unit_id_types import router as unit_id_types_router
from lockgate.faces.web.routes.users import router as users_router
from lockgate.faces.web.session import SessionCodec, SignInThrottle, load_secret
from lockgate.kit.settings import Settings

# No inline script and no third-party origin: scripts and styles come from /ui/static only.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def web_router() -> APIRouter:
    router = APIRouter()
    children = [home_router, gates_router, configs_router, segments_router, keys_router]
    children += [settings_router, members_router, roles_router, teams_router]
    children += [unit_id_types_router]
    children += [experiments_router, setup_router, lifecycle_router, layers_router]
    children += [holdouts_router]
    children += [results_router, metrics_router, events_router]
    children += [search_router, users_router]
    for child in children:
        router.include_router(child)
    return router


def install_web(app: FastAPI, settings: Settings) -> None:
    """Serve the console on ``app``: its session codec, static files and security headers."""
    app.state.web_sessions = SessionCodec(load_secret(settings.data_dir))
    app.state.web_sign_ins = SignInThrottle(app.state.database, app.state.clock)
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="web-static")

    app.add_middleware(PageHeaders)


class PageHeaders:
    """The security headers of every page under ``/ui``. Plain ASGI: the other paths (the SDK
    routes above all) pass through at the cost of one comparison."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/ui"):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
            await send(message)

        await self.app(scope, receive, with_headers)
