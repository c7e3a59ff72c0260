"""``infer_schema``: the schema the console's "Infer from default value" offers is one the value
satisfies, with its types and every key required, and it refuses values of other shapes."""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.documents.values import JsonValue
from lockgate.domains.configs.values import check_against, infer_schema
from lockgate.errors import InvalidInput

pytestmark = pytest.mark.database_free

DEFAULT: dict[str, JsonValue] = {
    "title": "Hi",
    "count": 1,
    "ratio": 0.5,
    "on": True,
    "tags": ["a", "b"],
    "mixed": [1, "a"],
    "none": None,
    "nested": {"cta": "Go"},
}


def test_infer_schema__object__types_and_every_key_required() -> None:
    schema = infer_schema(DEFAULT)
    assert schema == {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "count": {"type": "number"},
            "ratio": {"type": "number"},
            "on": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "mixed": {"type": "array", "items": {}},
            "none": {"type": "null"},
            "nested": {
                "type": "object",
                "properties": {"cta": {"type": "string"}},
                "required": ["cta"],
            },
        },
        "required": list(DEFAULT),
    }
    check_against(schema, DEFAULT, "defaultValue")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"on": 1}, "1 is not of type 'boolean' at 'on'"),
        ({"count": 1.5}, None),  # a number, not only an integer
        ({"tags": ["a", 2]}, "2 is not of type 'string' at 'tags/1'"),
        ({"nested": {}}, "'cta' is a required property at 'nested'"),
    ],
    ids=["bool-is-not-int", "int-may-become-float", "array-items", "nested-required"],
)
def test_infer_schema__other_values__checked_against_it(
    change: dict[str, Any], fragment: str | None
) -> None:
    schema = infer_schema(DEFAULT)
    value = {**DEFAULT, **change}
    if fragment is None:
        check_against(schema, value, "value")
        return
    with pytest.raises(InvalidInput) as refused:
        check_against(schema, value, "value")
    assert fragment in refused.value.message
