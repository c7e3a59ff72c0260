"""ID-list files: lines ``+XXXXXXXX`` (add) / ``-XXXXXXXX`` (remove) of hashed unit ids.

The evaluator takes ID lists as ``{list name: set of 8-character hashes}``; this module builds
those sets from list file contents (docs/sdk.md §Id lists) and hashes ids for writing them.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet

from lockgate.cores.evaluation.hashing import id_list_hash


def apply_id_list_changes(ids: AbstractSet[str], text: str) -> frozenset[str]:
    """Apply the add/remove lines of (a chunk of) an ID-list file to ``ids``."""
    current = set(ids)
    for raw_line in text.splitlines():
        line = raw_line.strip()
        # Lines of length <= 1 carry no id; the SDKs skip them too.
        if len(line) <= 1:
            continue
        sign, hashed = line[0], line[1:]
        if sign == "+":
            current.add(hashed)
        elif sign == "-":
            current.discard(hashed)
    return frozenset(current)


def parse_id_list(text: str) -> frozenset[str]:
    """The set of hashed ids described by a whole ID-list file."""
    return apply_id_list_changes(frozenset(), text)


def id_list_file(unit_ids: Iterable[str]) -> str:
    """Render plain unit ids as an ID-list file (one ``+hash`` line each)."""
    return "".join(f"+{id_list_hash(unit_id)}\n" for unit_id in unit_ids)
