"""A small, safe JSON5 reader: what Statsig's ``*Json5`` fields accept, parsed to plain JSON.

JSON5 adds comments, trailing commas, single-quoted strings, unquoted keys, hex numbers and
leading/trailing decimal points to JSON. Values must still be representable as JSON, so
``Infinity`` and ``NaN`` are refused rather than silently turned into something else, and so is
half of a UTF-16 surrogate pair (it cannot be stored as UTF-8). Nesting depth is bounded so a
hostile document cannot exhaust the stack. Every error names its line and column.

Why our own parser rather than a PyPI one. Measured with json5 0.17.3 and pyjson5 2.0.1:
- json5 (pure Python) reads ``Infinity``, ``NaN`` and ``1e999`` as inf/nan (``parse_constant``
  can refuse the two words, not the overflow); it has no depth bound and raises RecursionError
  from about 100 levels; it keeps an escaped pair (``'\\ud83d\\ude00'``) as two lone
  surrogates; it is about 40 times slower than this module (6 ms against 0.14 ms for a 140-byte
  value, 0.8-2 s against 25-55 ms for 70 KiB, on the project's 2-core machine).
- pyjson5 (Cython) is 35 to 110 times faster than this module (1.3 us for the 140-byte value,
  0.6-1.7 ms for 70 KiB) and bounds depth (``maxdepth``), but reads ``Infinity`` and ``NaN``
  as inf/nan with no option to refuse them (a wrapper could only find them afterwards, without
  a position), reads ``1_0`` as 10 although JSON5 has no digit separators, and gives positions
  only as a character offset inside its message text ("Expected b'comma' or U+007d near 12"),
  with no line, column or offset attribute.
Neither keeps the guarantees above without rewriting its errors from message text, and speed
does not matter here: a ``*Json5`` field is parsed once, when a Console request writes it.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 128
_DIGITS = "0123456789"
_HEX = "0123456789abcdefABCDEF"
_WHITESPACE = frozenset(" \t\n\r\v\f\u00a0\ufeff\u2028\u2029")
_ESCAPES = {
    "'": "'",
    '"': '"',
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "0": "\0",
}
_LINE_BREAKS = frozenset("\n\r\u2028\u2029")
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}


class Json5Error(ValueError):
    """A syntax error, with a 1-based line and column."""

    def __init__(self, problem: str, line: int, column: int) -> None:
        super().__init__(f"{problem} at line {line}, column {column}")
        self.problem = problem
        self.line = line
        self.column = column


def loads(text: str) -> Any:
    """Parse one JSON5 value; anything after it but whitespace and comments is an error."""
    return _Parser(text).document()


def _identifier_start(char: str) -> bool:
    return char in "$_" or char.isalpha()


def _identifier_part(char: str) -> bool:
    return char in "$_\u200c\u200d" or char.isalnum()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    # -- helpers ---------------------------------------------------------------------------

    def error(self, problem: str, pos: int | None = None) -> Json5Error:
        at = self.pos if pos is None else pos
        line = self.text.count("\n", 0, at) + 1
        column = at - (self.text.rfind("\n", 0, at) + 1) + 1
        return Json5Error(problem, line, column)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def at(self, chars: str) -> bool:
        """Whether the next character is one of ``chars`` (never true at the end)."""
        return self.pos < len(self.text) and self.text[self.pos] in chars

    def describe(self) -> str:
        char = self.peek()
        return "end of input" if not char else repr(char)

    def skip(self) -> None:
        """Skip whitespace and comments."""
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in _WHITESPACE:
                self.pos += 1
            elif text.startswith("//", self.pos):
                while self.pos < len(text) and text[self.pos] not in _LINE_BREAKS:
                    self.pos += 1
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.error("unterminated comment")
                self.pos = end + 2
            else:
                return

    # -- grammar ---------------------------------------------------------------------------

    def document(self) -> Any:
        self.skip()
        if self.pos >= len(self.text):
            raise self.error("empty document")
        value = self.value(0)
        self.skip()
        if self.pos < len(self.text):
            raise self.error(f"unexpected {self.describe()} after the value")
        return value

    def value(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self.error(f"nesting deeper than {MAX_DEPTH} levels")
        char = self.peek()
        if char == "{":
            return self.object(depth)
        if char == "[":
            return self.array(depth)
        if self.at("\"'"):
            return self.string()
        if self.at("+-." + _DIGITS):
            return self.number()
        if char and _identifier_start(char):
            start = self.pos
            word = self.identifier()
            if word in _LITERALS:
                return _LITERALS[word]
            if word in ("Infinity", "NaN"):
                raise self.error(f"{word} cannot be represented in JSON", start)
            raise self.error(f"unexpected word {word!r}", start)
        raise self.error(f"unexpected {self.describe()}")

    def object(self, depth: int) -> dict[str, Any]:
        self.pos += 1  # "{"
        result: dict[str, Any] = {}
        while True:
            self.skip()
            if self.peek() == "}":
                self.pos += 1
                return result
            key = self.key()
            self.skip()
            if self.peek() != ":":
                raise self.error(f"expected ':' after key {key!r}, found {self.describe()}")
            self.pos += 1
            self.skip()
            result[key] = self.value(depth + 1)
            self.skip()
            char = self.peek()
            if char == ",":
                self.pos += 1
            elif char == "}":
                self.pos += 1
                return result
            else:
                raise self.error(f"expected ',' or '}}', found {self.describe()}")

    def key(self) -> str:
        char = self.peek()
        if self.at("\"'"):
            return self.string()
        if char and _identifier_start(char):
            return self.identifier()
        raise self.error(f"expected a property name, found {self.describe()}")

    def array(self, depth: int) -> list[Any]:
        self.pos += 1  # "["
        result: list[Any] = []
        while True:
            self.skip()
            if self.peek() == "]":
                self.pos += 1
                return result
            result.append(self.value(depth + 1))
            self.skip()
            char = self.peek()
            if char == ",":
                self.pos += 1
            elif char == "]":
                self.pos += 1
                return result
            else:
                raise self.error(f"expected ',' or ']', found {self.describe()}")

    def identifier(self) -> str:
        start = self.pos
        self.pos += 1
        while self.pos < len(self.text) and _identifier_part(self.text[self.pos]):
            self.pos += 1
        return self.text[start : self.pos]

    def string(self) -> str:
        quote = self.text[self.pos]
        start = self.pos
        self.pos += 1
        parts: list[str] = []
        text = self.text
        while True:
            if self.pos >= len(text):
                raise self.error("unterminated string", start)
            char = text[self.pos]
            if char == quote:
                self.pos += 1
                return "".join(parts)
            if char in "\n\r":
                raise self.error("line break inside a string (escape it as \\n)")
            if "\ud800" <= char <= "\udfff":
                raise self.error("unpaired surrogate in a string")
            if char != "\\":
                parts.append(char)
                self.pos += 1
                continue
            self.pos += 1
            escape = self.peek()
            if not escape:
                raise self.error("unterminated string", start)
            self.pos += 1
            if escape in _LINE_BREAKS:
                # A backslash before a line break continues the string on the next line.
                if escape == "\r" and self.peek() == "\n":
                    self.pos += 1
            elif escape == "0" and self.at(_DIGITS):
                raise self.error("octal escapes are not allowed")
            elif escape in _ESCAPES:
                parts.append(_ESCAPES[escape])
            elif escape == "x":
                parts.append(chr(self.hex_digits(2, "x")))
            elif escape == "u":
                parts.append(self.code_point(self.hex_digits(4, "u")))
            elif escape in _DIGITS:
                raise self.error(f"invalid escape \\{escape}")
            else:
                parts.append(escape)  # JSON5 lets any other character escape itself.

    def hex_digits(self, width: int, escape: str) -> int:
        digits = self.text[self.pos : self.pos + width]
        if len(digits) != width or any(c not in _HEX for c in digits):
            raise self.error(f"\\{escape} needs {width} hex digits")
        self.pos += width
        return int(digits, 16)

    def code_point(self, unit: int) -> str:
        """The character a ``\\u`` escape starts: a UTF-16 surrogate pair, written as two
        escapes, is one character; half of one cannot be stored as UTF-8 and is refused."""
        if not 0xD800 <= unit <= 0xDFFF:
            return chr(unit)
        start = self.pos - 6
        if unit <= 0xDBFF and self.text.startswith("\\u", self.pos):
            self.pos += 2
            low = self.hex_digits(4, "u")
            if 0xDC00 <= low <= 0xDFFF:
                return chr(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
        raise self.error("unpaired surrogate in a string", start)

    def number(self) -> int | float:
        start = self.pos
        text = self.text
        sign = 1
        if self.at("+-"):
            sign = -1 if self.peek() == "-" else 1
            self.pos += 1
        if self.peek() and _identifier_start(self.peek()):
            word = self.identifier()
            if word in ("Infinity", "NaN"):
                raise self.error(f"{word} cannot be represented in JSON", start)
            raise self.error(f"invalid number {text[start : self.pos]!r}", start)
        if text.startswith(("0x", "0X"), self.pos):
            self.pos += 2
            digits_start = self.pos
            while self.at(_HEX):
                self.pos += 1
            if self.pos == digits_start:
                raise self.error("a hex number needs digits", start)
            self.end_of_number(start)
            return sign * int(text[digits_start : self.pos], 16)
        integer = self.digits()
        if len(integer) > 1 and integer[0] == "0":
            raise self.error("numbers may not have leading zeros", start)
        fraction = exponent = ""
        if self.peek() == ".":
            self.pos += 1
            fraction = self.digits()
        if not integer and not fraction:
            raise self.error(f"invalid number {text[start : self.pos + 1]!r}", start)
        if self.at("eE"):
            self.pos += 1
            exponent_sign = ""
            if self.at("+-"):
                exponent_sign = self.peek()
                self.pos += 1
            exponent = self.digits()
            if not exponent:
                raise self.error("an exponent needs digits", start)
            exponent = exponent_sign + exponent
        self.end_of_number(start)
        if not fraction and not exponent and self.text[self.pos - 1] != ".":
            return sign * int(integer)
        value = float(f"{integer or '0'}.{fraction or '0'}e{exponent or '0'}")
        if value in (float("inf"), float("-inf")):
            raise self.error("number too large to represent", start)
        return sign * value

    def digits(self) -> str:
        start = self.pos
        while self.at(_DIGITS):
            self.pos += 1
        return self.text[start : self.pos]

    def end_of_number(self, start: int) -> None:
        char = self.peek()
        if char and (_identifier_part(char) or char == "."):
            raise self.error(f"invalid number {self.text[start : self.pos + 1]!r}", start)
