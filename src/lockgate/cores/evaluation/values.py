"""Views of a JSON value (string, number, timestamp, version) as statsig-python-core sees them.

Operators never look at raw Python values directly: they go through these views, so that a
user's ``9.0`` matches ``any ["9"]`` and ``"2023-11-14T22:13:20Z"`` is a timestamp exactly as in
the reference SDK. ``None`` always stands for "missing or JSON null".
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

# Rust's `str::parse::<f64>` grammar: no whitespace, no underscores, no hex.
_RUST_FLOAT = re.compile(
    r"[+-]?(?:inf|infinity|nan|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\Z", re.IGNORECASE
)
_INTEGER = re.compile(r"[+-]?\d+\Z")
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})\Z"
)
_PLAIN_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\Z")
# Integer timestamps below this are taken to be seconds, larger ones milliseconds.
_SECONDS_CUTOFF: Final = 10_000_000_000
_I64_MIN: Final = -(2**63)
_I64_MAX: Final = 2**63 - 1


def format_float(value: float) -> str:
    """Format a float like Rust's ``f64`` Display: no exponent, no trailing ``.0``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "-0" if text == "0" and math.copysign(1.0, value) < 0 else text


def json_text(value: object) -> str:
    """Compact JSON, the string view of arrays and objects."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def as_string(value: object) -> str | None:
    """The string view of a user or target value; ``None`` when the value is missing."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    return json_text(value)


def target_item_string(item: object) -> str:
    """String form of one item of a target list: strings as is, anything else as JSON."""
    # Target items keep their JSON spelling (9.0 stays "9.0") unlike user values.
    return item if isinstance(item, str) else json_text(item)


def as_number(value: object) -> float | None:
    """The numeric view: numbers and numeric strings; booleans have none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _RUST_FLOAT.match(value):
        return float(value)
    return None


def _scale_epoch(value: int) -> int:
    return value * 1000 if abs(value) < _SECONDS_CUTOFF else value


def as_timestamp_ms(value: object) -> int | None:
    """The timestamp view in epoch milliseconds (small integers are read as seconds)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return _scale_epoch(value)
    if isinstance(value, float):
        return _scale_epoch(int(value)) if value.is_integer() else None
    if not isinstance(value, str):
        return None
    if _INTEGER.match(value):
        parsed = int(value)
        return _scale_epoch(parsed) if _I64_MIN <= parsed <= _I64_MAX else None
    return _parse_datetime_ms(value)


def _parse_datetime_ms(text: str) -> int | None:
    try:
        if _RFC3339.match(text):
            moment = datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
        elif _PLAIN_DATETIME.match(text):
            moment = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        else:
            return None
    except ValueError:
        return None
    return int(moment.timestamp() * 1000)


def version_parts(value: object) -> list[int] | None:
    """``"1.2.3-beta"`` → ``[1, 2, 3]``; ``None`` when any part is not an integer."""
    text = as_string(value)
    if text is None:
        return None
    core = text.split("-", 1)[0]
    parts: list[int] = []
    for part in core.split("."):
        if not _INTEGER.match(part):
            return None
        parts.append(int(part))
    return parts


def compare_versions(left: object, right: object) -> int | None:
    """-1, 0 or 1 comparing two dotted versions (missing parts are 0); ``None`` if unparsable."""
    left_parts = version_parts(left)
    right_parts = version_parts(right)
    if left_parts is None or right_parts is None:
        return None
    width = max(len(left_parts), len(right_parts))
    left_parts += [0] * (width - len(left_parts))
    right_parts += [0] * (width - len(right_parts))
    return (left_parts > right_parts) - (left_parts < right_parts)


def values_equal(left: object, right: object) -> bool:
    """Typed equality used by ``eq``/``neq``: numbers compare by value, even across strings."""
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(values_equal, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(values_equal(left[k], right[k]) for k in left)
    if isinstance(left, int | float) or isinstance(right, int | float):
        left_number, right_number = as_number(left), as_number(right)
        return left_number is not None and left_number == right_number
    return False
