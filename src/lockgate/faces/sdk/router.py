"""Every SDK-facing router."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from lockgate.faces.sdk.evaluation_routes import router as evaluation_router
from lockgate.faces.sdk.events_routes import router as events_router
from lockgate.faces.sdk.specs_routes import router as specs_router
from lockgate.kit.jsonvalues import check_params


async def checked_params(request: Request) -> None:
    """Path ids and query parameters that no database could take are a 400 naming them."""
    check_params(request.path_params, request.query_params.multi_items())


def sdk_router() -> APIRouter:
    router = APIRouter(dependencies=[Depends(checked_params)])
    for child in (specs_router, events_router, evaluation_router):
        router.include_router(child)
    return router
