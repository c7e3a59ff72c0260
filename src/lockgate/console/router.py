"""Every Console API router, mounted under ``/console/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from lockgate.history.routes import router as audit_router
from lockgate.keys.routes import router as keys_router
from lockgate.projects.routes import router as projects_router
from lockgate.tags.routes import router as tags_router

PREFIX = "/console/v1"


def console_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX)
    for child in (keys_router, tags_router, audit_router, projects_router):
        router.include_router(child)
    return router
