"""Success envelopes and pagination in the Console API's shapes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Query, Request

from lockgate.errors import InvalidInput
from lockgate.kit.limits import MAX_PAGE

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def single(message: str, data: Any) -> dict[str, Any]:
    return {"message": message, "data": data}


def message_only(message: str) -> dict[str, Any]:
    return {"message": message}


@dataclass(frozen=True)
class Page:
    """A validated ``limit``/``page`` pair (1-based pages)."""

    limit: int
    page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def _positive_int(name: str, raw: str | None, default: int, maximum: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(float(raw)) if "." in raw else int(raw)
    except (ValueError, OverflowError):  # not a number, or a float too large for an integer
        raise InvalidInput.field(name, f"must be a number, got {raw!r}", location="query") from None
    if value < 1:
        raise InvalidInput.field(name, f"must be at least 1, got {value}", location="query")
    if value > maximum:
        raise InvalidInput.field(name, f"must be at most {maximum}, got {value}", location="query")
    return value


def page_params(
    limit: str | None = Query(None, description="Results per page"),
    page: str | None = Query(None, description="Page number"),
) -> Page:
    """Query params arrive as strings (the spec types them ``oneOf(string, number)``)."""
    return Page(
        limit=_positive_int("limit", limit, DEFAULT_LIMIT, MAX_LIMIT),
        page=_positive_int("page", page, 1, MAX_PAGE),
    )


def paginated(
    message: str,
    items: Sequence[Any],
    total: int,
    page: Page,
    request: Request,
) -> dict[str, Any]:
    """``items`` is the current page; ``total`` counts every matching item."""
    path = request.url.path
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in {"page", "limit"}]

    def link(number: int) -> str:
        query = [*kept, ("page", str(number)), ("limit", str(page.limit))]
        return f"{path}?{urlencode(query)}"

    has_next = page.offset + len(items) < total
    return {
        "message": message,
        "data": list(items),
        "pagination": {
            "itemsPerPage": page.limit,
            "pageNumber": page.page,
            "nextPage": link(page.page + 1) if has_next else None,
            "previousPage": link(page.page - 1) if page.page > 1 else None,
            "totalItems": total,
            "all": path,
        },
    }


def multi_value(request: Request, name: str) -> list[str]:
    """A query filter given once, repeated (``?tags=a&tags=b``) or as ``tags[]=``."""
    values: list[str] = []
    for key in (name, f"{name}[]"):
        values.extend(v for v in request.query_params.getlist(key) if v != "")
    return values
