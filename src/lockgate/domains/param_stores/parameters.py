"""Checking a store's parameters: the tagged union on ``ref_type`` and its type rules.

Each parameter is kept with exactly the fields of its variant, in one order, because the
stored object is what download_config_specs serves unchanged
(docs/compiling.md §Parameter stores). ``param_type`` uses JavaScript's type names: the JS
client compares it with ``typeof fallback``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

from lockgate.errors import InvalidInput

RefType = Literal["static", "gate", "dynamic_config", "experiment", "layer"]
ParamType = Literal["boolean", "number", "string", "object", "array"]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


TYPE_CHECKS: Final[dict[str, Callable[[Any], bool]]] = {
    "boolean": lambda value: isinstance(value, bool),
    "number": _is_number,
    "string": lambda value: isinstance(value, str),
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
}
TYPE_WORDS: Final = {
    "boolean": "a boolean",
    "number": "a number",
    "string": "a string",
    "object": "an object",
    "array": "an array",
}

# The field naming the referenced entity, per reference kind; None for static values.
ENTITY_FIELD: Final[dict[str, str | None]] = {
    "static": None,
    "gate": "gate_name",
    "dynamic_config": "config_name",
    "experiment": "experiment_name",
    "layer": "layer_name",
}
# Fields each variant holds besides name, ref_type and param_type, in stored order.
VARIANT_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "static": ("value",),
    "gate": ("gate_name", "pass_value", "fail_value"),
    "dynamic_config": ("config_name", "param_name"),
    "experiment": ("experiment_name", "param_name"),
    "layer": ("layer_name", "param_name"),
}
# Fields whose value must have the parameter's type.
TYPED_FIELDS: Final = frozenset({"value", "pass_value", "fail_value"})
MAX_NAME_LENGTH: Final = 100

# Whether an entity of a reference kind exists: (ref_type, entity name) -> bool.
Exists = Callable[[str, str], bool]


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput.field(where, "must be a non-empty string")
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidInput.field(where, f"must be at most {MAX_NAME_LENGTH} characters")
    return value


def _choice(where: str, value: Any, allowed: Mapping[str, Any]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise InvalidInput.field(where, f"must be one of {', '.join(allowed)}, got {value!r}")
    return value


def check_parameter(index: int, raw: Any, exists: Exists) -> dict[str, Any]:
    """One parameter as stored, or the first problem with it as a 400."""
    at = f"parameters[{index}]"
    if not isinstance(raw, Mapping):
        raise InvalidInput.field(at, "must be an object")
    name = _text(f"{at}.name", raw.get("name"))
    ref_type = _choice(f"{at}.ref_type", raw.get("ref_type"), ENTITY_FIELD)
    param_type = _choice(f"{at}.param_type", raw.get("param_type"), TYPE_CHECKS)
    parameter: dict[str, Any] = {"name": name, "ref_type": ref_type, "param_type": param_type}
    for field in VARIANT_FIELDS[ref_type]:
        where = f"{at}.{field}"
        if field not in raw:
            raise InvalidInput.field(where, f"is required when ref_type is {ref_type}")
        value = raw[field]
        if field in TYPED_FIELDS:
            if not TYPE_CHECKS[param_type](value):
                raise InvalidInput.field(
                    where, f"must be {TYPE_WORDS[param_type]}, as param_type is {param_type}"
                )
        else:
            value = _text(where, value)
        parameter[field] = value
    entity_field = ENTITY_FIELD[ref_type]
    if entity_field is not None and not exists(ref_type, parameter[entity_field]):
        raise InvalidInput.field(
            f"{at}.{entity_field}",
            f"no {ref_type.replace('_', ' ')} named {parameter[entity_field]!r} exists",
        )
    return parameter


def check_parameters(raw: list[Any], exists: Exists) -> list[dict[str, Any]]:
    """A whole parameter list as stored: each parameter valid, names unique within the store."""
    checked: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        parameter = check_parameter(index, item, exists)
        if parameter["name"] in seen:
            raise InvalidInput.field(
                f"parameters[{index}].name", f"{parameter['name']!r} is used by another parameter"
            )
        seen.add(parameter["name"])
        checked.append(parameter)
    return checked


def references(parameters: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """The (ref_type, entity name) pairs a parameter list reads from."""
    found: set[tuple[str, str]] = set()
    for parameter in parameters:
        field = ENTITY_FIELD.get(parameter.get("ref_type", ""))
        if field is not None and isinstance(parameter.get(field), str):
            found.add((parameter["ref_type"], parameter[field]))
    return found
