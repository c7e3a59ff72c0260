"""The ``/v1/initialize`` answer as bytes, shared by its route and the lean path (``fast.py``).

An answer depends on the spec rendering, the user after enrichment (with what the request
adds: its address, user agent and stable ID), the hash asked for and the key sent, and, when
some condition reads the clock, on which of the intervals between the document's time
boundaries the evaluation runs in (its clock then stopped for the whole answer). So the encoded
answer is kept in the rendering's cache under exactly those inputs, as JSON bytes (key order
included), and a request that brings the same ones again gets the same bytes without
evaluating (docs/sdk.md §Serving speed).

Every answer ends with its ``full_checksum``; a JS client that sends it back asking for a delta
gets ``{"has_updates":false}`` or a delta when this worker can give one exactly: from the answer
it kept, or from that answer evaluated again by the older revision it came from, which the
client names by its ``time`` (``domains/specs/deltas.py``, docs/sdk.md §Initialize deltas).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import orjson

from lockgate.cores.evaluation.client_init import client_initialize_response
from lockgate.cores.evaluation.evaluator import Evaluator
from lockgate.cores.evaluation.hashing import HashAlgorithm, djb2
from lockgate.documents.specs import InitializeResponse
from lockgate.domains.specs import deltas, service
from lockgate.domains.specs.cache import Rendered
from lockgate.domains.specs.deltas import encode_answer
from lockgate.errors import InvalidInput
from lockgate.faces.sdk.auth import SdkKey
from lockgate.kit.jsonvalues import check_json
from lockgate.kit.memory import collector_paused
from lockgate.kit.proxies import Network

HASHES = ("djb2", "sha256", "none")
DEFAULT_HASH = "djb2"
NONE_HASH_SCOPE = "none_hash_enabled"


def request_user(
    payload: dict[str, Any],
    headers: Any,
    peer: str | None,
    trusted_proxies: tuple[Network, ...],
) -> tuple[dict[str, Any], dict[str, str]]:
    """The user to evaluate, enriched from the request, and the answer's ``derived_fields``."""
    user = payload.get("user") or {}
    if not isinstance(user, dict):
        raise InvalidInput.field("user", "must be an object")
    check_json(user, "user")  # the answer echoes it: it must be writable as JSON
    metadata = payload.get("statsigMetadata") or {}
    stable_id = metadata.get("stableID") if isinstance(metadata, dict) else None
    return service.enrich_user(
        user,
        ip=service.client_ip(headers, peer, trusted_proxies),
        user_agent=headers.get("user-agent"),
        stable_id=stable_id if isinstance(stable_id, str) else None,
    )


def hash_for(key: SdkKey, payload: dict[str, Any]) -> str:
    requested = payload.get("hash") or DEFAULT_HASH
    if requested not in HASHES:
        raise InvalidInput.field("hash", f"must be one of {', '.join(HASHES)}")
    if requested == "none" and key.type == "CLIENT" and NONE_HASH_SCOPE not in key.scopes:
        # Anyone can read a client key, and plain names would tell them every gate and
        # experiment; that takes the key's none_hash_enabled scope (README, "Pointing the
        # official SDKs at Lockgate"). Without it the names are hashed the default way, which
        # the client SDKs look up too.
        return DEFAULT_HASH
    return str(requested)


def _fingerprint(
    epoch: int, hash_used: str, raw_key: str | None, user: dict[str, Any], derived: dict[str, str]
) -> bytes | None:
    """Every input of the answer besides the rendering, as bytes; None when they cannot be
    written exactly (a number beyond 64 bits)."""
    try:
        return orjson.dumps([epoch, hash_used, raw_key, user, derived])
    except orjson.JSONEncodeError:
        return None


def delta_request(payload: dict[str, Any]) -> tuple[bool, str | None]:
    """Whether the client asks for a delta, and the ``full_checksum`` of the answer it holds."""
    wants = payload.get("deltasResponseRequested", False)
    if not isinstance(wants, bool):
        raise InvalidInput.field("deltasResponseRequested", "must be a boolean")
    since = payload.get("full_checksum")
    if since is not None and not isinstance(since, str):
        raise InvalidInput.field("full_checksum", "must be a string or null")
    return wants, since


