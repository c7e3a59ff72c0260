"""JSON values: what a document holds where its shape is the user's (config values, parameter
values, targets, custom user fields)."""

from typing import TypeAlias

JsonValue: TypeAlias = str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None
JsonObject: TypeAlias = dict[str, JsonValue]
