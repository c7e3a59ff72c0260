"""Turn an SDK's request body into JSON: gzip (header or ``gz=1``), and the browser SDK's
``se=1`` encoding (base64 with the characters reversed)."""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from typing import Any

import orjson

from lockgate.errors import InvalidInput

MAX_BODY_BYTES = 50 * 1024 * 1024


def decode_body(raw: bytes, *, content_encoding: str | None, gz_flag: bool, se_flag: bool) -> Any:
    data = raw
    encoding = (content_encoding or "").lower()
    try:
        if "gzip" in encoding or gz_flag:
            data = gzip.decompress(data)
        elif "deflate" in encoding:
            data = zlib.decompress(data)
    except (OSError, zlib.error, EOFError):
        raise InvalidInput.because("The body is not valid gzip data.") from None
    if len(data) > MAX_BODY_BYTES:
        raise InvalidInput.because(f"The body is larger than {MAX_BODY_BYTES} bytes.")
    if se_flag:
        try:
            data = base64.b64decode(data.decode("ascii")[::-1], validate=False)
        except (UnicodeDecodeError, binascii.Error):
            raise InvalidInput.because("The se=1 body is not valid encoded data.") from None
    if not data.strip():
        return {}
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise InvalidInput.because("The request body is not valid JSON.") from None
