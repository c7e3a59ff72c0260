"""An SDK request's JSON body, read within ``sdk_max_body_bytes`` (``faces/bodies.py``).

Routes read it only after they have checked the request's key. Decompression and decoding run
in a worker thread, off the event loop, unless the body is
small and plain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from lockgate.domains.events.decoding import decode_body
from lockgate.faces import bodies

# A small plain body (an initialize request, a handful of events) decodes faster than the hop
# to a worker thread takes.
INLINE_BYTES = 32 * 1024


def decode(raw: bytes, codings: Sequence[str], limit: int, se_flag: bool) -> Any:
    data = bodies.inflate(raw, codings, limit)
    return decode_body(data, content_encoding=None, gz_flag=False, se_flag=se_flag)


def _decoded_with_digest(
    raw: bytes, codings: Sequence[str], limit: int, se_flag: bool
) -> tuple[Any, str]:
    """The body as JSON, and a digest of it as sent once its content coding is undone."""
    data = bodies.inflate(raw, codings, limit)
    digest = hashlib.blake2b(data, digest_size=20).hexdigest()
    return decode_body(data, content_encoding=None, gz_flag=False, se_flag=se_flag), digest


async def _read(request: Request) -> tuple[bytes, Sequence[str], int, bool]:
    """The body as sent, its content codings, the size limit and the ``se=1`` flag."""
    codings = bodies.codings_of(request.headers.get("content-encoding"))
    if not codings and request.query_params.get("gz") == "1":
        codings = ("gzip",)
    limit: int = request.app.state.settings.sdk_max_body_bytes
    raw = await bodies.read(request, limit)
    return raw, codings, limit, request.query_params.get("se") == "1"


async def read_payload(request: Request) -> Any:
    """The body as JSON: undoes any ``Content-Encoding``, the browser SDK's ``gz=1`` (gzip
    without the header) and ``se=1`` encodings."""
    raw, codings, limit, se_flag = await _read(request)
    if not codings and len(raw) <= INLINE_BYTES:
        return decode(raw, codings, limit, se_flag)
    return await run_in_threadpool(decode, raw, codings, limit, se_flag)


async def read_payload_and_digest(request: Request) -> tuple[Any, str]:
    """``read_payload``, and the digest of the body (however it was compressed): the same
    batch sent again has the same digest. Only event batches need it."""
    raw, codings, limit, se_flag = await _read(request)
    if not codings and len(raw) <= INLINE_BYTES:
        return _decoded_with_digest(raw, codings, limit, se_flag)
    return await run_in_threadpool(_decoded_with_digest, raw, codings, limit, se_flag)
