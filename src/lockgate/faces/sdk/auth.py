"""SDK keys: server secrets for server endpoints, client keys for client endpoints."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from lockgate.domains.keys import repository as keys_repository
from lockgate.domains.keys.masking import masked_key
from lockgate.domains.specs.cache import PayloadScope
from lockgate.errors import Forbidden, Unauthorized
from lockgate.storage.models import ApiKey


@dataclass(frozen=True)
class SdkKey:
    project_id: str
    key_id: str
    type: str
    scopes: frozenset[str]
    scope: PayloadScope


def authenticate_sdk(
    session: Session,
    raw_key: str | None,
    allowed: Collection[str],
    *,
    what: str,
    client_scope: str | None = None,
) -> SdkKey:
    """Check a key for an SDK endpoint.

    ``allowed`` lists the key types the endpoint takes; a client key may also pass when it
    carries ``client_scope`` (e.g. ``client_download_config_specs``).
    """
    key_text = (raw_key or "").strip()
    record = keys_repository.by_secret(session, key_text) if key_text else None
    if record is None or record.status != "active":
        raise Unauthorized(
            f"This endpoint only accepts an active {' or '.join(sorted(allowed))} key, "
            f"but an invalid key was sent. Key: {masked_key(key_text)}"
        )
    scopes = frozenset(record.scopes or [])
    ok = record.type in allowed or (
        client_scope is not None and record.type == "CLIENT" and client_scope in scopes
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
    environments = tuple(record.environments) if record.environments else None
    return SdkKey(
        project_id=record.project_id,
        key_id=record.id,
        type=record.type,
        scopes=scopes,
        scope=PayloadScope(environments=environments, target_apps=key_apps(record)),
    )


def key_apps(record: ApiKey) -> tuple[str, ...]:
    """A key's target apps, primary first."""
    if record.primary_target_app is None:
        return ()
    secondary = [str(a) for a in record.secondary_target_apps or []]
    return tuple(dict.fromkeys([record.primary_target_app, *secondary]))


def key_text(request: Request) -> str | None:
    """The key an SDK sent: the ``STATSIG-API-KEY`` header, or the browser SDK's ``k`` param."""
    return request.headers.get("statsig-api-key") or request.query_params.get("k")


def _authenticate_request(request: Request, allowed: Collection[str], what: str) -> SdkKey:
    with request.app.state.database.transaction(write=False) as session:
        return authenticate_sdk(session, key_text(request), allowed, what=what)


async def authenticate_request(request: Request, allowed: Collection[str], what: str) -> SdkKey:
    """Check the request's key (in a worker thread: it reads the database). Routes call it
    before they read the body, so a body from an unknown caller is never read."""
    return await run_in_threadpool(_authenticate_request, request, allowed, what)
