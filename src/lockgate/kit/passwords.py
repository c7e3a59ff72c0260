"""Sign-in passwords: generated, salted and hashed with scrypt; the clear text is never kept."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# scrypt cost: 16 MiB of memory per hash, about 50 ms; stored with the hash so it can rise.
_N, _R, _P = 2**14, 8, 1
_SALT_BYTES = 16
_SCHEME = "scrypt"


def new_password() -> str:
    """A random sign-in password (about 120 bits), easy to copy."""
    return secrets.token_urlsafe(15)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P)
    return f"{_SCHEME}${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != _SCHEME:
            return False
        computed = hashlib.scrypt(
            password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p)
        )
    except ValueError:
        return False
    return hmac.compare_digest(computed.hex(), digest)
