"""Secrets kept at rest encrypted (Fernet: AES-128-CBC with an HMAC-SHA256), such as warehouse
credentials (docs/operations.md §Warehouse credentials)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import orjson
from cryptography.fernet import Fernet, InvalidToken

KEY_FILE: Final = "warehouse-secret.key"


class SecretBoxError(Exception):
    """A stored secret cannot be read with this key (the key changed, or the value is not a
    token)."""


def load_key(configured: str, data_dir: Path) -> bytes:
    """The configured key, or the one kept in ``<data_dir>/warehouse-secret.key``, made on
    first use with mode 0600."""
    if configured:
        key = configured.encode()
        Fernet(key)  # a malformed key fails here, at start, with cryptography's message
        return key
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("xb") as handle:
                handle.write(Fernet.generate_key())
            path.chmod(0o600)
        except FileExistsError:  # another process made it first
            pass
    return path.read_bytes().strip()


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, value: dict[str, Any]) -> str:
        return self._fernet.encrypt(orjson.dumps(value)).decode()

    def open(self, token: str) -> dict[str, Any]:
        try:
            value = orjson.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken:
            raise SecretBoxError(
                "stored warehouse credentials cannot be decrypted with the configured key"
            ) from None
        assert isinstance(value, dict)
        return value
