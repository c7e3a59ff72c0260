"""``/v1/initialize`` deltas: the answers a worker gave, kept by their ``full_checksum``, and the
delta from one of them to a new answer, which the JS client merges into what it holds
(docs/sdk.md §Initialize deltas).

Every answer ends with its ``full_checksum``, a digest of the rest of its bytes. A client that
sends one back with ``deltasResponseRequested`` gets ``{"has_updates":false}`` when it names the
new answer itself, and a delta when the answer it names is still kept here: every gate, config
and layer entry whose JSON differs, the names of those gone, the new answer's other fields, and
the ``checksumV2`` the client computes over the three maps once merged. An answer another
worker gave (or one this worker no longer keeps) is evaluated again when this worker still holds
the revision it came from, and serves as well when its checksum is the one named. Otherwise the
client gets the whole answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson
import xxhash

from lockgate.kit import jsjson

SECTIONS: Final = ("feature_gates", "dynamic_configs", "layer_configs")
_DELETED: Final = (b"deleted_gates", b"deleted_configs", b"deleted_layers")
# The order client-core's _getSortedObject gives the three maps.
_SORTED_SECTIONS: Final = sorted(range(len(SECTIONS)), key=lambda i: SECTIONS[i])
NO_UPDATES: Final = b'{"has_updates":false}'
_CHECKSUM_FIELD: Final = b',"full_checksum":"'
_CHECKSUM_SIZE: Final = 32  # hex digits
# What one kept entry costs beyond its name and bytes: the dict slot and the objects' headers.
_ENTRY_OVERHEAD: Final = 120


def encode_answer(body: Any) -> bytes:
    """An answer (or part of one) as JSON. Its keys are text but for a config value with other
    keys, which only the slower option writes (the output is the same for text keys)."""
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:
        return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)


def signed(encoded: bytes) -> bytes:
    """``encoded`` (a JSON object) with its ``full_checksum`` added last: the 128-bit XXH3
    digest of the bytes before it, so the same answer has the same checksum in every process.
    It names an answer and guards nothing: the fastest digest at hand, a tenth of a distinct
    user's initialize cheaper than SHA-1 (docs/sdk.md §Initialize deltas)."""
    digest = xxhash.xxh3_128_hexdigest(encoded)
    return b"".join((encoded[:-1], _CHECKSUM_FIELD, digest.encode("ascii"), b'"}'))


def checksum_of(answer: bytes) -> str:
    """The ``full_checksum`` of an answer made by ``signed``."""
    return answer[-_CHECKSUM_SIZE - 2 : -2].decode("ascii")


@dataclass(frozen=True, slots=True)
class Index:
    """An answer cut up for deltas: each entry's JSON by name, per map, and the rest."""

    hash_used: object
    other_keys: frozenset[str]  # the top-level keys besides the three maps
    sections: tuple[dict[str, bytes], ...]  # in SECTIONS order
    rest: bytes  # the top-level fields besides the three maps, as a JSON object
    size: int
    # checksum_v2 of the answer, for an answer a delta leads to (None: not computed)
    checksum_v2: str | None = None


# The one field of an entry the answer's renderer (cores/evaluation/client_init.py) copies from
# the project's values; it writes every other field itself, as text, a boolean, or a list of
# text or of secondary exposures (gate, gateValue, ruleID: text, keys in that order), all of
# which orjson writes as JSON.stringify does, sorted or not. A test holds the renderer to it.
_VALUE: Final = "value"


def _js_entry(entry: Mapping[str, Any]) -> bytes:
    """One entry as JSON.stringify writes it once _getSortedObject sorted its keys (and left
    its values as they came)."""
    value = entry.get(_VALUE)
    exact, ordered = jsjson.scan(value)
    if exact and ordered:
        return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)
    if exact:
        text = encode_answer(value)
    else:  # as JavaScript parses what is sent
        text = jsjson.stringify(orjson.loads(encode_answer(value))).encode()
    return orjson.dumps({**entry, _VALUE: orjson.Fragment(text)}, option=orjson.OPT_SORT_KEYS)


def checksum_v2(body: Mapping[str, Any]) -> str:
    """client-core's ``_DJB2Object`` of the answer's three maps, sorted two levels deep: what
    the JS client computes once it holds ``body``'s maps."""
    parts = [b"{"]
    for position, i in enumerate(_SORTED_SECTIONS):
        entries = body[SECTIONS[i]]
        if position:
            parts.append(b"},")
        parts.append(orjson.dumps(SECTIONS[i]) + b":{")
        parts.append(
            b",".join(
                orjson.dumps(name) + b":" + _js_entry(entries[name])
                for name in jsjson.sorted_keys(entries)
            )
        )
    parts.append(b"}}")
    return jsjson.djb2(b"".join(parts))


