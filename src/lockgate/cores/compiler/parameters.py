"""Layer parameters: their declared types and the values that fit them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lockgate.documents.values import JsonObject, JsonValue
from lockgate.errors import InvalidInput

_FITS: dict[str, Callable[[object], bool]] = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


def fits(param_type: str, value: object) -> bool:
    check = _FITS.get(param_type)
    return check is not None and check(value)


def defaults(layer: Mapping[str, Any]) -> JsonObject:
    """``{name: defaultValue}`` in declaration order: the layer's ``defaultValue`` in specs."""
    return {p["name"]: p["defaultValue"] for p in layer.get("parameters") or []}


def check_values(layer: Mapping[str, Any], values: Mapping[str, JsonValue], where: str) -> None:
    """Every key of ``values`` must be a parameter of ``layer`` with a value of its type."""
    declared = {p["name"]: p["type"] for p in layer.get("parameters") or []}
    for key, value in values.items():
        if key not in declared:
            known = ", ".join(declared) or "none"
            raise InvalidInput.because(
                f"{where}: {key!r} is not a parameter of layer "
                f"{layer['id']!r} (parameters: {known})"
            )
        if not fits(declared[key], value):
            raise InvalidInput.because(
                f"{where}: {key!r} must be a {declared[key]} "
                f"(the layer parameter's type), got {value!r}"
            )


def used_names(groups: Sequence[Mapping[str, Any]]) -> list[str]:
    """Parameter names an experiment's groups set, in first-seen order."""
    seen: dict[str, None] = {}
    for group in groups:
        for key in group.get("parameterValues") or {}:
            seen.setdefault(key, None)
    return list(seen)
