"""Every Console API router, mounted under ``/console/v1``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from lockgate.faces.console.inputs import checked_input
from lockgate.faces.console.routes.audit import router as audit_router
from lockgate.faces.console.routes.autotunes import router as autotunes_router
from lockgate.faces.console.routes.configs import router as configs_router
from lockgate.faces.console.routes.environments import router as environments_router
from lockgate.faces.console.routes.events import router as events_router
from lockgate.faces.console.routes.experiments import router as experiments_router
from lockgate.faces.console.routes.gates import router as gates_router
from lockgate.faces.console.routes.holdouts import router as holdouts_router
from lockgate.faces.console.routes.ingestions import router as ingestions_router
from lockgate.faces.console.routes.keys import router as keys_router
from lockgate.faces.console.routes.layers import router as layers_router
from lockgate.faces.console.routes.metrics import router as metrics_router
from lockgate.faces.console.routes.param_stores import router as param_stores_router
from lockgate.faces.console.routes.projects import router as projects_router
from lockgate.faces.console.routes.reviews import router as reviews_router
from lockgate.faces.console.routes.roles import router as roles_router
from lockgate.faces.console.routes.segments import router as segments_router
from lockgate.faces.console.routes.settings import router as settings_router
from lockgate.faces.console.routes.tags import router as tags_router
from lockgate.faces.console.routes.targetapps import router as targetapps_router
from lockgate.faces.console.routes.unit_id_types import router as unit_id_types_router
from lockgate.faces.console.routes.users import router as users_router
from lockgate.faces.console.routes.warehouse import router as warehouse_router
from lockgate.faces.console.routes.warehouse_sources import router as warehouse_sources_router

PREFIX = "/console/v1"


def console_router() -> APIRouter:
    # Every route refuses path ids, query parameters and bodies that cannot be stored.
    router = APIRouter(prefix=PREFIX, dependencies=[Depends(checked_input)])
    for child in (
        # First: its literal /experiments/... and /metrics/... paths must match before {id}.
        warehouse_sources_router,
        keys_router,
        tags_router,
        targetapps_router,
        audit_router,
        projects_router,
        environments_router,
        unit_id_types_router,
        users_router,
        roles_router,
        settings_router,
        gates_router,
        configs_router,
        segments_router,
        experiments_router,
        layers_router,
        holdouts_router,
        autotunes_router,
        param_stores_router,
        reviews_router,
        events_router,
        warehouse_router,
        ingestions_router,
        # Last: routers with literal /metrics/... paths (metric sources) must come before it.
        metrics_router,
    ):
        router.include_router(child)
    return router


def served_operations(app: FastAPI) -> set[tuple[str, str]]:
    """(METHOD, path) of every Console API operation ``app`` serves, read from its OpenAPI."""
    served: set[tuple[str, str]] = set()
    for path, item in app.openapi()["paths"].items():
        if path.startswith(PREFIX):
            served.update((method.upper(), path) for method in item)
    return served
