"""SDK keys as the SDK face checks them, kept in memory with a bounded staleness.

An SDK request names its key on every call; reading the key from the database each time was the
largest cost of a cached download. A key read here is reused for at most ``ttl_ms``, and at
once read again after this process commits a change to any key (``Database.sdk_generation``),
so a deactivated or rotated key stops working within ``ttl_ms`` on every process and at once on
the one that changed it (docs/operations.md §One process or several).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from lockgate.domains.keys import repository
from lockgate.kit.db import Database
from lockgate.kit.freshness import FreshMap, Missing
from lockgate.storage.models import ApiKey

# Entries kept at most; unknown keys are remembered too (a flood of made-up keys must not
# reach the database each time), so the table is emptied when it fills.
MAX_KEYS: Final = 10_000


@dataclass(frozen=True)
class KeyRecord:
    """What an SDK endpoint needs of a key."""

    project_id: str
    key_id: str
    type: str
    active: bool
    scopes: frozenset[str]
    environments: tuple[str, ...] | None
    target_apps: tuple[str, ...]


def record_of(key: ApiKey) -> KeyRecord:
    apps: tuple[str, ...] = ()
    if key.primary_target_app is not None:
        secondary = [str(a) for a in key.secondary_target_apps or []]
        apps = tuple(dict.fromkeys([key.primary_target_app, *secondary]))
    return KeyRecord(
        project_id=key.project_id,
        key_id=key.id,
        type=key.type,
        active=key.status == "active",
        scopes=frozenset(key.scopes or []),
        environments=tuple(key.environments) if key.environments else None,
        target_apps=apps,
    )


class KeyCache:
    def __init__(
        self, database: Database, ttl_ms: int, *, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._database = database
        self._keys: FreshMap[str, KeyRecord | None] = FreshMap(
            self._read,
            ttl_ms / 1000,
            lambda: database.sdk_generation,
            max_entries=MAX_KEYS,
            now=now,
        )

    def _read(self, secret: str) -> KeyRecord | None:
        with self._database.transaction(write=False) as session:
            found = repository.by_secret(session, secret)
            return None if found is None else record_of(found)

    def cached(self, secret: str) -> KeyRecord | Missing | None:
        """The key (None: no such key) if read lately, without the database; else ``MISSING``."""
        return self._keys.cached(secret)

    def load(self, secret: str) -> KeyRecord | None:
        """Read the key from the database (blocking) and remember it."""
        return self._keys.load(secret)

    def get(self, secret: str) -> KeyRecord | None:
        return self._keys.get(secret)
