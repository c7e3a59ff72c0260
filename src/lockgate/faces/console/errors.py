"""The one renderer: every failure becomes Statsig's ``{status, message}`` body.

The hierarchy lives in ``lockgate.errors``; this module maps each kind to its HTTP status and
installs the handlers that render it, along with the framework's own validation and routing
errors. The SDK face shares it: its routes are served by the same application.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    RangeNotSatisfiable,
    RateLimited,
    Unauthorized,
    UnsupportedMediaType,
    describe_validation_errors,
)
from lockgate.faces.console.context import ReviewSubmitted

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
    (RangeNotSatisfiable, 416),
)


def status_of(error: LockgateError) -> int:
    """The HTTP status Statsig answers ``error``'s kind with; 500 for the bare base class."""
    return next((status for kind, status in STATUS_OF if isinstance(error, kind)), 500)


def error_body(
    status: int,
    message: str,
    errors: list[FieldProblem] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"status": status, "message": message}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers)


class UnexpectedErrors:
    """Answers an exception no handler took with the 500 envelope, and ends it there.

    Starlette's own outermost error middleware would answer it too, but then raises it again
    for the server to log, and uvicorn, seeing the application fail, closes the connection:
    the client's next request on that kept-alive connection is reset. Caught here, the
    exception is logged once (with its traceback, never sent) and the connection stays open.
    Installed inside the CORS middleware, so a browser can read the 500 too.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            if started:  # part of a response is out: only closing the connection can end it
                raise
            logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            await error_body(500, INTERNAL)(scope, receive, send)


def render(error: LockgateError) -> JSONResponse:
    """``error`` as its status and body; a rate limit also says when to retry."""
    response = error_body(status_of(error), error.message, error.errors, error.headers)
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after_s)
    return response


def install_error_handlers(app: FastAPI) -> None:
    """The handlers of every error kind, and the middleware of unexpected ones (install it
    before any middleware that should wrap error responses, such as CORS)."""
    app.add_middleware(UnexpectedErrors)

    @app.exception_handler(LockgateError)
    async def _lockgate_error(_request: Request, exc: LockgateError) -> JSONResponse:
        return render(exc)

    @app.exception_handler(ReviewSubmitted)
    async def _review_submitted(_request: Request, exc: ReviewSubmitted) -> JSONResponse:
        return JSONResponse({"message": exc.message, "data": exc.data})

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in raw):
            return render(InvalidInput.because("The request body is not valid JSON."))
        message, details = describe_validation_errors(raw)
        return error_body(400, message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error_body(404, GENERIC_NOT_FOUND)
        if exc.status_code == 405:
            return error_body(405, f"Method {request.method} is not allowed on {request.url.path}.")
        return error_body(exc.status_code, str(exc.detail))
