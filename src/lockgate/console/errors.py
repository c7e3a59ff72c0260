"""One error hierarchy and one renderer: every failure becomes Statsig's ``{status, message}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("lockgate.console")

GENERIC_BAD_REQUEST = "Invalid request. Please check the request input and try again."
GENERIC_NOT_FOUND = "Not Found. The requested resource could not be found."
FORBIDDEN = "Forbidden resource"
INTERNAL = "Internal server error. The request could not be completed."


class ConsoleError(Exception):
    """An error with a Statsig-shaped body. Raise a subclass; the renderer does the rest."""

    status = 500

    def __init__(self, message: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors


class BadRequest(ConsoleError):
    status = 400


class Unauthorized(ConsoleError):
    status = 401


class Forbidden(ConsoleError):
    status = 403

    def __init__(self, message: str = FORBIDDEN) -> None:
        super().__init__(message)


class NotFound(ConsoleError):
    status = 404

    def __init__(self, message: str = GENERIC_NOT_FOUND) -> None:
        super().__init__(message)


class MethodNotAllowed(ConsoleError):
    status = 405


class RateLimited(ConsoleError):
    status = 429


def error_body(
    status: int, message: str, errors: list[dict[str, Any]] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"status": status, "message": message}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status)


def describe_validation_errors(raw: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Turn pydantic's error list into one readable message naming each field and problem."""
    details: list[dict[str, Any]] = []
    for error in raw:
        location = [str(part) for part in error.get("loc", ())]
        if location and location[0] in {"body", "query", "path", "header"}:
            where, field_path = location[0], location[1:]
        else:
            where, field_path = "body", location
        field = ".".join(field_path) or where
        problem = _problem_text(error)
        details.append({"property": field, "in": where, "message": problem})
    summary = "; ".join(f"{d['property']}: {d['message']}" for d in details[:5])
    if len(details) > 5:
        summary += f"; and {len(details) - 5} more"
    return f"Invalid request. {summary}", details


def _problem_text(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return "is required"
    if kind == "json_invalid":
        return f"malformed JSON ({error.get('ctx', {}).get('error', 'could not parse')})"
    if kind == "extra_forbidden":
        return "is not a recognised property"
    message = str(error.get("msg", "is invalid"))
    return message[:1].lower() + message[1:]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ConsoleError)
    async def _console_error(_request: Request, exc: ConsoleError) -> JSONResponse:
        return error_body(exc.status, exc.message, exc.errors)

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
