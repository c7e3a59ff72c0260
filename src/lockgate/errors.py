"""The one error hierarchy of Lockgate, free of any web framework.

Domains and cores raise these; each face renders them in its own envelope (the Console and SDK
faces as Statsig's ``{status, message}``, see ``faces/console/errors.py``). The messages are the
ones clients see, so they follow Statsig's wording where Statsig has one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict

INVALID_REQUEST = "Invalid request."  # how every 400 message begins, as Statsig's do
GENERIC_BAD_REQUEST = f"{INVALID_REQUEST} Please check the request input and try again."
GENERIC_NOT_FOUND = "Not Found. The requested resource could not be found."
FORBIDDEN = "Forbidden resource"
INTERNAL = "Internal server error. The request could not be completed."
NAME_IN_USE = "Name is already in use"


Location = Literal["body", "query", "path", "header"]
# One problem with one field of a request: where it was sent and what is wrong with it.
# (Declared functionally because ``in`` is a keyword.)
FieldProblem = TypedDict("FieldProblem", {"property": str, "in": Location, "message": str})


class LockgateError(Exception):
    """Base class of every error Lockgate reports to a client. Raise one of its kinds."""

    headers: Mapping[str, str] = {}  # response headers the answer carries besides the body

    def __init__(self, message: str, *, errors: Sequence[FieldProblem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors: list[FieldProblem] | None = list(errors) if errors else None


class InvalidInput(LockgateError):
    """The request is malformed or breaks a rule; ``errors`` names each field at fault."""

    @staticmethod
    def because(problem: str) -> InvalidInput:
        """A rule the request breaks, not one field's: ``Invalid request. {problem}``."""
        return InvalidInput(f"{INVALID_REQUEST} {problem}")

    @staticmethod
    def field(field: str, problem: str, *, location: Location = "body") -> InvalidInput:
        """One field at fault: the message is ``Invalid request. {field}: {problem}``."""
        return InvalidInput(
            f"{INVALID_REQUEST} {field}: {problem}",
            errors=[{"property": field, "in": location, "message": problem}],
        )


class Conflict(InvalidInput):
    """The request clashes with what exists (a name in use). Statsig reports it as bad input."""

    def __init__(self, message: str = NAME_IN_USE) -> None:
        super().__init__(message)


class Unauthorized(LockgateError):
    """No key, or a key that is unknown, deactivated or of the wrong kind."""


class Forbidden(LockgateError):
    """The key is valid but may not do this."""

    def __init__(self, message: str = FORBIDDEN) -> None:
        super().__init__(message)


class NotFound(LockgateError):
    """The addressed entity does not exist in the caller's project."""

    def __init__(self, message: str = GENERIC_NOT_FOUND) -> None:
        super().__init__(message)


class MethodNotAllowed(LockgateError):
    """The path exists but not with this method."""


class RateLimited(LockgateError):
    """The caller is over a rate limit; it may try again in ``retry_after_s`` seconds."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PayloadTooLarge(LockgateError):
    """The request body, as sent or once decompressed, is larger than the server accepts."""


class UnsupportedMediaType(LockgateError):
    """The request body is in an encoding the server cannot read."""


class RangeNotSatisfiable(LockgateError):
    """A ``Range`` starts at or past the end of a file of ``size`` bytes."""

    def __init__(self, start: int, size: int) -> None:
        problem = f"starts at byte {start}, at or past the end of the file ({size} bytes)"
        super().__init__(
            f"Range not satisfiable. Range: {problem}",
            errors=[{"property": "Range", "in": "header", "message": problem}],
        )
        self.headers = {"content-range": f"bytes */{size}"}


def describe_validation_errors(raw: Sequence[Mapping[str, Any]]) -> tuple[str, list[FieldProblem]]:
    """Turn a validator's error list (pydantic's shape) into one message naming each field."""
    details: list[FieldProblem] = []
    for error in raw:
        location = [str(part) for part in error.get("loc", ())]
        where: Location = "body"
        field_path = location
        if location and location[0] in {"body", "query", "path", "header"}:
            where, field_path = location[0], location[1:]  # type: ignore[assignment]
        field = ".".join(field_path) or where
        details.append({"property": field, "in": where, "message": _problem_text(error)})
    summary = "; ".join(f"{d['property']}: {d['message']}" for d in details[:5])
    if len(details) > 5:
        summary += f"; and {len(details) - 5} more"
    return f"{INVALID_REQUEST} {summary}", details


def _problem_text(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return "is required"
    if kind == "json_invalid":
        return f"malformed JSON ({error.get('ctx', {}).get('error', 'could not parse')})"
    if kind == "extra_forbidden":
        return "is not a recognised property"
    message = str(error.get("msg", "is invalid"))
    return message[:1].lower() + message[1:]
