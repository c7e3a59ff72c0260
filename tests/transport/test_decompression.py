"""Decompression of request bodies: every coding the SDKs send, and a cap that holds."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import pytest

from lockgate.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from lockgate.faces.bodies import codings_of, inflate
from tests.transport.encodings import ENCODERS, MIB, gzip_bomb, zero_bomb

pytestmark = pytest.mark.database_free

BODY = b'{"events":[' + b",".join(b'{"eventName":"e%d"}' % i for i in range(2000)) + b"]}"


@pytest.mark.parametrize("coding", sorted(ENCODERS))
def test_inflate__each_coding__round_trips(coding: str) -> None:
    assert inflate(ENCODERS[coding](BODY), [coding], len(BODY)) == BODY


def test_inflate__raw_deflate_without_zlib_header__accepted() -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw = compressor.compress(BODY) + compressor.flush()
    assert inflate(raw, ["deflate"], len(BODY)) == BODY


def test_inflate__gzip_members_and_chained_codings__all_undone() -> None:
    assert inflate(gzip.compress(b"ab") + gzip.compress(b"cd"), ["gzip"], 10) == b"abcd"
    twice = ENCODERS["gzip"](ENCODERS["br"](BODY))
    assert inflate(twice, ["br", "gzip"], len(BODY)) == BODY


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br"])
def test_inflate__stream_cut_short__400(coding: str) -> None:
    data = ENCODERS[coding](BODY)
    with pytest.raises(InvalidInput, match=coding):
        inflate(data[: len(data) - 5], [coding], len(BODY))


@pytest.mark.parametrize("coding", sorted(ENCODERS))
def test_inflate__not_compressed_data__400(coding: str) -> None:
    with pytest.raises(InvalidInput, match=coding):
        inflate(b"plainly not compressed" * 10, [coding], MIB)


@pytest.mark.parametrize("coding", sorted(ENCODERS))
def test_inflate__bomb__refused_without_inflating_past_the_cap(coding: str) -> None:
    bomb = zero_bomb(coding, 64 * MIB)
    tracemalloc.start()
    try:
        with pytest.raises(PayloadTooLarge):
            inflate(bomb, [coding], MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The decompressor's output (a few copies of the 1 MiB cap at most), not the 64 MiB.
    assert peak < 8 * MIB


def test_inflate__body_exactly_at_the_cap__accepted() -> None:
    assert inflate(ENCODERS["zstd"](BODY), ["zstd"], len(BODY)) == BODY
    with pytest.raises(PayloadTooLarge):
        inflate(ENCODERS["zstd"](BODY), ["zstd"], len(BODY) - 1)


def test_gzip_bomb__helper__is_valid_gzip_of_zeros() -> None:
    assert gzip.decompress(gzip_bomb(3)) == bytes(3 * MIB)


@pytest.mark.parametrize(
    ("header", "codings"),
    [(None, ()), ("", ()), ("identity", ()), ("GZIP", ("gzip",)), ("br, zstd", ("br", "zstd"))],
)
def test_codings_of__known_codings__listed_in_order(
    header: str | None, codings: tuple[str, ...]
) -> None:
    assert codings_of(header) == codings


@pytest.mark.parametrize("header", ["compress", "gzip, snappy", "statsig-br"])
def test_codings_of__unknown_coding__415(header: str) -> None:
    with pytest.raises(UnsupportedMediaType, match="Unsupported Content-Encoding"):
        codings_of(header)
