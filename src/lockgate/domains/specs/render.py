"""Encoding a compiled document into the bytes SDKs download, reusing the work of the last
encoding (docs/compiling.md §Incremental compile).

An ``Encoder`` belongs to one key scope. It keeps each spec's JSON text (v2 and v1) for as long
as the incremental compile hands over the same spec object; a section whose names are unchanged
finds its new spec objects by identity without walking them in Python. Each section's texts are
cut into chunks at points that depend on each spec's text alone (so an edit moves no other cut),
and the body is a few units, runs of small fields and the chunks, whose join equals
``json.dumps`` of the document byte for byte. An unchanged unit is the same object as last time
and keeps its SHA-256 (the checksum hashes the units' digests) and its deflate run (a run of
blocks ending on a byte boundary, so the runs join into one gzip member); the gzip trailer's
CRC-32 is run from the first changed unit and joined to the first unit's.
"""

from __future__ import annotations

import hashlib
import json
import operator
import struct
import threading
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress
from typing import Any

from lockgate.cores.compiler import proto
from lockgate.cores.compiler.v1 import V1_REPLACED, render_v1_spec, v1_layers
from lockgate.documents.specs import ConfigSpec, ConfigSpecsV2, SpecCondition

SPEC_SECTIONS = ("feature_gates", "dynamic_configs", "layer_configs")
GZIP_LEVEL = 5
# A chunk of a section ends after a spec whose text's CRC-32 is 0 modulo this (about 64 specs a
# chunk), or whose text is at least _ALONE bytes long: a rule that reads the spec alone, so an
# edit moves no other cut, and that gives the same chunks in every process.
_CUT_MODULUS = 64
_ALONE = 16 * 1024
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_LAST_BLOCK = b"\x03\x00"  # an empty final block with fixed codes


