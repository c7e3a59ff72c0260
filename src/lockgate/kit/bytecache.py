"""Byte strings kept by key within a budget of bytes: the oldest entry goes first.

The SDK face keeps encoded ``/v1/initialize`` answers in one per spec rendering
(docs/sdk.md §Serving speed). Reads take no lock (a dict read is atomic in CPython); writes
take one, since a route may also answer from a worker thread.
"""

from __future__ import annotations

import threading
from typing import Final

# What an entry costs beyond its key and value: the dict slot and two bytes objects' headers.
ENTRY_OVERHEAD: Final = 150


class ByteCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._entries: dict[bytes, bytes] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes) -> bytes | None:
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, key: bytes, value: bytes) -> None:
        """Keep ``value`` under ``key``, evicting the oldest entries to stay within budget;
        a value larger than the whole budget is not kept."""
        cost = len(key) + len(value) + ENTRY_OVERHEAD
        if cost > self.max_bytes:
            return
        with self._lock:
            if key in self._entries:
                return
            entries = self._entries
            while entries and self.size + cost > self.max_bytes:
                oldest = next(iter(entries))
                self.size -= len(oldest) + len(entries.pop(oldest)) + ENTRY_OVERHEAD
            entries[key] = value
            self.size += cost
