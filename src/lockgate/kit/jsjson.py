"""JSON text as JavaScript's ``JSON.stringify`` writes a parsed value, and the djb2 of a text
over its UTF-16 code units, as the JS client computes both to check an initialize delta
(docs/sdk.md §Initialize deltas).

JavaScript differs from orjson in three ways that matter here: numbers (``1.0`` is written
``1``, exponents start at 1e21 and below 1e-6, integers beyond 2**53 are rounded to a double),
and property order (an object lists its array-index keys first, in numeric order, then the
others in insertion order). Strings are escaped alike (a test holds it against Node).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final, TypeGuard

import numpy as np
import orjson

# The largest array index: canonical decimal keys up to this come first in a JS object.
MAX_INDEX: Final = 2**32 - 2
# Integers beyond this are not exact doubles: JavaScript reads the nearest one.
MAX_SAFE: Final = 2**53
# orjson text that may read otherwise in JavaScript: a number with a fraction or an exponent, a
# long integer, a decimal key. It may also match inside a string: such text then takes the
# exact (slower) way; never the reverse.
SUSPECT: Final = re.compile(rb'[:,\[]-?\d+[.eE]|[:,\[]-?\d{16}|[{,]"\d+":')
_MASK: Final = 0xFFFFFFFF
_CHUNK: Final = 1 << 16


def _powers() -> np.ndarray:
    """31**k modulo 2**64 for k from _CHUNK-1 down to 0 (uint64 products wrap)."""
    steps = np.full(_CHUNK, 31, dtype=np.uint64)
    steps[0] = 1
    return np.cumprod(steps)[::-1].copy()


_POWERS: Final = _powers()


def is_index(key: str) -> bool:
    """Whether JavaScript orders ``key`` as an array index (before every other key)."""
    return (
        key.isascii() and key.isdigit() and (key == "0" or key[0] != "0") and int(key) <= MAX_INDEX
    )


def _utf16(key: str) -> bytes:
    return key.encode("utf-16-be")


def js_order(keys: Iterable[str]) -> list[str]:
    """``keys`` in the order a JavaScript object holding them in this insertion order lists
    them."""
    indexes: list[str] = []
    others: list[str] = []
    for key in keys:
        (indexes if is_index(key) else others).append(key)
    if not indexes:
        return others
    indexes.sort(key=int)
    return indexes + others


def sorted_keys(keys: Iterable[str]) -> list[str]:
    """``Object.keys(o).sort()`` inserted into a new object: sorted by UTF-16 code units, then
    listed by JavaScript's rule (array indexes first, in numeric order)."""
    indexes: list[str] = []
    others: list[str] = []
    for key in keys:
        (indexes if is_index(key) else others).append(key)
    indexes.sort(key=int)
    others.sort(key=_utf16)
    return indexes + others


def _plain_key(key: object) -> TypeGuard[str]:
    """Whether orjson and JavaScript order ``key`` alike among such keys: text, ASCII (code
    points and UTF-16 units then sort alike) and no array index."""
    return isinstance(key, str) and key.isascii() and not is_index(key)


def scan(value: object) -> tuple[bool, bool]:
    """Whether orjson writes ``value`` as ``JSON.stringify`` does (no number but exact
    integers, every key plain), and whether it still does with OPT_SORT_KEYS (every object's
    keys already in order)."""
    if value is None or isinstance(value, str | bool):
        return True, True
    if isinstance(value, dict):
        exact = ordered = True
        previous: str | None = None
        for key, item in value.items():
            if not _plain_key(key):
                return False, False
            if previous is not None and key <= previous:
                ordered = False
            previous = key
            item_exact, item_ordered = scan(item)
            if not item_exact:
                return False, False
            ordered = ordered and item_ordered
        return exact, ordered
    if isinstance(value, list):
        ordered = True
        for item in value:
            item_exact, item_ordered = scan(item)
            if not item_exact:
                return False, False
            ordered = ordered and item_ordered
        return True, ordered
    if isinstance(value, int):
        return -MAX_SAFE <= value <= MAX_SAFE, True
    return False, False


def sorts_alike(entry: Mapping[str, object]) -> bool:
    """Whether ``orjson.dumps(entry, option=OPT_SORT_KEYS)`` is what ``JSON.stringify`` writes
    of ``entry`` with its own keys sorted (client-core's ``_getSortedObject`` at its last level)
    and its values as parsed."""
    return all(_plain_key(key) and scan(item) == (True, True) for key, item in entry.items())


def number(value: float) -> str:
    """``JSON.stringify`` of a number (ECMAScript Number::toString, radix 10)."""
    if value == 0:
        return "0"  # -0 included
    sign = "-" if value < 0 else ""
    # repr gives the shortest digits that read back as the double, as JavaScript picks them.
    digits_tuple = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digits_tuple.digits)).rstrip("0")
    exponent = int(digits_tuple.exponent) + len(digits_tuple.digits) - len(digits)
    k = len(digits)
    n = exponent + k  # the decimal point sits n digits after the first
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + text


def stringify(value: object, *, sort: bool = False) -> str:
    """``JSON.stringify`` of ``value`` as JavaScript parsed it from JSON; ``sort``: its keys
    (the outer object's only) sorted first, as ``_getSortedObject`` inserts them."""
    if isinstance(value, dict):
        keys = sorted_keys(value) if sort else js_order(value)
        items = (orjson.dumps(key).decode() + ":" + stringify(value[key]) for key in keys)
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(stringify(item) for item in value) + "]"
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return orjson.dumps(value).decode()
    if isinstance(value, int):
        return str(value) if abs(value) <= MAX_SAFE else number(float(value))
    if isinstance(value, float):
        return number(value)
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def djb2(text: bytes) -> str:
    """The unsigned 32-bit djb2 of UTF-8 ``text`` over its UTF-16 code units, as a decimal
    string (client-core's ``_DJB2``). djb2 is a polynomial in 31, so chunks combine."""
    if text.isascii():
        units = np.frombuffer(text, dtype=np.uint8)
    else:
        units = np.frombuffer(text.decode("utf-8").encode("utf-16-le"), dtype="<u2")
    value = 0
    for start in range(0, len(units), _CHUNK):
        chunk = units[start : start + _CHUNK].astype(np.uint64)
        size = len(chunk)
        part = int((chunk * _POWERS[_CHUNK - size :]).sum()) & _MASK
        value = (value * pow(31, size, 1 << 32) + part) & _MASK
    return str(value)