def encode(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def checksum_of(units: Sequence[bytes]) -> str:
    """The payload checksum of a body given as its units (``Encoder.body``): the first 8 bytes
    of the SHA-256 of the units' SHA-256 digests, read as an unsigned decimal."""
    digest = hashlib.sha256(b"".join(_digest(unit) for unit in units))
    return str(int.from_bytes(digest.digest()[:8], "big"))


def _digest(unit: bytes) -> bytes:
    return hashlib.sha256(unit).digest()


# CRC-32 of a concatenation from the CRC-32s of its parts, as zlib's crc32_combine computes it.
_POLY = 0xEDB88320


def _multiply(a: int, b: int) -> int:
    """a times b modulo the CRC-32 polynomial (bit-reflected)."""
    m = 1 << 31
    product = 0
    while True:
        if a & m:
            product ^= b
            if a & (m - 1) == 0:
                return product
        m >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1


def _powers() -> list[int]:
    table = [1 << 30]  # x^1
    for _ in range(31):
        table.append(_multiply(table[-1], table[-1]))
    return table


_X2N = _powers()


def crc32_combine(first: int, second: int, second_length: int) -> int:
    """The CRC-32 of ``a + b`` from ``crc32(a)``, ``crc32(b)`` and ``len(b)``."""
    power = 1 << 31  # x^0
    n, k = second_length, 3
    while n:
        if n & 1:
            power = _multiply(_X2N[k & 31], power)
        n >>= 1
        k += 1
    return _multiply(power, first) ^ second


@dataclass
class _Section:
    """One section's specs as last encoded: names, spec objects, texts and chunk ends."""

    names: list[str]
    specs: list[ConfigSpec]
    texts: list[bytes]
    cuts: list[bool]


def _cut(text: bytes) -> bool:
    return len(text) >= _ALONE or zlib.crc32(text) % _CUT_MODULUS == 0


ChunkKey = tuple[bool, tuple[bytes, ...]]  # (after another chunk, the spec texts)


@dataclass
class _Unit:
    """What is known of one unit of a body: its SHA-256 and its deflate run."""

    data: bytes
    digest: bytes | None = None
    deflated: bytes | None = None


@dataclass
class Body:
    """A document's text without its checksum, as units whose join is ``json.dumps`` of the
    document less its closing brace: runs of small fields, and each section's chunks of specs.
    Unchanged chunks are the same objects as in the previous body, so their digests, deflate
    runs and CRC-32s are reused."""

    version: int
    units: list[bytes]


@dataclass
class _VersionState:
    """What an ``Encoder`` keeps of the last body of one version."""

    sections: dict[str, _Section] = field(default_factory=dict)
    chunks: dict[ChunkKey, bytes] = field(default_factory=dict)
    fields: dict[str, tuple[object, bytes]] = field(default_factory=dict)
    units: dict[int, _Unit] = field(default_factory=dict)
    crcs: list[tuple[bytes, int, int]] = field(default_factory=list)


class Encoder:
    """Encodings of one key scope's successive documents."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states = {1: _VersionState(), 2: _VersionState()}
        self.proto = ProtoEncoder()
        self.encoded_specs = 0  # specs encoded by the last call (the others were reused)

    def _section(
        self,
        state: _VersionState,
        name: str,
        specs_by_name: Mapping[str, ConfigSpec],
        text: Callable[[str, ConfigSpec], bytes],
        chunks: dict[ChunkKey, bytes],
        units: list[bytes],
    ) -> None:
        """The section's chunks, appended to ``units``, encoding only specs that changed."""
        names = list(specs_by_name)
        specs = list(specs_by_name.values())
        last = state.sections.get(name)
        if last is not None and last.names == names:
            # The same names in the same order: encode the specs that are new objects.
            texts, cuts = last.texts.copy(), last.cuts.copy()
            for i in compress(range(len(specs)), map(operator.is_not, specs, last.specs)):
                texts[i] = text(names[i], specs[i])
                cuts[i] = _cut(texts[i])
                self.encoded_specs += 1
        else:
            known: dict[str, tuple[ConfigSpec, bytes, bool]] = {}
            if last is not None:
                known = {
                    n: (spec, t, c)
                    for n, spec, t, c in zip(
                        last.names, last.specs, last.texts, last.cuts, strict=True
                    )
                }
            texts, cuts = [], []
            for spec_name, spec in zip(names, specs, strict=True):
                found = known.get(spec_name)
                if found is None or found[0] is not spec:
                    piece = text(spec_name, spec)
                    found = (spec, piece, _cut(piece))
                    self.encoded_specs += 1
                texts.append(found[1])
                cuts.append(found[2])
        state.sections[name] = _Section(names, specs, texts, cuts)
        ends = [*compress(range(1, len(texts)), cuts), len(texts)] if texts else []
        start = 0
        for end in ends:
            key = (start > 0, tuple(texts[start:end]))
            chunk = state.chunks.get(key)
            if chunk is None:
                chunk = (b"," if start else b"") + b",".join(key[1])
            chunks[key] = chunk
            units.append(chunk)
            start = end

    def body(self, document: ConfigSpecsV2, version: int) -> Body:
        """The document's text (without checksum) for v2, or for its v1 rendering."""
        with self._lock:
            self.encoded_specs = 0
            state = self._states[version]
            chunks: dict[ChunkKey, bytes] = {}
            fields: dict[str, tuple[object, bytes]] = {}
            units: list[bytes] = []
            small: list[bytes] = []
            conditions: Mapping[str, SpecCondition] = document["condition_map"]

            def v2_text(name: str, spec: ConfigSpec) -> bytes:
                return encode(name) + b":" + encode(spec)

            def v1_text(name: str, spec: ConfigSpec) -> bytes:
                return encode(render_v1_spec(name, spec, conditions))

            def flush() -> None:
                if small:
                    units.append(b"".join(small))
                    small.clear()

            def add(name: str, value: object) -> None:
                """A field; a large one (condition_map) is often the same object as last time."""
                found = state.fields.get(name)
                if found is None or found[0] is not value:
                    found = (value, encode(value))
                fields[name] = found
                add_text(name, found[1])

            def add_text(name: str, text: bytes) -> None:
                small.append((b"," if units or small else b"{") + encode(name) + b":" + text)

            def section(name: str, value: Mapping[str, ConfigSpec], brackets: bytes) -> None:
                add_text(name, brackets[:1])
                flush()
                text = v2_text if version == 2 else v1_text
                self._section(state, name, value, text, chunks, units)
                small.append(brackets[1:])

            values: Mapping[str, Any] = document
            if version == 2:
                for name, value in values.items():
                    if name in SPEC_SECTIONS:
                        section(name, value, b"{}")
                    else:
                        add(name, value)
            else:
                for name, value in values.items():
                    if name not in V1_REPLACED:
                        add(name, value)
                add_text("response_format", encode("dcs-v1"))
                for name in SPEC_SECTIONS:
                    section(name, values[name], b"[]")
                add_text("layers", encode(v1_layers(document["experiment_to_layer"])))
            flush()
            state.chunks, state.fields = chunks, fields
            return Body(version, units)

    def _units(self, body: Body) -> list[_Unit]:
        """What is known of each unit of ``body``; kept for the next body of its version."""
        state = self._states[body.version]
        found = []
        for data in body.units:
            unit = state.units.get(id(data))
            # The state holds each unit's bytes, so while it is there no other takes its id.
            if unit is None or unit.data is not data:
                unit = _Unit(data)
            found.append(unit)
        state.units = {id(unit.data): unit for unit in found}
        return found

    def checksum(self, body: Body) -> str:
        """``checksum_of(body.units)``, hashing only units not hashed before."""
        with self._lock:
            digests = []
            for unit in self._units(body):
                if unit.digest is None:
                    unit.digest = _digest(unit.data)
                digests.append(unit.digest)
            digest = hashlib.sha256(b"".join(digests)).digest()
            return str(int.from_bytes(digest[:8], "big"))

    def gzip(self, body: Body, tail: bytes) -> bytes:
        """The body followed by ``tail``, gzipped, compressing only units not compressed
        before. Each unit is a run of deflate blocks ending on a byte boundary, so the runs
        join into one stream that any gzip reader reads as one member."""
        with self._lock:
            out = [_GZIP_HEADER]
            for unit in self._units(body):
                if unit.deflated is None:
                    unit.deflated = _deflate(unit.data)
                out.append(unit.deflated)
            out.append(_deflate(tail))
            out.append(_LAST_BLOCK)
            crc, length = self._crc(body, tail)
            out.append(struct.pack("<II", crc, length & 0xFFFFFFFF))
            return b"".join(out)

    def _crc(self, body: Body, tail: bytes) -> tuple[int, int]:
        """CRC-32 and length of the body and ``tail``. The units after the first are run
        through from the first one that differs from the last call's (the first unit, which
        holds the spec time, always does), then joined to the first unit's CRC-32."""
        state = self._states[body.version]
        last = state.crcs
        crcs: list[tuple[bytes, int, int]] = []
        crc = length = 0
        same = True
        for i, data in enumerate(body.units[1:]):
            if same and i < len(last) and (last[i][0] is data or last[i][0] == data):
                _, crc, length = last[i]
            else:
                same = False
                crc, length = zlib.crc32(data, crc), length + len(data)
            crcs.append((data, crc, length))
        state.crcs = crcs
        crc, length = zlib.crc32(tail, crc), length + len(tail)
        head = body.units[0] if body.units else b""
        return crc32_combine(zlib.crc32(head), crc, length), length + len(head)


# Units shorter than this are stored, not compressed: a deflate stream costs more to set up
# than such a unit saves, and the small fields (with the spec time) change on every document.
_STORE_BELOW = 1024


def _deflate(data: bytes) -> bytes:
    """``data`` as a run of deflate blocks ending on a byte boundary, not the last block."""
    if len(data) < _STORE_BELOW:
        # One stored block: header bits 000 padded to the byte, then LEN and its complement.
        return struct.pack("<BHH", 0, len(data), len(data) ^ 0xFFFF) + data
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


# How many earlier documents per key scope an SDK can ask a delta against: kept in each process's
# memory, and in the shared store (``proto_documents``) for every process.
PROTO_HISTORY = 8
# How many documents per key scope the shared store was last found not to hold; a poll naming one
# of them gets everything without asking the store again.
PROTO_MISSES = 256
EntryKey = tuple[str, str]  # (section, name)
Entries = dict[EntryKey, str]  # entry checksum by (section, name)


class ProtoEncoder:
    """The protobuf spec streams of one key scope's successive documents
    (docs/sdk.md §Protobuf specs).

    Each entry (spec, condition, parameter store) gets a checksum over its JSON text, kept while
    the entry is the same object. The entry checksums of the last ``PROTO_HISTORY`` documents
    streamed are kept by document checksum: an SDK that names one of them holds exactly those
    entries, so they travel as name and checksum alone, or not at all after ``CopyPrev``. A
    document this process does not hold is looked for in the shared store, once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, int], tuple[object, str, bytes | None]] = {}
        self._history: dict[str, Entries] = {}
        self._misses: dict[str, None] = {}
        self.sent_data = 0  # entries the last stream carried data for

    def held(
        self,
        document_checksum: str | None,
        find: Callable[[str], Entries | None] | None = None,
    ) -> Entries | None:
        """The entry checksums of an earlier streamed document: from this process's memory,
        else from ``find`` (the shared store), unless it lately found nothing there. A
        checksum that is not one (a document checksum is a decimal 64-bit number) is held by
        nobody."""
        if not document_checksum:
            return None
        with self._lock:
            found = self._history.get(document_checksum)
            if found is not None or find is None or document_checksum in self._misses:
                return found
        if not (document_checksum.isdigit() and len(document_checksum) <= 20):
            return None
        found = find(document_checksum)
        with self._lock:
            if found is None:
                self._misses[document_checksum] = None
                while len(self._misses) > PROTO_MISSES:
                    del self._misses[next(iter(self._misses))]
            else:
                self._misses.pop(document_checksum, None)
                self._keep(document_checksum, found)
        return found

    def _keep(self, document_checksum: str, entries: Entries) -> None:
        self._history.pop(document_checksum, None)
        self._history[document_checksum] = entries
        while len(self._history) > PROTO_HISTORY:
            del self._history[next(iter(self._history))]

    def stream(
        self,
        document: ConfigSpecsV2,
        document_checksum: str,
        held: Mapping[EntryKey, str] | None,
        *,
        copy_previous: bool,
    ) -> bytes:
        """The uncompressed envelope stream; its entry checksums are then ``held`` by
        ``document_checksum``. With ``held`` (what the SDK has), held entries are
        sent as checksums alone; with ``copy_previous`` too, the stream starts with
        ``CopyPrev`` and carries only what changed, then the deletions."""
        fields: Mapping[str, Any] = document
        with self._lock:
            self.sent_data = 0
            memo: dict[tuple[str, str, int], tuple[object, str, bytes | None]] = {}
            current: Entries = {}
            out: list[bytes] = []
            if held is not None and copy_previous:
                out.append(proto.envelope(proto.COPY_PREV))
            out.append(proto.top_level(fields, document_checksum))
            for section, kind, name, value in _proto_entries(fields):
                key = (section, name, id(value))
                found = self._entries.get(key)
                if found is None or found[0] is not value:
                    found = (value, proto.checksum(encode(value)), None)
                entry_sum = found[1]
                current[(section, name)] = entry_sum
                if held is not None and held.get((section, name)) == entry_sum:
                    memo[key] = found
                    if not copy_previous:
                        out.append(proto.envelope(kind, name, entry_sum))
                    continue
                data = found[2]
                if data is None:
                    data = proto.entry_data(fields, section, name)
                    found = (value, entry_sum, data)
                memo[key] = found
                self.sent_data += 1
                out.append(proto.envelope(kind, name, entry_sum, data))
            if held is not None and copy_previous:
                removed: dict[str, list[str]] = {}
                for section, name in held.keys() - current.keys():
                    removed.setdefault(section, []).append(name)
                removed["experiment_to_layer"] = []
                out.append(proto.deletions(removed))
            out.append(proto.envelope(proto.DONE))
            self._entries = memo
            self._keep(document_checksum, current)
            return b"".join(out)


def _proto_entries(fields: Mapping[str, Any]) -> list[tuple[str, int, str, object]]:
    found: list[tuple[str, int, str, object]] = []
    for section, kind in proto.SPEC_KINDS.items():
        found += [(section, kind, name, value) for name, value in fields[section].items()]
    found += [
        ("condition_map", proto.CONDITION, name, value)
        for name, value in fields["condition_map"].items()
    ]
    found += [
        ("param_stores", proto.PARAM_STORE, name, value)
        for name, value in (fields.get("param_stores") or {}).items()
    ]
    return found


def pack_entries(entries: Mapping[EntryKey, str]) -> bytes:
    """A document's entry checksums as the shared store keeps them: zlib over JSON, one
    ``[section, names, checksums]`` per section, checksums as numbers."""
    sections: dict[str, tuple[list[str], list[int]]] = {}
    for (section, name), entry_sum in entries.items():
        names, sums = sections.setdefault(section, ([], []))
        names.append(name)
        sums.append(int(entry_sum))
    rows = [[section, names, sums] for section, (names, sums) in sections.items()]
    return zlib.compress(encode(rows), 6)


def unpack_entries(data: bytes) -> Entries:
    """``pack_entries`` undone; ValueError when ``data`` is not such a text."""
    try:
        rows = json.loads(zlib.decompress(data))
        return {
            (str(section), str(name)): str(int(entry_sum))
            for section, names, sums in rows
            for name, entry_sum in zip(names, sums, strict=True)
        }
    except (zlib.error, TypeError) as error:
        raise ValueError("not a packed list of entry checksums") from error
