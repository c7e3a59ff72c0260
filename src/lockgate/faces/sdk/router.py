"""Every SDK-facing router."""

from __future__ import annotations

from fastapi import APIRouter

from lockgate.faces.sdk.evaluation_routes import router as evaluation_router
from lockgate.faces.sdk.events_routes import router as events_router
from lockgate.faces.sdk.specs_routes import router as specs_router


def sdk_router() -> APIRouter:
    router = APIRouter()
    for child in (specs_router, events_router, evaluation_router):
        router.include_router(child)
    return router
