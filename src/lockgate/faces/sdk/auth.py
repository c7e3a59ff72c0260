"""SDK keys: server secrets for server endpoints, client keys for client endpoints."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from lockgate.domains.keys.cache import KeyCache, KeyRecord
from lockgate.domains.keys.masking import masked_key
from lockgate.domains.specs.cache import PayloadScope
from lockgate.errors import Forbidden, Unauthorized
from lockgate.kit.freshness import Missing


@dataclass(frozen=True)
class SdkKey:
    project_id: str
    key_id: str
    type: str
    scopes: frozenset[str]
    scope: PayloadScope


def check_key(
    record: KeyRecord | None,
    key_text: str,
    allowed: Collection[str],
    *,
    what: str,
    client_scope: str | None = None,
) -> SdkKey:
    """Check a key for an SDK endpoint.

    ``allowed`` lists the key types the endpoint takes; a client key may also pass when it
    carries ``client_scope`` (e.g. ``client_download_config_specs``).
    """
    if record is None or not record.active:
        raise Unauthorized(
            f"This endpoint only accepts an active {' or '.join(sorted(allowed))} key, "
            f"but an invalid key was sent. Key: {masked_key(key_text)}"
        )
    ok = record.type in allowed or (
        client_scope is not None and record.type == "CLIENT" and client_scope in record.scopes
    )
    if not ok:
        if record.type == "CONSOLE":
            raise Unauthorized(
                f"{what} does not accept console keys; use a server secret or client key."
            )
        raise Forbidden(
            f"{what} does not accept {record.type} keys"
            + (f" (a client key needs the {client_scope} scope)" if client_scope else "")
            + "."
        )
    return SdkKey(
        project_id=record.project_id,
        key_id=record.key_id,
        type=record.type,
        scopes=record.scopes,
        scope=PayloadScope(environments=record.environments, target_apps=record.target_apps),
    )


async def authenticate(
    cache: KeyCache,
    raw_key: str | None,
    allowed: Collection[str],
    *,
    what: str,
    client_scope: str | None = None,
) -> SdkKey:
    """Check ``raw_key`` through the key cache; only a key not read lately is read from the
    database, in a worker thread."""
    text = (raw_key or "").strip()
    record: KeyRecord | Missing | None = cache.cached(text) if text else None
    if isinstance(record, Missing):
        record = await run_in_threadpool(cache.load, text)
    return check_key(record, text, allowed, what=what, client_scope=client_scope)


def key_text(request: Request) -> str | None:
    """The key an SDK sent: the ``STATSIG-API-KEY`` header, or the browser SDK's ``k`` param."""
    return request.headers.get("statsig-api-key") or request.query_params.get("k")


async def authenticate_request(request: Request, allowed: Collection[str], what: str) -> SdkKey:
    """Check the request's key. Routes call it before they read the body, so a body from an
    unknown caller is never read."""
    return await authenticate(request.app.state.key_cache, key_text(request), allowed, what=what)
