"""The lean path of ``download_config_specs``: a cache hit answered in front of the framework.

Under load, a cached download spent most of its time in the framework around the route
(middleware, routing past other routes, dependency injection, request objects), not in the
route. This raw ASGI layer answers a GET of ``download_config_specs`` (v1 or v2, key in the path
or the ``STATSIG-API-KEY`` header) when the key and the project's spec revision are both known
fresh in this process's caches and the encoding asked for is already built. Anything else (a
key not read lately or refused, a stale revision, an unbuilt encoding, a browser's ``Origin``,
a hostile query parameter) goes on to the application, whose route gives the same answer
the slow way, errors included; a test compares both byte for byte (docs/sdk.md §Serving speed).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qsl

from starlette.types import Scope, Send

from lockgate.domains.keys.cache import KeyCache
from lockgate.domains.specs import service
from lockgate.domains.specs.cache import SpecCache
from lockgate.errors import LockgateError
from lockgate.faces.sdk.auth import check_key
from lockgate.faces.sdk.specs_routes import DCS_CLIENT_SCOPE, DCS_KEYS, NO_UPDATES
from lockgate.kit.freshness import Missing
from lockgate.kit.jsonvalues import check_params

_PREFIXES: Final = {"/v1/download_config_specs": 1, "/v2/download_config_specs": 2}
# The route's response ends with these: its media type, then what the CORS middleware adds to
# a response to a request without an Origin (which the route answers alone).
_TAIL: Final = [(b"content-type", b"application/json"), (b"vary", b"Origin")]
_NO_UPDATES_HEADERS: Final = [
    (b"content-length", str(len(NO_UPDATES)).encode("latin-1")),
    *_TAIL,
]


class SdkFastPath:
    """Cached downloads answered at once; ``hits`` counts them, for the tests that compare
    both paths."""

    def __init__(self, keys: KeyCache, specs: SpecCache, *, protobuf: bool) -> None:
        self.keys = keys
        self.specs = specs
        self.protobuf = protobuf  # LOCKGATE_SDK_PROTOBUF_SPECS: such polls go to the route
        self.hits = 0

    async def answer(self, scope: Scope, send: Send) -> bool:
        """Answer the request if it is a cache hit; False: the application must."""
        if scope["type"] != "http" or scope["method"] != "GET":
            return False
        found = self._answer(scope)
        if found is None:
            return False
        self.hits += 1
        headers, body = found
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True

    def _answer(self, scope: Scope) -> tuple[list[tuple[bytes, bytes]], bytes] | None:
        """The response's headers and body, or None when the route must answer."""
        path: str = scope["path"]
        cut = path.find("/", 4)
        base = path if cut < 0 else path[:cut]
        version = _PREFIXES.get(base)
        if version is None:
            return None
        path_key: str | None = None
        if cut >= 0:  # /vN/download_config_specs/{sdk_key}.json, the key one segment
            rest = path[cut + 1 :]
            if not rest.endswith(".json") or "/" in rest or len(rest) <= len(".json"):
                return None
            path_key = rest[: -len(".json")]
        header_key, encodings, proto_header = None, "", False
        seen: set[bytes] = set()
        for name, value in scope["headers"]:
            if name in seen:  # the route reads the first of repeated headers
                continue
            seen.add(name)
            if name == b"statsig-api-key":
                header_key = value.decode("latin-1")
            elif name == b"accept-encoding":
                encodings = value.decode("latin-1")
            elif name == b"statsig-supports-proto":
                proto_header = value == b"true"
            elif name == b"origin":  # a browser's request: CORS headers to add
                return None
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        params = dict(query)  # the last of repeated parameters, as the route reads them
        try:
            check_params({} if path_key is None else {"sdk_key": path_key}, query)
            text = (header_key or path_key or "").strip()
            if not text:
                return None
            record = self.keys.cached(text)
            if isinstance(record, Missing):
                return None
            key = check_key(
                record, text, DCS_KEYS, what="download_config_specs", client_scope=DCS_CLIENT_SCOPE
            )
        except LockgateError:
            return None  # the route renders the refusal
        rendered = self.specs.cached(key.project_id, key.scope)
        if rendered is None:
            return None
        if service.unchanged(rendered, params.get("sinceTime"), params.get("checksum")):
            return _NO_UPDATES_HEADERS, NO_UPDATES
        if (
            version == 2
            and self.protobuf
            and (proto_header or params.get("supports_proto") == "true")
        ):
            return None  # a protobuf stream, built per poll by the route (docs/sdk.md)
        gzipped = "gzip" in encodings
        body = rendered.encoded(version, gzipped=gzipped)
        if body is None:
            return None
        headers = [(b"x-since-time", str(rendered.time_ms).encode("latin-1"))]
        if gzipped:
            headers.append((b"content-encoding", b"gzip"))
        headers += [(b"content-length", str(len(body)).encode("latin-1")), *_TAIL]
        return headers, body
