"""The JSON5 reader behind the ``*Json5`` fields: what it accepts and what it refuses."""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.domains.configs.json5 import Json5Error, loads

pytestmark = pytest.mark.database_free


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ("{a: 1, b: 'two',}", {"a": 1, "b": "two"}),
        ("// note\n{a: /* inline */ [1, 2,],}", {"a": [1, 2]}),
        ("{$x_1: null, y: true, z: false}", {"$x_1": None, "y": True, "z": False}),
        ("[0x1F, +3, -2, .5, 5., 1e3, -1.5E-2]", [31, 3, -2, 0.5, 5.0, 1000.0, -0.015]),
        ("'it\\'s \\x41\\u0042\\n'", "it's AB\n"),
        ('"line \\\ncontinued"', "line continued"),
        ("  \ufeff\u00a0 42 // end", 42),
        ('{"a": {"b": {"c": []}}}', {"a": {"b": {"c": []}}}),
        ("{a: 1, a: 2}", {"a": 2}),
        ("'\\ud83d\\ude00 \\u00e9'", "\U0001f600 \u00e9"),  # a UTF-16 pair is one character
    ],
)
def test_loads__json5_syntax__parses_to_json(text: str, expected: Any) -> None:
    assert loads(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty document"),
        ("{", "expected a property name"),
        ("{a 1}", "expected ':'"),
        ("[1 2]", "expected ',' or ']'"),
        ("{a: 1,, }", "expected a property name"),
        ("Infinity", "cannot be represented in JSON"),
        ("[-NaN]", "cannot be represented in JSON"),
        ("01", "leading zeros"),
        ("0x", "hex number needs digits"),
        ("1e", "exponent needs digits"),
        ("'open", "unterminated string"),
        ("/* open", "unterminated comment"),
        ("'a\nb'", "line break inside a string"),
        ("'\\1'", "invalid escape"),
        ("'\\u12'", "needs 4 hex digits"),
        ("'\\ud800'", "unpaired surrogate"),
        ("'\\ude00\\ud800'", "unpaired surrogate"),
        ("'\\ud83dx'", "unpaired surrogate"),
        ("'\\ud83d\\u0041'", "unpaired surrogate"),
        ("'\ud800'", "unpaired surrogate"),  # the character itself, not an escape
        ("1_000", "invalid number"),  # no digit separators in JSON5
        ("1e999", "too large"),
        ("undefined", "unexpected word"),
        ("{} {}", "after the value"),
        ("[" * 200 + "]" * 200, "nesting deeper"),
    ],
)
def test_loads__invalid_text__error_names_problem_and_position(text: str, problem: str) -> None:
    with pytest.raises(Json5Error) as raised:
        loads(text)
    assert problem in str(raised.value)
    assert "line " in str(raised.value) and "column " in str(raised.value)


def test_loads__error_on_second_line__reports_line_and_column() -> None:
    with pytest.raises(Json5Error) as raised:
        loads("{\n  a: 1\n  b: 2\n}")
    assert (raised.value.line, raised.value.column) == (3, 3)
