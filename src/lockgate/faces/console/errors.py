"""The one renderer: every failure becomes Statsig's ``{status, message}`` body.

The hierarchy lives in ``lockgate.errors``; this module maps each kind to its HTTP status and
installs the handlers that render it, along with the framework's own validation and routing
errors. The SDK face shares it: its routes are served by the same application.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from lockgate.errors import (
    GENERIC_NOT_FOUND,
    INTERNAL,
    FieldProblem,
    Forbidden,
    InvalidInput,
    LockgateError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    UnsupportedMediaType,
    describe_validation_errors,
)

logger = logging.getLogger(__name__)

# Checked in order, so a subclass must come before its base (``Conflict`` is an ``InvalidInput``).
STATUS_OF: tuple[tuple[type[LockgateError], int], ...] = (
    (InvalidInput, 400),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (MethodNotAllowed, 405),
    (PayloadTooLarge, 413),
    (UnsupportedMediaType, 415),
    (RateLimited, 429),
)


def status_of(error: LockgateError) -> int:
    """The HTTP status Statsig answers ``error``'s kind with; 500 for the bare base class."""
    return next((status for kind, status in STATUS_OF if isinstance(error, kind)), 500)


def error_body(status: int, message: str, errors: list[FieldProblem] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"status": status, "message": message}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status)


def render(error: LockgateError) -> JSONResponse:
    """``error`` as its status and body; a rate limit also says when to retry."""
    response = error_body(status_of(error), error.message, error.errors)
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after_s)
    return response


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LockgateError)
    async def _lockgate_error(_request: Request, exc: LockgateError) -> JSONResponse:
        return render(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in raw):
            return error_body(400, "Invalid request. The request body is not valid JSON.")
        message, details = describe_validation_errors(raw)
        return error_body(400, message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error_body(404, GENERIC_NOT_FOUND)
        if exc.status_code == 405:
            return error_body(405, f"Method {request.method} is not allowed on {request.url.path}.")
        return error_body(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        # The traceback goes to the log, never to the client.
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_body(500, INTERNAL)
