"""The work behind the SDK routes: freshness checks, id-list manifests and files, users."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from lockgate.cores.evaluation.derived import country_of_ip
from lockgate.cores.evaluation.hashing import id_list_hash
from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import SEGMENT
from lockgate.domains.segments import repository as segments_repository
from lockgate.domains.specs.cache import Rendered
from lockgate.errors import InvalidInput, RangeNotSatisfiable
from lockgate.kit.db import Database
from lockgate.kit.proxies import Network, client_address

LINE_BYTES = 10  # "+" + 8 hash characters + "\n"
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


def unchanged(rendered: Rendered, since_time: str | None, checksum: str | None) -> bool:
    """Whether an SDK that last saw ``since_time``/``checksum`` already has this payload."""
    if checksum and checksum == rendered.checksum:
        return True
    if not since_time:
        return False
    try:
        return int(float(since_time)) >= rendered.time_ms
    except (ValueError, OverflowError):  # not a number, or an infinite one: send the payload
        return False


def _file_id(segment_id: str, version: int) -> str:
    return hashlib.sha256(f"{segment_id}:{version}".encode()).hexdigest()[:22]


def id_list_manifest(database: Database, rendered: Rendered, base_url: str) -> dict[str, Any]:
    """Every file-served id list of the payload, with the size of its file.

    Each change gives the list a new ``fileID``, so SDKs download it again from the start
    instead of appending a tail that no longer lines up.
    """
    names = sorted(rendered.v2.get("id_lists") or {})
    if not names:
        return {}
    with database.transaction(write=False) as session:
        counts = segments_repository.member_counts(session, rendered.project_id, names)
        documents = segments_repository.segments_by_id(session, rendered.project_id, names)
    manifest = {}
    for name in names:
        segment = documents.get(name)
        if segment is None:
            continue
        manifest[name] = {
            "name": name,
            "size": int(counts.get(name, 0)) * LINE_BYTES,
            "url": f"{base_url}/v1/download_id_list_file/{name}",
            "creationTime": segment.last_modified_time,
            "fileID": _file_id(name, segment.version),
        }
    return manifest


def id_list_file(
    database: Database, project_id: str, segment_id: str, range_header: str | None
) -> tuple[bytes | None, int, int]:
    """(body from the requested offset, total size, offset); body is None for no such list.
    A range starting past byte 0, at or past the end of the file, is ``RangeNotSatisfiable``."""
    start = 0
    if range_header:
        match = _RANGE.match(range_header.strip())
        if match:
            start = int(match.group(1))
    with database.transaction(write=False) as session:
        if not entities.exists(session, SEGMENT, project_id, segment_id):
            return None, 0, 0
        total = segments_repository.count_members(session, project_id, segment_id) * LINE_BYTES
        if start > 0 and start >= total:
            raise RangeNotSatisfiable(start, total)
        first_line, skip = divmod(start, LINE_BYTES)
        ids = segments_repository.page_members(
            session, project_id, segment_id, offset=first_line, limit=None
        )
        body = "".join(f"+{id_list_hash(unit_id)}\n" for unit_id in ids).encode("ascii")
    return body[skip:], total, start


def client_ip(headers: Any, peer: str | None, trusted_proxies: tuple[Network, ...]) -> str | None:
    """The client's address: ``X-Forwarded-For`` counts only when the peer is a trusted proxy
    (docs/operations.md §Behind a proxy)."""
    # Several X-Forwarded-For headers read as one list, in order.
    forwarded = ",".join(headers.getlist("x-forwarded-for"))
    return client_address(peer, forwarded, trusted_proxies)


# The user attributes the SDKs send as plain text.
_USER_TEXT_FIELDS = ("userID", "email", "ip", "userAgent", "country", "locale", "appVersion")


def enrich_user(
    user: dict[str, Any], *, ip: str | None, user_agent: str | None, stable_id: str | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Fill ip, userAgent and country from the request where the user lacks them.

    Returns the user to evaluate and the ``derived_fields`` of the initialize response.
    A top-level attribute sent as an object or a list is refused: the SDKs send text (numbers
    are tolerated and read as text), and nothing could match such a value.
    """
    for name in _USER_TEXT_FIELDS:
        if isinstance(user.get(name), dict | list):
            raise InvalidInput.field(f"user.{name}", "must be a string")
    enriched = dict(user)
    derived: dict[str, str] = {}
    if not enriched.get("ip") and ip:
        enriched["ip"] = derived["ip"] = ip
    if not enriched.get("userAgent") and user_agent:
        enriched["userAgent"] = derived["user_agent"] = user_agent
    if not enriched.get("country"):
        country = country_of_ip(enriched.get("ip"))
        if country:
            enriched["country"] = derived["country"] = country
    if stable_id:
        custom = dict(enriched.get("customIDs") or {})
        if not custom.get("stableID"):
            custom["stableID"] = stable_id
            enriched["customIDs"] = custom
    return enriched, derived
