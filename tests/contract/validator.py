"""Validate Console API responses against the official spec's response schemas.

Every response a test receives through ``ContractClient`` is matched to its operation and
checked; the operations that returned a validated 2xx are recorded so the suite can prove that
every implemented operation is covered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SPEC_PATH = Path(__file__).with_name("console_spec.json")
PREFIX = "/console/v1"


@cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text())  # type: ignore[no-any-return]


def _to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: ``nullable`` becomes a union with null."""
    if isinstance(node, list):
        return [_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    converted = {k: _to_json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@cache
def _components() -> dict[str, Any]:
    return _to_json_schema(spec()["components"])  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    pattern: re.Pattern[str]
    literal_segments: int


@cache
def operations() -> tuple[Operation, ...]:
    found = []
    for path, methods in spec()["paths"].items():
        regex = "^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path)) + "$"
        literals = sum(1 for seg in path.split("/") if seg and not seg.startswith("{"))
        for method in methods:
            found.append(Operation(method.upper(), path, re.compile(regex), literals))
    # Literal segments win over parameters (`/metrics/list` before `/metrics/{id}`).
    return tuple(sorted(found, key=lambda o: -o.literal_segments))


def match_operation(method: str, url_path: str) -> Operation | None:
    for op in operations():
        if op.method == method.upper() and op.pattern.match(url_path):
            return op
    return None


def _multiple_of(validator: Any, multiple: Any, instance: Any, schema: Any) -> Any:
    """``multipleOf`` in decimal arithmetic: 33.33 is a multiple of 0.01, whatever binary
    floating point says."""
    if not validator.is_type(instance, "number") or isinstance(instance, bool):
        return
    if Decimal(str(instance)) % Decimal(str(multiple)) != 0:
        yield jsonschema.ValidationError(f"{instance!r} is not a multiple of {multiple}")


Validator = jsonschema.validators.extend(jsonschema.Draft4Validator, {"multipleOf": _multiple_of})

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"status": {"type": "integer"}, "message": {"type": "string"}},
    "required": ["status", "message"],
}


@dataclass
class Coverage:
    validated: set[tuple[str, str]] = field(default_factory=set)


COVERAGE = Coverage()

# The runs that collect every test able to validate an operation: a plain `pytest` and
# `make test-sqlite` (-m "not slow"; the slow tests validate no operation that others leave
# out). Any other mark expression (the PostgreSQL suite's among them), a -k, an --ignore, or
# paths other than the tests directory run a part of the suite, which proves nothing about
# coverage. (`make test` runs the SQLite suite in two parts and checks their union:
# tests/contract/every_operation.py.)
WHOLE_SUITE_MARK_EXPRESSIONS = frozenset({"", "not slow"})
WHOLE_SUITE_PATHS = frozenset({"tests", "tests/"})


def checks_every_operation(
    markexpr: str, keyword: str, args: Sequence[str], ignored: Sequence[str] = ()
) -> bool:
    """Whether a run with this ``-m`` expression, ``-k`` expression, path arguments and
    ``--ignore`` paths is a run of the whole suite, which must have validated every implemented
    operation."""
    if keyword or ignored or markexpr not in WHOLE_SUITE_MARK_EXPRESSIONS:
        return False
    return all(arg in WHOLE_SUITE_PATHS for arg in args)


def unvalidated(
    implemented: Iterable[tuple[str, str]], validated: Iterable[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The implemented operations (method, path) that no response validated, sorted."""
    return sorted(set(implemented) - set(validated))


def validate_request(method: str, url_path: str, body: Any) -> None:
    """Raise ``AssertionError`` when a request ``body`` breaks the operation's documented
    request schema: what a test sends is what a Statsig client may send."""
    op = match_operation(method, url_path)
    assert op is not None, f"{method} {url_path} is not an operation of the spec"
    documented = spec()["paths"][op.path][op.method.lower()]["requestBody"]
    schema = documented["content"]["application/json"]["schema"]
    root = {**_to_json_schema(schema), "components": _components()}
    try:
        Validator(root).validate(body)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        raise AssertionError(f"{op.method} {op.path} request: {exc.message} at '{where}'") from None


def validate_response(method: str, url_path: str, status: int, body: Any) -> Operation | None:
    """Raise ``AssertionError`` when ``body`` breaks the documented schema for ``status``."""
    op = match_operation(method, url_path)
    if op is None:
        return None
    responses = spec()["paths"][op.path][op.method.lower()]["responses"]
    schema = responses.get(str(status))
    if status >= 400:
        schema = ERROR_SCHEMA
        assert body.get("status") == status, f"error status field {body.get('status')} != {status}"
    elif schema is None:
        documented = sorted(responses)
        raise AssertionError(
            f"{op.method} {op.path} answered {status}; spec documents {documented}"
        )
    root = {**_to_json_schema(schema), "components": _components()}
    try:
        Validator(root).validate(body)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        raise AssertionError(
            f"{op.method} {op.path} -> {status}: {exc.message} at '{where}'"
        ) from None
    if 200 <= status < 300:
        COVERAGE.validated.add((op.method, op.path))
    return op