def held_time(payload: dict[str, Any]) -> int | None:
    """The ``time`` of the answer the client holds, as js-client sends it back (``sinceTime``,
    or ``partialUserMatchSinceTime`` when it sends 0 there); None when it sends neither. Read
    as a hint only: any other value is taken as absent."""
    for field in ("sinceTime", "partialUserMatchSinceTime"):
        value = payload.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _recompute(
    key: SdkKey,
    rendered: Rendered,
    held: int | None,
    user: dict[str, Any],
    derived: dict[str, str],
    hash_used: str,
    raw_key: str | None,
) -> Callable[[str], InitializeResponse | None] | None:
    """What evaluates again the answer a client names, from an older revision this worker
    still holds whose spec time is the ``time`` the client sent back: the answer when its
    ``full_checksum`` is the one named (so never a delta from another), else None."""
    past = rendered.past
    if held is None or past is None:
        return None

    def recompute(since: str) -> InitializeResponse | None:
        for kept in past.at(held):
            evaluator = kept.evaluator
            if evaluator.reads_clock:  # as if answered now: right unless a boundary passed
                evaluator = evaluator.pinned(evaluator.now_ms())
            body, encoded = _evaluated(
                key, evaluator, user, derived, hash_used, kept.time_ms, raw_key
            )
            if deltas.checksum_of(encoded) == since:
                return body
        return None

    return recompute


def _evaluated(
    key: SdkKey,
    evaluator: Evaluator,
    user: dict[str, Any],
    derived: dict[str, str],
    hash_used: str,
    time_ms: int,
    raw_key: str | None,
) -> tuple[InitializeResponse, bytes]:
    """The answer evaluated, and encoded with its ``full_checksum``."""
    body = client_initialize_response(
        evaluator,
        user,
        hash_algorithm=cast(HashAlgorithm, hash_used),
        client_app_id=key.scope.target_app,
        client_app_ids=key.scope.target_apps,
    )
    body["derived_fields"] = derived
    body["company_lcut"] = time_ms
    if raw_key:
        body["hashed_sdk_key_used"] = djb2(raw_key)
    return body, deltas.signed(encode_answer(body))


def initialize_bytes(
    key: SdkKey,
    payload: Any,
    rendered: Rendered,
    *,
    headers: Any,
    peer: str | None,
    trusted_proxies: tuple[Network, ...],
    raw_key: str | None,
) -> bytes:
    """The encoded answer for ``payload``, from the rendering's cache or evaluated; or, to a
    client that asks for one, nothing new or a delta (docs/sdk.md §Initialize deltas)."""
    if not isinstance(payload, dict):
        raise InvalidInput.because("The body must be a JSON object.")
    hash_used = hash_for(key, payload)
    wants_delta, since = delta_request(payload)
    user, derived = request_user(payload, headers, peer, trusted_proxies)
    evaluator = rendered.evaluator
    epoch: int | None = 0
    now_ms: int | None = None
    if evaluator.reads_clock:
        now_ms = evaluator.now_ms()
        epoch = evaluator.clock_epoch(now_ms)
    recompute = _recompute(
        key,
        rendered,
        held_time(payload) if wants_delta else None,
        user,
        derived,
        hash_used,
        raw_key,
    )
    cache = rendered.responses
    fingerprint = None
    if cache is not None and epoch is not None:
        fingerprint = _fingerprint(epoch, hash_used, raw_key, user, derived)
        if fingerprint is not None:
            found = cache.get(fingerprint)
            if found is not None:
                return deltas.reply(
                    rendered.answers,
                    found,
                    None,
                    wants_delta=wants_delta,
                    since=since,
                    recompute=recompute,
                )
    if now_ms is not None:
        evaluator = evaluator.pinned(now_ms)  # the moment the epoch was read, for every entity
    # The answer's containers die once it is encoded (or cut up for a delta): no collection
    # need walk them meanwhile.
    with collector_paused():
        body, encoded = _evaluated(
            key, evaluator, user, derived, hash_used, rendered.time_ms, raw_key
        )
        if cache is not None and fingerprint is not None:
            cache.put(fingerprint, encoded)
        return deltas.reply(
            rendered.answers,
            encoded,
            body,
            wants_delta=wants_delta,
            since=since,
            recompute=recompute,
        )
