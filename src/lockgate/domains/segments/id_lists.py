"""Id-list membership of ``id_list`` and ``user_store_id_list`` segments.

Ids are rows of ``segment_ids``, changed in batches in SQL; the segment document keeps only
``count`` and ``idListVersion`` (``/idlist_metadata``'s ``currentVersion``, +1 per change), so
reads stay cheap. Every change that alters the list saves the document, which records a version,
an audit entry (counts added and removed, never the ids) and bumps the project's spec revision.

Ids are trimmed (a pasted CSV line often carries a trailing space; the SDKs compare exactly) and
must then be 1 to 512 characters; repeats within a request and ids already present are ignored.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import SEGMENT
from lockgate.domains.segments import repository
from lockgate.domains.segments.service import (
    ID_LIST,
    LIST_TYPES,
    USER_STORE_ID_LIST,
    load_for_change,
    wrong_type,
)
from lockgate.errors import InvalidInput
from lockgate.kit.actor import Change
from lockgate.storage.models import Segment

# SegmentIDListContractDto and SegmentIDListResetContractDto: maxItems 100000.
MAX_IDS_PER_REQUEST = 100_000
# SegmentIDListUserStoreContractDto: maxItems 1000 ("a limit of 1000 ids per request").
MAX_USER_STORE_IDS_PER_REQUEST = 1_000
MAX_ID_LENGTH = 512  # the width of segment_ids.unit_id


@dataclass(frozen=True)
class IdListPage:
    name: str
    count: int
    ids: list[str]

    def dto(self) -> dict[str, Any]:
        return {"name": self.name, "count": self.count, "ids": self.ids}


def clean_ids(raw: Sequence[str], limit: int, *, allow_empty: bool = False) -> list[str]:
    if len(raw) > limit:
        raise InvalidInput.field(
            "ids", f"at most {limit} ids per request, got {len(raw)}; send them in several requests"
        )
    cleaned: list[str] = []
    for index, value in enumerate(raw):
        unit_id = value.strip()
        if not unit_id:
            raise InvalidInput.field(f"ids[{index}]", "must be a non-empty string")
        if len(unit_id) > MAX_ID_LENGTH:
            raise InvalidInput.field(
                f"ids[{index}]", f"must be at most {MAX_ID_LENGTH} characters, got {len(unit_id)}"
            )
        cleaned.append(unit_id)
    if not cleaned and not allow_empty:
        raise InvalidInput.field("ids", "must contain at least one id")
    return list(dict.fromkeys(cleaned))


def _record(session: Session, change: Change, row: Segment, *, after: int, change_log: str) -> None:
    document = entities.editable(row)
    document["count"] = after
    document["idListVersion"] = int(document.get("idListVersion") or 0) + 1
    entities.save(
        session, SEGMENT, change, row, document, action="ID_list_update", change_log=change_log
    )


def _check_version(row: Segment, version: float | None) -> None:
    """``version`` guards against lost updates: it must be the list version the caller read."""
    current = int(row.document.get("idListVersion") or 0)
    if version is not None and version != current:
        raise InvalidInput.field(
            "version",
            f"the ID list is at version {current}, not {version:g}; read GET "
            f"/segments/{row.id}/idlist_metadata and retry",
        )


def _add(session: Session, change: Change, row: Segment, ids: list[str]) -> int:
    before = int(row.document.get("count") or 0)
    repository.add_members(session, change.project_id, row.id, ids, change.now_ms)
    after = repository.count_members(session, change.project_id, row.id)
    added = after - before
    if added:
        _record(
            session,
            change,
            row,
            after=after,
            change_log=f"Added {added} IDs to the ID list "
            f"({len(ids) - added} already present); {after} IDs in total",
        )
    return added


def _remove(session: Session, change: Change, row: Segment, ids: list[str]) -> int:
    before = int(row.document.get("count") or 0)
    repository.remove_members(session, change.project_id, row.id, ids)
    after = repository.count_members(session, change.project_id, row.id)
    removed = before - after
    if removed:
        _record(
            session,
            change,
            row,
            after=after,
            change_log=f"Removed {removed} IDs from the ID list "
            f"({len(ids) - removed} were not members); {after} IDs in total",
        )
    return removed


def add_ids(session: Session, change: Change, segment_id: str, raw: Sequence[str]) -> int:
    """``PATCH /segments/{id}/id_list``: returns how many ids were new."""
    ids = clean_ids(raw, MAX_IDS_PER_REQUEST)
    row = load_for_change(session, change.project_id, segment_id, [ID_LIST])
    return _add(session, change, row, ids)


def remove_ids(session: Session, change: Change, segment_id: str, raw: Sequence[str] | None) -> int:
    """``DELETE /segments/{id}/id_list``: returns how many ids were removed."""
    if raw is None:
        raise InvalidInput.field("ids", 'is required (send {"ids": [...]} as the body)')
    ids = clean_ids(raw, MAX_IDS_PER_REQUEST)
    row = load_for_change(session, change.project_id, segment_id, [ID_LIST])
    return _remove(session, change, row, ids)


def reset_ids(session: Session, change: Change, segment_id: str, raw: Sequence[str]) -> int:
    """``POST /segments/{id}/id_list/reset``: the list becomes exactly ``raw`` (may be empty)."""
    ids = clean_ids(raw, MAX_IDS_PER_REQUEST, allow_empty=True)
    row = load_for_change(session, change.project_id, segment_id, [ID_LIST])
    before = int(row.document.get("count") or 0)
    repository.clear_members(session, change.project_id, row.id)
    repository.add_members(session, change.project_id, row.id, ids, change.now_ms)
    after = repository.count_members(session, change.project_id, row.id)
    _record(
        session,
        change,
        row,
        after=after,
        change_log=f"Reset the ID list: {before} IDs before, {after} after",
    )
    return after


def add_user_store_ids(
    session: Session, change: Change, segment_id: str, raw: Sequence[str], version: float | None
) -> int:
    """``PATCH /segments/{id}/add_ids``."""
    ids = clean_ids(raw, MAX_USER_STORE_IDS_PER_REQUEST)
    row = load_for_change(session, change.project_id, segment_id, [USER_STORE_ID_LIST])
    _check_version(row, version)
    return _add(session, change, row, ids)


def remove_user_store_ids(
    session: Session, change: Change, segment_id: str, raw: Sequence[str], version: float | None
) -> int:
    """``PATCH /segments/{id}/remove_ids``."""
    ids = clean_ids(raw, MAX_USER_STORE_IDS_PER_REQUEST)
    row = load_for_change(session, change.project_id, segment_id, [USER_STORE_ID_LIST])
    _check_version(row, version)
    return _remove(session, change, row, ids)


def _readable(session: Session, project_id: str, segment_id: str) -> Segment:
    row: Segment = entities.load(session, SEGMENT, project_id, segment_id)
    if row.document["type"] not in LIST_TYPES:
        raise wrong_type(LIST_TYPES, verb="read")
    return row


def read_page(
    session: Session, project_id: str, segment_id: str, *, offset: int, limit: int
) -> IdListPage:
    """One page of ids in id order, with the list's total count."""
    row = _readable(session, project_id, segment_id)
    ids = repository.page_members(session, project_id, segment_id, offset=offset, limit=limit)
    return IdListPage(name=row.id, count=int(row.document.get("count") or 0), ids=ids)


def metadata(session: Session, project_id: str, segment_id: str) -> dict[str, Any]:
    row = _readable(session, project_id, segment_id)
    # Changes apply inside the request's transaction, so a list is never seen mid-update.
    return {"currentVersion": int(row.document.get("idListVersion") or 0), "isUpdating": False}


def members(session: Session, project_id: str, segment_id: str) -> Iterator[str]:
    """Stream a segment's ids in id order, fetched from the database a page at a time."""
    return repository.iter_members(session, project_id, segment_id)


def is_member(session: Session, project_id: str, segment_id: str, unit_id: str) -> bool:
    return repository.has_member(session, project_id, segment_id, unit_id)
