"""Request bodies read within a limit, for both faces.

A face checks the caller's key before it reads a body (so a stranger's body costs nothing but
the bytes the server discards), refuses a declared ``Content-Length`` over its limit without
reading, stops reading a streamed body at the limit, and decompresses off the event loop, as a
stream, with the same limit on the inflated size: a small compressed body cannot grow into a
large one. The content codings are those the official SDKs send (README, "Pointing the official
SDKs at Lockgate").
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable, Mapping, Sequence

import brotli
import zstandard
from starlette.requests import Request

from lockgate.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

# How much the br and zstd decompressors may produce per step; the limit is checked between.
STEP_BYTES = 64 * 1024


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"Request body too large. This endpoint accepts at most {limit} bytes, "
        "as sent and once decompressed."
    )


def _corrupt(coding: str) -> InvalidInput:
    return InvalidInput.because(f"The body is not valid {coding} data.")


class _Sink:
    """Decompressed output that refuses to grow past the limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()

    @property
    def room(self) -> int:
        return self.limit - len(self.data)

    def add(self, piece: bytes) -> None:
        if len(self.data) + len(piece) > self.limit:
            raise too_large(self.limit)
        self.data += piece


def _zlib_stream(data: bytes, limit: int, wbits: int, coding: str) -> bytes:
    sink = _Sink(limit)
    pending = data
    while True:
        decompressor = zlib.decompressobj(wbits)
        try:
            # One call that stops one byte past the budget: zlib inflates as a stream and
            # never grows its output beyond max_length, whatever the input holds.
            sink.add(decompressor.decompress(pending, sink.room + 1))
        except zlib.error:
            raise _corrupt(coding) from None
        if not decompressor.eof:
            raise _corrupt(coding)  # the input ends before the stream does
        pending = decompressor.unused_data
        # gzip allows several members one after another; anything else may only be padding.
        if not (coding == "gzip" and pending[:2] == b"\x1f\x8b"):
            if pending.strip(b"\0"):
                raise _corrupt(coding)
            return bytes(sink.data)


def _gunzip(data: bytes, limit: int) -> bytes:
    return _zlib_stream(data, limit, 16 + zlib.MAX_WBITS, "gzip")


def _has_zlib_header(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0


def _inflate(data: bytes, limit: int) -> bytes:
    # HTTP's deflate is a zlib stream, but some clients send raw deflate data; accept both.
    wbits = zlib.MAX_WBITS if _has_zlib_header(data) else -zlib.MAX_WBITS
    return _zlib_stream(data, limit, wbits, "deflate")


def _unbrotli(data: bytes, limit: int) -> bytes:
    sink = _Sink(limit)
    decompressor = brotli.Decompressor()
    try:
        sink.add(decompressor.process(data, output_buffer_limit=STEP_BYTES))
        while not decompressor.is_finished():
            piece = decompressor.process(b"", output_buffer_limit=STEP_BYTES)
            if not piece:
                raise _corrupt("br")  # it wants more input, and there is none
            sink.add(piece)
    except brotli.error:
        raise _corrupt("br") from None
    return bytes(sink.data)


def _unzstd(data: bytes, limit: int) -> bytes:
    # zstd's stream reader does not tell a frame cut short from a whole one; the short body it
    # yields then fails as JSON.
    sink = _Sink(limit)
    source = io.BytesIO(data)
    try:
        with zstandard.ZstdDecompressor().stream_reader(source, read_across_frames=True) as reader:
            while piece := reader.read(STEP_BYTES):
                sink.add(piece)
    except zstandard.ZstdError:
        raise _corrupt("zstd") from None
    return bytes(sink.data)


DECODERS: Mapping[str, Callable[[bytes, int], bytes]] = {
    "gzip": _gunzip,
    "x-gzip": _gunzip,
    "deflate": _inflate,
    "br": _unbrotli,
    "zstd": _unzstd,
}


def codings_of(content_encoding: str | None) -> tuple[str, ...]:
    """The codings a ``Content-Encoding`` header lists, in the order they were applied.

    Raises ``UnsupportedMediaType`` for a coding Lockgate cannot undo."""
    names = [part.strip().lower() for part in (content_encoding or "").split(",")]
    codings = tuple(name for name in names if name and name != "identity")
    unknown = [name for name in codings if name not in DECODERS]
    if unknown:
        raise UnsupportedMediaType(
            f"Unsupported Content-Encoding {unknown[0]!r}. Send the body uncompressed or as "
            "gzip, deflate, br or zstd."
        )
    return codings


def inflate(data: bytes, codings: Sequence[str], limit: int) -> bytes:
    """Undo ``codings`` (last applied first); never holds more than ``limit`` inflated bytes.

    CPU-bound: call it in a worker thread, not on the event loop."""
    for coding in reversed(codings):
        data = DECODERS[coding](data, limit)
    return data


def check_declared_length(request: Request, limit: int) -> None:
    """Refuse a body whose ``Content-Length`` is over ``limit`` before reading any of it."""
    declared = request.headers.get("content-length")
    if declared is None:
        return
    if not declared.strip().isdigit():
        raise InvalidInput.field("Content-Length", "must be a number of bytes", location="header")
    if int(declared) > limit:
        raise too_large(limit)


async def read(request: Request, limit: int) -> bytes:
    """The body as sent, at most ``limit`` bytes: a longer stream is refused at the limit."""
    check_declared_length(request, limit)
    body = bytearray()
    async for chunk in request.stream():
        if len(body) + len(chunk) > limit:
            raise too_large(limit)
        body += chunk
    return bytes(body)
