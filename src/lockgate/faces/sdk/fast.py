"""The lean path of ``download_config_specs`` and ``/v1/initialize``: answered in front of the
framework when everything they need is in this process's caches.

Under load, a cached download spent most of its time in the framework around the route
(middleware, routing past other routes, dependency injection, request objects), not in the
route. This raw ASGI layer answers a GET of ``download_config_specs`` (v1 or v2, key in the path
or the ``STATSIG-API-KEY`` header) when the key and the project's spec revision are both known
fresh in this process's caches and the encoding asked for is already built. Anything else (a
key not read lately or refused, a stale revision, an unbuilt encoding, a browser's ``Origin``,
a hostile query parameter) goes on to the application, whose route gives the same answer
the slow way, errors included; a test compares both byte for byte (docs/sdk.md §Serving speed).

A POST of ``/v1/initialize`` with a small plain body (a declared ``Content-Length`` within
``INLINE_BYTES`` and the body limit, no ``Content-Encoding``, no ``gz``/``se`` flag) is
answered the same way when its key is known fresh and the spec's evaluator is built: the body
is read here, evaluated in this process (``initialize.py``, the route's own code) and sent as
bytes. When anything is amiss the application gets the request with the body replayed, and
answers it, errors included.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope, Send

from lockgate.domains.keys.cache import KeyCache
from lockgate.domains.specs import service
from lockgate.domains.specs.cache import SpecCache
from lockgate.errors import LockgateError
from lockgate.faces.sdk.auth import check_key
from lockgate.faces.sdk.evaluation_routes import EVALUATION_KEYS
from lockgate.faces.sdk.initialize import initialize_bytes
from lockgate.faces.sdk.payload import INLINE_BYTES, decode
from lockgate.faces.sdk.specs_routes import DCS_CLIENT_SCOPE, DCS_KEYS, NO_UPDATES
from lockgate.kit.freshness import Missing
from lockgate.kit.jsonvalues import check_params
from lockgate.kit.proxies import Network

_PREFIXES: Final = {"/v1/download_config_specs": 1, "/v2/download_config_specs": 2}
# The route's response ends with these: its media type, then what the CORS middleware adds to
# a response to a request without an Origin (which the route answers alone).
_TAIL: Final = [(b"content-type", b"application/json"), (b"vary", b"Origin")]
_INITIALIZE: Final = "/v1/initialize"
# The initialize route's response ends with its media type, then what the CORS middleware adds:
# to a browser's request (one with an Origin) the allowed origin, to every request the Vary.
_JSON_TAIL: Final = [(b"content-type", b"application/json")]
_CORS_ORIGIN: Final = (b"access-control-allow-origin", b"*")
_VARY: Final = (b"vary", b"Origin")
_NO_UPDATES_HEADERS: Final = [
    (b"content-length", str(len(NO_UPDATES)).encode("latin-1")),
    *_TAIL,
]


class SdkFastPath:
    """Cached downloads and initializes answered at once; ``hits`` counts them, for the tests
    that compare both paths."""

    def __init__(
        self,
        keys: KeyCache,
        specs: SpecCache,
        *,
        protobuf: bool,
        trusted_proxies: tuple[Network, ...] = (),
        max_body_bytes: int = INLINE_BYTES,
    ) -> None:
        self.keys = keys
        self.specs = specs
        self.protobuf = protobuf  # LOCKGATE_SDK_PROTOBUF_SPECS: such polls go to the route
        self.trusted_proxies = trusted_proxies
        self.max_body = min(INLINE_BYTES, max_body_bytes)
        self.hits = 0

    async def answer(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """Answer the request if everything it needs is cached: None. Otherwise the
        ``receive`` the application must read the request from (the body replayed if this
        path read it)."""
        if scope["type"] != "http":
            return receive
        found: tuple[list[tuple[bytes, bytes]], bytes] | None = None
        if scope["method"] == "GET":
            found = self._answer(scope)
        elif scope["method"] == "POST" and scope["path"] == _INITIALIZE:
            found, receive = await self._initialize(scope, receive)
        if found is None:
            return receive
        self.hits += 1
        headers, body = found
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return None

    async def _initialize(
        self, scope: Scope, receive: Receive
    ) -> tuple[tuple[list[tuple[bytes, bytes]], bytes] | None, Receive]:
        """The initialize answer, or None and the ``receive`` the route reads from."""
        length: int | None = None
        header_key: str | None = None
        origin = False
        seen: set[bytes] = set()
        for name, value in scope["headers"]:
            if name in seen:  # the route reads the first of repeated headers
                continue
            seen.add(name)
            if name == b"content-length":
                length = int(value) if value.isdigit() else None
            elif name == b"content-encoding" or name == b"transfer-encoding":
                return None, receive
            elif name == b"statsig-api-key":
                header_key = value.decode("latin-1")
            elif name == b"origin":
                origin = True
        if length is None or length > self.max_body:
            return None, receive
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        params = dict(query)  # the last of repeated parameters, as the route reads them
        if params.get("gz") == "1" or params.get("se") == "1":
            return None, receive
        try:
            check_params({}, query)
        except LockgateError:
            return None, receive
        raw_key = header_key or params.get("k")
        text = (raw_key or "").strip()
        record = self.keys.cached(text) if text else None
        if record is None or isinstance(record, Missing):
            return None, receive
        try:
            key = check_key(record, text, EVALUATION_KEYS, what="initialize")
        except LockgateError:
            return None, receive
        rendered = self.specs.cached(key.project_id, key.scope)
        if rendered is None or not rendered.evaluator_ready:
            return None, receive  # the route reads or builds it, in a worker thread
        messages, raw = await _read_body(receive, length)
        replay = _replaying(messages, receive)
        if raw is None:
            return None, replay
        client = scope.get("client")
        try:
            body = initialize_bytes(
                key,
                decode(raw, (), self.max_body, False),
                rendered,
                headers=Headers(scope=scope),
                peer=client[0] if client else None,
                trusted_proxies=self.trusted_proxies,
                raw_key=raw_key,
            )
        except LockgateError:
            return None, replay  # the route renders the refusal
        headers = [(b"content-length", str(len(body)).encode("latin-1")), *_JSON_TAIL]
        if origin:
            headers.append(_CORS_ORIGIN)
        headers.append(_VARY)
        return (headers, body), replay

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


async def _read_body(receive: Receive, length: int) -> tuple[list[Message], bytes | None]:
    """The messages read and the body they carry; None for the body when the client left
    or sent other than ``length`` bytes."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > length:
            return messages, None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return messages, b"".join(chunks) if size == length else None


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """``receive``, giving ``messages`` first."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
