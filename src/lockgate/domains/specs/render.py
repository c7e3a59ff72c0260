"""Encoding a compiled document into the bytes SDKs download, reusing the work of the last
encoding (docs/compiling.md §Incremental compile).

An ``Encoder`` belongs to one key scope. It keeps each spec's JSON text (v2 and v1) for as long
as the incremental compile hands over the same spec object, and the document is the join of
those texts with the few fields around them, equal byte for byte to ``json.dumps`` of the whole.
The gzip body is built the same way: the text is cut into chunks at points that depend on the
specs alone (so an edit moves no other cut), each chunk is compressed on its own as a run of
deflate blocks ending on a byte boundary, and a changed document compresses only its changed
chunks. Any gzip reader reads the result as one member.
"""

from __future__ import annotations

import hashlib
import json
import struct
import threading
import zlib
from collections.abc import Callable, Mapping
from typing import Any

from lockgate.cores.compiler import proto
from lockgate.cores.compiler.v1 import V1_REPLACED, render_v1_spec, v1_layers
from lockgate.documents.specs import ConfigSpec, ConfigSpecsV2, SpecCondition

SPEC_SECTIONS = ("feature_gates", "dynamic_configs", "layer_configs")
GZIP_LEVEL = 5
# A chunk ends after a spec whose text hashes to 0 modulo this (about 64 specs a chunk), or
# once it passes MAX_CHUNK bytes.
_CUT_MODULUS = 64
_MAX_CHUNK = 256 * 1024
_MIN_CUT_PIECE = 32
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_LAST_BLOCK = b"\x03\x00"  # an empty final block with fixed codes
_COMMA = b","


def encode(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def checksum_of(*pieces: bytes) -> str:
    """The payload checksum: a decimal 64-bit hash of the document's text without it (given
    whole, or as the pieces it joins)."""
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece)
    return str(int.from_bytes(digest.digest()[:8], "big"))


