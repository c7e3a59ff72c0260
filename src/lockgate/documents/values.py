"""JSON values: what a document holds where its shape is the user's (config values, parameter
values, targets, custom user fields)."""

from collections.abc import Mapping, Sequence
from typing import TypeAlias

# Read-only containers, so that a list[str] or a dict[str, int] is a JsonValue too.
JsonValue: TypeAlias = (
    str | int | float | bool | Sequence["JsonValue"] | Mapping[str, "JsonValue"] | None
)
# A JSON object a document owns and may change.
JsonObject: TypeAlias = dict[str, JsonValue]
