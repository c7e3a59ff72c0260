"""Whether a JSON value can be stored and served: the one validator of free-form JSON (request
bodies, config and parameter values, event users and metadata) and of request text.

What it refuses, and why (the bounds are in ``kit.limits``):

- text holding the NUL character: PostgreSQL's text and jsonb cannot hold it;
- text that is not Unicode (a lone surrogate, which Python's JSON parser lets through from a
  ``\\ud800`` escape): no encoder can write it;
- nesting deeper than ``MAX_JSON_DEPTH`` levels: SDKs and encoders stop before 128 and 255;
- integers outside signed 64 bits, and the non-finite numbers ``NaN`` and ``Infinity``
  (which Python's parser accepts but JSON has no words for).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lockgate.errors import InvalidInput, Location
from lockgate.kit.limits import MAX_JSON_DEPTH, MAX_JSON_INT, MIN_JSON_INT

NUL = "must not contain the NUL character (\\u0000)"
NOT_UNICODE = "must be valid Unicode text (it holds a lone surrogate)"
_SHOWN_PARTS = 8  # a path deeper than this is shown cut, as "a.b.c.…"


@dataclass
class Problem:
    """What is wrong, and where: ``parts`` lead from the checked value to the culprit."""

    message: str
    parts: list[str | int] = field(default_factory=list)

    def where(self, prefix: str = "") -> str:
        """The culprit's path (``rules.0.returnValue.a``) under ``prefix``."""
        parts = [str(p) for p in ([prefix] if prefix else []) + self.parts]
        if len(parts) > _SHOWN_PARTS:
            parts = [*parts[:_SHOWN_PARTS], "…"]
        return ".".join(parts)


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None."""
    if "\x00" in text:
        return NUL
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return NOT_UNICODE
    return None


def find_problem(
    value: Any, *, max_depth: int = MAX_JSON_DEPTH, max_int: int = MAX_JSON_INT
) -> Problem | None:
    """The first part of ``value`` that cannot be stored or served, or None. (``max_int`` is
    higher for values that are stored but never served, such as event metadata.)"""
    too_deep = f"nests deeper than {max_depth} levels of objects and arrays"
    int_range = "signed 64-bit integers" if max_int == MAX_JSON_INT else f"integers up to {max_int}"

    def visit(item: Any, room: int) -> Problem | None:
        kind = type(item)
        if kind is str:
            message = text_problem(item)
            return None if message is None else Problem(message)
        if kind is dict:
            if room == 0:
                return Problem(too_deep)
            for key, child in item.items():
                if type(key) is str and (message := text_problem(key)) is not None:
                    return Problem(f"a key {message}")
                found = visit(child, room - 1)
                if found is not None:
                    found.parts.insert(0, key)
                    return found
            return None
        if kind is list or kind is tuple:
            if room == 0:
                return Problem(too_deep)
            for index, child in enumerate(item):
                found = visit(child, room - 1)
                if found is not None:
                    found.parts.insert(0, index)
                    return found
            return None
        if kind is int:
            if MIN_JSON_INT <= item <= max_int:
                return None
            return Problem(f"holds {item}, outside the {int_range}")
        if kind is float:
            return None if math.isfinite(item) else Problem(f"holds {item}, not a finite number")
        if item is None or kind is bool:
            return None
        return Problem(f"holds a {kind.__name__}, which is not a JSON value")

    return visit(value, max_depth)


def check_json(
    value: Any,
    field_name: str = "",
    *,
    location: Location = "body",
    max_depth: int = MAX_JSON_DEPTH,
) -> None:
    """Raise ``InvalidInput`` naming the culprit (under ``field_name``) if ``value`` cannot be
    stored or served."""
    problem = find_problem(value, max_depth=max_depth)
    if problem is not None:
        raise InvalidInput.field(
            problem.where(field_name) or location, problem.message, location=location
        )


def check_text(text: str, field_name: str, *, location: Location) -> None:
    message = text_problem(text)
    if message is not None:
        raise InvalidInput.field(field_name, message, location=location)


def check_params(path: Mapping[str, Any], query: Iterable[tuple[str, str]]) -> None:
    """A request's path parameters and query parameters (names and values), as text."""
    for name, value in path.items():
        check_text(str(value), name, location="path")
    for name, value in query:
        check_text(name, "query parameter names", location="query")
        check_text(value, name, location="query")
