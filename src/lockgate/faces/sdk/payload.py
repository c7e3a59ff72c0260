"""An SDK request's JSON body, read within ``sdk_max_body_bytes`` (``faces/bodies.py``).

Routes read it only after they have checked the request's key. Decompression and decoding run
in a worker thread, off the event loop, unless the body is
small and plain.
"""

from __future__ import annotations

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


async def read_payload(request: Request) -> Any:
    """The body as JSON: undoes any ``Content-Encoding``, the browser SDK's ``gz=1`` (gzip
    without the header) and ``se=1`` encodings."""
    codings = bodies.codings_of(request.headers.get("content-encoding"))
    if not codings and request.query_params.get("gz") == "1":
        codings = ("gzip",)
    limit: int = request.app.state.settings.sdk_max_body_bytes
    raw = await bodies.read(request, limit)
    se_flag = request.query_params.get("se") == "1"
    if not codings and len(raw) <= INLINE_BYTES:
        return decode(raw, codings, limit, se_flag)
    return await run_in_threadpool(decode, raw, codings, limit, se_flag)