class Encoder:
    """Encodings of one key scope's successive documents."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._specs: dict[tuple[int, str, int], tuple[ConfigSpec, bytes]] = {}
        self._chunks: dict[tuple[bytes, ...], bytes] = {}
        self.proto = ProtoEncoder()
        self.encoded_specs = 0  # specs encoded by the last call (the others were reused)

    def _spec_pieces(
        self,
        version: int,
        specs: Mapping[str, ConfigSpec],
        text: Callable[[str, ConfigSpec], bytes],
        memo: dict[tuple[int, str, int], tuple[ConfigSpec, bytes]],
        pieces: list[bytes],
    ) -> None:
        first = True
        for name, spec in specs.items():
            key = (version, name, id(spec))
            found = self._specs.get(key)
            # The memo holds the spec, so while it is there no other object can take its id.
            if found is None or found[0] is not spec:
                found = (spec, text(name, spec))
                self.encoded_specs += 1
            memo[key] = found
            if not first:
                pieces.append(_COMMA)
            pieces.append(found[1])
            first = False

    def pieces(self, document: ConfigSpecsV2, version: int) -> list[bytes]:
        """The document's text (without checksum) as pieces whose join is
        ``json.dumps(document)`` for v2, or ``json.dumps(render_v1(document))`` for v1."""
        with self._lock:
            self.encoded_specs = 0
            memo: dict[tuple[int, str, int], tuple[ConfigSpec, bytes]] = {
                k: v for k, v in self._specs.items() if k[0] != version
            }
            pieces: list[bytes] = []
            conditions: Mapping[str, SpecCondition] = document["condition_map"]

            def v2_text(name: str, spec: ConfigSpec) -> bytes:
                return encode(name) + b":" + encode(spec)

            def v1_text(name: str, spec: ConfigSpec) -> bytes:
                return encode(render_v1_spec(name, spec, conditions))

            def field(name: str, value: bytes | None = None) -> None:
                pieces.append((b"," if pieces else b"{") + encode(name) + b":" + (value or b""))

            # The document's fields by name, each section a map of specs.
            fields: Mapping[str, Any] = document
            if version == 2:
                for name, value in fields.items():
                    if name in SPEC_SECTIONS:
                        field(name, b"{")
                        self._spec_pieces(2, value, v2_text, memo, pieces)
                        pieces.append(b"}")
                    else:
                        field(name, encode(value))
            else:
                for name, value in fields.items():
                    if name not in V1_REPLACED:
                        field(name, encode(value))
                field("response_format", encode("dcs-v1"))
                for name in SPEC_SECTIONS:
                    field(name, b"[")
                    self._spec_pieces(1, fields[name], v1_text, memo, pieces)
                    pieces.append(b"]")
                field("layers", encode(v1_layers(document["experiment_to_layer"])))
            pieces.append(b"}")
            self._specs = memo
            return pieces

    def gzip(self, pieces: list[bytes], plain: bytes) -> bytes:
        """``plain`` (the join of ``pieces``) gzipped, recompressing only new chunks."""
        with self._lock:
            memo: dict[tuple[bytes, ...], bytes] = {}
            out = [_GZIP_HEADER]
            chunk: list[bytes] = []
            size = 0

            def flush() -> None:
                key = tuple(chunk)
                found = self._chunks.get(key)
                if found is None:
                    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -15)
                    found = compressor.compress(b"".join(chunk)) + compressor.flush(
                        zlib.Z_SYNC_FLUSH
                    )
                memo[key] = found
                out.append(found)

            for piece in pieces:
                chunk.append(piece)
                size += len(piece)
                if size >= _MAX_CHUNK or (
                    len(piece) >= _MIN_CUT_PIECE and hash(piece) % _CUT_MODULUS == 0
                ):
                    flush()
                    chunk, size = [], 0
            if chunk:
                flush()
            out.append(_LAST_BLOCK)
            out.append(struct.pack("<II", zlib.crc32(plain), len(plain) & 0xFFFFFFFF))
            self._chunks = memo
            return b"".join(out)


# How many earlier documents per key scope an SDK can ask a delta against.
PROTO_HISTORY = 8
EntryKey = tuple[str, str]  # (section, name)


class ProtoEncoder:
    """The protobuf spec streams of one key scope's successive documents
    (docs/sdk.md §Protobuf specs).

    Each entry (spec, condition, parameter store) gets a checksum over its JSON text, kept while
    the entry is the same object. The entry checksums of the last ``PROTO_HISTORY`` documents
    streamed are kept by document checksum: an SDK that names one of them holds exactly those
    entries, so they travel as name and checksum alone, or not at all after ``CopyPrev``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, int], tuple[object, str, bytes | None]] = {}
        self._history: dict[str, dict[EntryKey, str]] = {}
        self.sent_data = 0  # entries the last stream carried data for

    def held(self, document_checksum: str | None) -> dict[EntryKey, str] | None:
        """The entry checksums of an earlier streamed document, if this process kept them."""
        if not document_checksum:
            return None
        with self._lock:
            return self._history.get(document_checksum)

    def stream(
        self,
        document: ConfigSpecsV2,
        document_checksum: str,
        held: Mapping[EntryKey, str] | None,
        *,
        copy_previous: bool,
    ) -> bytes:
        """The uncompressed envelope stream. With ``held`` (what the SDK has), held entries are
        sent as checksums alone; with ``copy_previous`` too, the stream starts with
        ``CopyPrev`` and carries only what changed, then the deletions."""
        fields: Mapping[str, Any] = document
        with self._lock:
            self.sent_data = 0
            memo: dict[tuple[str, str, int], tuple[object, str, bytes | None]] = {}
            current: dict[EntryKey, str] = {}
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
            self._history[document_checksum] = current
            while len(self._history) > PROTO_HISTORY:
                del self._history[next(iter(self._history))]
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
