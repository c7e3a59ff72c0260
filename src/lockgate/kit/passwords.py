"""Sign-in passwords: generated, salted and hashed with argon2id (argon2-cffi); the clear text is
never kept. Hashes written before argon2 (salted scrypt) still verify, and ``needs_rehash``
says when a stored hash should be replaced by an argon2id one at the next successful sign-in
(docs/operations.md, "Web console passwords")."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults (RFC 9106, low-memory profile: 64 MiB, 3 passes, 4 lanes); the
# parameters travel in the hash, so changing them later rehashes members as they sign in.
DEFAULT_MEMORY_KIB = 65_536
_HASHER = PasswordHasher(memory_cost=DEFAULT_MEMORY_KIB)
_ARGON2 = "$argon2id$"


def use_memory_cost(memory_kib: int) -> None:
    """Hash with ``memory_kib`` KiB of memory from now on in this process (three passes, four
    lanes as before): the ``password_hash_memory_kib`` setting, which ``create_app`` and the
    CLI apply as they start. A stored hash made with another memory cost still verifies and is
    replaced at its member's next sign-in (``needs_rehash``)."""
    global _HASHER
    if memory_kib != _HASHER.memory_cost:
        _HASHER = PasswordHasher(memory_cost=memory_kib)


def memory_cost() -> int:
    """The memory cost, in KiB, of the hashes this process makes now."""
    return _HASHER.memory_cost


_SCRYPT = "scrypt"


def new_password() -> str:
    """A random sign-in password (about 120 bits), easy to copy."""
    return secrets.token_urlsafe(15)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != _SCRYPT:
            return False
        computed = hashlib.scrypt(
            password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p)
        )
    except ValueError:
        return False
    return hmac.compare_digest(computed.hex(), digest)


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    if stored.startswith(_ARGON2):
        try:
            return _HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
    return _verify_scrypt(password, stored)


def needs_rehash(stored: str | None) -> bool:
    """Whether a hash that just verified should be replaced: any scrypt hash, or an argon2 hash
    made with other parameters than today's."""
    if not stored or not stored.startswith(_ARGON2):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True
