"""A dynamic config's values: JSON objects written as JSON or JSON5, checked against the
config's optional JSON Schema (Draft 2020-12, as Statsig documents ``schema``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from lockgate.documents.values import JsonObject, JsonValue
from lockgate.domains.configs import json5
from lockgate.errors import InvalidInput
from lockgate.kit.jsonvalues import check_json

Schema = JsonObject


def parse_json5(text: str, where: str) -> Any:
    """A JSON5 text's value, which must be storable as JSON like any value sent as JSON."""
    try:
        value = json5.loads(text)
    except json5.Json5Error as exc:
        raise InvalidInput.field(where, f"is not valid JSON5 ({exc})") from None
    check_json(value, where)
    return value


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else type(value).__name__


def object_value(value: object, where: str) -> JsonObject:
    """A value as written: a JSON object, or a JSON5 text that parses to one."""
    if isinstance(value, str):
        value = parse_json5(value, where)
    if not isinstance(value, dict):
        raise InvalidInput.field(where, f"must be a JSON object, got {_type_name(value)}")
    return value


def resolve_value(
    value: object, value_json5: str | None, where: str
) -> tuple[JsonObject, str | None]:
    """``(value, json5 text)`` from a value and/or its JSON5 form, which must agree."""
    if value_json5 is None:
        return object_value({} if value is None else value, where), None
    parsed = object_value(value_json5, f"{where}Json5")
    if value is not None and object_value(value, where) != parsed:
        raise InvalidInput.field(f"{where}Json5", f"does not parse to the same JSON as {where}")
    return parsed, value_json5


def resolve_schema(
    schema: str | None, schema_json5: str | None
) -> tuple[Schema | None, str | None, str | None]:
    """``(parsed schema, schema, schemaJson5)``; blank or null texts mean "no schema"."""
    schema = schema if schema and schema.strip() else None
    schema_json5 = schema_json5 if schema_json5 and schema_json5.strip() else None
    if schema is None and schema_json5 is None:
        return None, None, None
    parsed = object_value(schema_json5 if schema is None else schema, _source(schema))
    if (
        schema is not None
        and schema_json5 is not None
        and (object_value(schema_json5, "schemaJson5") != parsed)
    ):
        raise InvalidInput.field("schemaJson5", "does not parse to the same JSON as schema")
    validator = jsonschema.validators.validator_for(parsed, default=jsonschema.Draft202012Validator)
    try:
        validator.check_schema(parsed)
    except jsonschema.SchemaError as exc:
        raise InvalidInput.field(
            _source(schema), f"is not a valid JSON Schema: {exc.message}"
        ) from None
    stored = schema if schema is not None else json.dumps(parsed)
    return parsed, stored, schema_json5


def _source(schema: str | None) -> str:
    return "schema" if schema is not None else "schemaJson5"


def check_against(schema: Schema | None, value: Mapping[str, JsonValue], where: str) -> None:
    """Raise a 400 naming ``where`` and the first violation when ``value`` breaks ``schema``."""
    if schema is None:
        return
    validator_class = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft202012Validator
    )
    error = best_match(validator_class(schema).iter_errors(value))
    if error is None:
        return
    at = "/".join(str(part) for part in error.absolute_path)
    location = f" at '{at}'" if at else ""
    raise InvalidInput.field(where, f"does not match the schema: {error.message}{location}")


def value_checker(schema: Schema | None) -> Callable[[object, str], JsonObject]:
    """The ``RuleContext.check_value`` of a config: parse, require an object, apply the schema."""

    def check(value: object, where: str) -> JsonObject:
        parsed = object_value(value, where)
        check_against(schema, parsed, where)
        return parsed

    return check


_INFERRED_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),  # before int: a bool is an int in Python
    (int, "number"),  # a number, not an integer: a default of 1 may well become 1.5
    (float, "number"),
    (str, "string"),
)


def infer_schema(value: JsonValue) -> Schema:
    """A JSON Schema that ``value`` satisfies: its types, every key of each object required.
    A starting point to edit, as the console's "Infer from default value" offers it."""
    for python_type, name in _INFERRED_TYPES:
        if isinstance(value, python_type):
            return {"type": name}
    if isinstance(value, Mapping):
        return {
            "type": "object",
            "properties": {str(key): infer_schema(item) for key, item in value.items()},
            "required": [str(key) for key in value],
        }
    if isinstance(value, Sequence):
        kinds = [infer_schema(item) for item in value]
        # One items schema when every element agrees; otherwise any element is accepted.
        items = kinds[0] if kinds and all(kind == kinds[0] for kind in kinds) else {}
        return {"type": "array", "items": items}
    return {"type": "null"}
