"""Reading a decompressed protobuf spec stream in tests: its envelopes' kinds and names."""

from __future__ import annotations


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        shift += 7
        if not byte & 0x80:
            return value, at


def envelopes(stream: bytes) -> list[tuple[int, str, bool]]:
    """(kind, name, carries data) of each envelope of a decompressed stream."""
    found, at = [], 0
    while at < len(stream):
        length, at = _varint(stream, at)
        body, at = stream[at : at + length], at + length
        kind, name, data, i = 0, "", False, 0
        while i < len(body):
            key, i = _varint(body, i)
            if key & 7 == 0:
                value, i = _varint(body, i)
                kind = value if key >> 3 == 1 else kind
            else:
                size, i = _varint(body, i)
                if key >> 3 == 2:
                    name = body[i : i + size].decode()
                data = data or key >> 3 == 4
                i += size
        found.append((kind, name, data))
    return found