def index_of(body: Mapping[str, Any], checksum: str, *, target: bool) -> Index:
    """The index of the answer ``body`` (as evaluated, or as parsed from its bytes) whose
    ``full_checksum`` is ``checksum``; with its ``checksum_v2`` when a delta leads to it."""
    sections = tuple(
        {name: encode_answer(entry) for name, entry in body[section].items()}
        for section in SECTIONS
    )
    other = {key: value for key, value in body.items() if key not in SECTIONS}
    other["full_checksum"] = checksum
    rest = encode_answer(other)
    size = len(rest) + sum(
        len(name) + len(text) + _ENTRY_OVERHEAD
        for entries in sections
        for name, text in entries.items()
    )
    return Index(
        body.get("hash_used"),
        frozenset(other),
        sections,
        rest,
        size,
        checksum_v2(body) if target else None,
    )


def delta(base: Index, target: Index) -> bytes | None:
    """What turns a client holding ``base`` into one holding ``target`` once client-core's
    ``_resolveDeltasResponse`` has merged it; None when no delta can (another hash, or a
    top-level field that the merge would leave behind)."""
    if base.hash_used != target.hash_used or not base.other_keys <= target.other_keys:
        return None
    assert target.checksum_v2 is not None, "a target's index has its checksum"
    parts = [b"{"]
    deleted: list[bytes] = []
    for i, section in enumerate(SECTIONS):
        old, new = base.sections[i], target.sections[i]
        changed = [
            orjson.dumps(name) + b":" + text for name, text in new.items() if old.get(name) != text
        ]
        gone = [name for name in old if name not in new]
        parts += [orjson.dumps(section), b":{", b",".join(changed), b"},"]
        deleted.append(b'"' + _DELETED[i] + b'":' + orjson.dumps(gone))
    checksum = orjson.dumps(target.checksum_v2)
    parts += [
        target.rest[1:-1],
        b',"is_delta":true,',
        b",".join(deleted),
        b',"checksumV2":',
        checksum,
        b',"checksum":',
        checksum,
        b"}",
    ]
    return b"".join(parts)


class Kept:
    """An answer given, and its index once a delta needed it."""

    __slots__ = ("answer", "index")

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.index: Index | None = None


class AnswerHistory:
    """The answers one key scope's renderings gave in this worker, by ``full_checksum``, within
    a budget of bytes: the least recently given go first. It outlives the revisions."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._kept: dict[str, Kept] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, checksum: str) -> Kept | None:
        return self._kept.get(checksum)

    @staticmethod
    def _cost(kept: Kept) -> int:
        return len(kept.answer) + (kept.index.size if kept.index is not None else 0)

    def keep(self, checksum: str, answer: bytes) -> Kept:
        """The answer kept under ``checksum`` (now the most recent), added if new."""
        with self._lock:
            kept = self._kept.pop(checksum, None)
            if kept is None:
                kept = Kept(answer)
                self.size += self._cost(kept)
            self._kept[checksum] = kept
            self._trim()
            return kept

    def indexed(
        self, kept: Kept, body: Mapping[str, Any] | None, checksum: str, *, target: bool = False
    ) -> Index:
        """``kept``'s index, built (from ``body``, else from its bytes) the first time, or
        again when it lacks the checksum a delta's ``target`` needs."""
        found = kept.index
        if found is not None and (found.checksum_v2 is not None or not target):
            return found
        parsed = body if body is not None else orjson.loads(kept.answer)
        index = index_of(parsed, checksum, target=target)
        with self._lock:
            if kept.index is found:
                kept.index = index
                if self._kept.get(checksum) is kept:
                    self.size += index.size - (found.size if found is not None else 0)
                    self._trim()
        return index

    def _trim(self) -> None:
        kept = self._kept
        while len(kept) > 1 and self.size > self.max_bytes:
            oldest = next(iter(kept))
            self.size -= self._cost(kept.pop(oldest))


def reply(
    history: AnswerHistory | None,
    answer: bytes,
    body: Mapping[str, Any] | None,
    *,
    wants_delta: bool,
    since: str | None,
    recompute: Callable[[str], Mapping[str, Any] | None] | None = None,
) -> bytes:
    """What to send a client whose full answer is ``answer`` (``body`` when it was just
    evaluated): nothing new, a delta from the answer ``since`` it holds, or ``answer``. The
    held answer is the one this worker kept, else what ``recompute`` gives: that answer
    evaluated again (by an older revision this worker still holds), or None."""
    checksum = checksum_of(answer)
    if wants_delta and since == checksum:
        return NO_UPDATES
    if history is None:
        return answer
    base = history.get(since) if wants_delta and since else None
    kept = history.keep(checksum, answer)
    if base is not None:
        base_index = history.indexed(base, None, since or "")
    elif wants_delta and since and recompute is not None:
        held = recompute(since)
        if held is None:
            return answer
        base_index = index_of(held, since, target=False)
    else:
        return answer
    changes = delta(base_index, history.indexed(kept, body, checksum, target=True))
    return changes if changes is not None and len(changes) < len(answer) else answer
