"""Identifier generation in Statsig's shapes (22-character base62 ids, prefixed API keys)."""

from __future__ import annotations

import hashlib
import re
import secrets
import string

_BASE62 = string.digits + string.ascii_letters


def random_id(length: int = 22) -> str:
    return "".join(secrets.choice(_BASE62) for _ in range(length))


def name_to_id(name: str) -> str:
    """Derive a name-id the way Statsig does: "A Gate" becomes ``a_gate``."""
    return re.sub(r"\s", "_", name.strip()).lower()


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
