"""Hash functions shared by the evaluator and the client initialize response.

Changing any function here re-buckets every user or breaks ID-list lookups, so each one is
pinned by golden values in ``tests/evaluation/test_hashing.py``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Callable
from typing import Literal

HashAlgorithm = Literal["djb2", "sha256", "none"]

PASS_PERCENTAGE_BUCKETS = 10_000
USER_BUCKETS = 1_000
ID_LIST_HASH_LENGTH = 8


def h64(text: str) -> int:
    """The first 8 bytes of ``sha256(utf8(text))`` as a big-endian unsigned integer."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def percentage_prefix(spec_salt: str, rule_salt: str) -> str:
    """What a rule's pass percentage hashes ahead of the unit id (built once per rule)."""
    return f"{spec_salt}.{rule_salt}."


def passes_prefixed(prefix: str, unit_id: str, pass_percentage: float) -> bool:
    """``passes_percentage`` with the salts already joined by ``percentage_prefix``."""
    # The exact 0/100 short cuts matter: they keep users without a unit id deterministic.
    if pass_percentage == 100:
        return True
    if pass_percentage == 0:
        return False
    return h64(prefix + unit_id) % PASS_PERCENTAGE_BUCKETS < pass_percentage * 100


def passes_percentage(spec_salt: str, rule_salt: str, unit_id: str, pass_percentage: float) -> bool:
    """Whether a unit falls inside a rule's rollout percentage (0-100, fractions allowed)."""
    return passes_prefixed(percentage_prefix(spec_salt, rule_salt), unit_id, pass_percentage)


def user_bucket(salt: str, unit_id: str) -> int:
    """The 0-999 bucket used by ``user_bucket`` conditions (experiment groups, layer slots)."""
    return h64(f"{salt}.{unit_id}") % USER_BUCKETS


def sha256_b64(text: str) -> str:
    """``base64(sha256(utf8(text)))``: the ``sha256`` name hashing of initialize responses."""
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def id_list_hash(unit_id: str) -> str:
    """The 8-character prefix under which ID-list files store a unit id."""
    return sha256_b64(unit_id)[:ID_LIST_HASH_LENGTH]


def djb2(text: str) -> str:
    """Unsigned 32-bit djb2 over UTF-16 code units, as a decimal string (JavaScript's variant)."""
    value = 0
    encoded = text.encode("utf-16-le")
    # Iterating UTF-16 code units (not code points) matches what JavaScript's charCodeAt sees.
    for index in range(0, len(encoded), 2):
        unit = encoded[index] | (encoded[index + 1] << 8)
        value = ((value << 5) - value + unit) & 0xFFFFFFFF
    return str(value)


_NAME_HASHERS: dict[HashAlgorithm, Callable[[str], str]] = {
    "djb2": djb2,
    "sha256": sha256_b64,
    "none": lambda name: name,
}


@functools.lru_cache(maxsize=65_536)
def hash_name(name: str, algorithm: HashAlgorithm) -> str:
    """Hash an entity name the way client initialize responses expect it."""
    return _NAME_HASHERS[algorithm](name)
