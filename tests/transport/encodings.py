"""Bodies for the transport tests: each content coding from its real encoder, and bombs."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

import brotli
import zstandard

ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda data: zlib.compress(data, wbits=16 + zlib.MAX_WBITS),
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}

MIB = 1024 * 1024


def zero_bomb(coding: str, inflated: int) -> bytes:
    """``inflated`` zero bytes, compressed fast (level 1) by the coding's real encoder."""
    zeros = bytes(inflated)
    if coding == "br":
        body: bytes = brotli.compress(zeros, quality=1)  # brotli ships no type hints
        return body
    if coding == "zstd":
        return zstandard.ZstdCompressor(level=1).compress(zeros)
    wbits = 16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS
    return zlib.compress(zeros, 1, wbits)


def gzip_bomb(mebibytes: int) -> bytes:
    """A valid gzip member that inflates to ``mebibytes`` MiB of zeros, built without
    compressing them all: after a full flush deflate starts afresh, so every megabyte of zeros
    compresses to the same bytes."""
    megabyte = bytes(MIB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(megabyte) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mebibytes):
        crc = zlib.crc32(megabyte, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    trailer = struct.pack("<II", crc, (mebibytes * MIB) & 0xFFFFFFFF)
    return header + block * mebibytes + compressor.flush() + trailer
