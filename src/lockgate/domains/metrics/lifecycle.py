"""The archive lifecycle of a custom metric: ``schedule_archive`` stores the next UTC day
boundary as ``scheduledArchiveTime`` (the metric reads as archived and hidden from then on),
``cancel_archive`` drops a pending one, ``unarchive`` reverses a done one."""

from __future__ import annotations

from sqlalchemy.orm import Session

from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import METRIC
from lockgate.domains.events import incoming
from lockgate.domains.metrics.service import is_archived, load_custom
from lockgate.domains.metrics.sql import DAY_MS
from lockgate.errors import InvalidInput
from lockgate.kit.actor import Change


def next_day_boundary(now_ms: int) -> int:
    return (now_ms // DAY_MS + 1) * DAY_MS


def schedule_archive(session: Session, change: Change, id_: str) -> int:
    """Archive at the next UTC midnight; returns that time (unchanged if already scheduled)."""
    incoming.settle_before(session)
    row = load_custom(session, change.project_id, id_, "archived", change.now_ms)
    document = entities.editable(row)
    if document.get("isPermanent"):
        raise InvalidInput.because(
            f"Metric {id_!r} is permanent; set isPermanent to false before archiving it"
        )
    scheduled = document.get("scheduledArchiveTime")
    if scheduled is not None:
        return int(scheduled)
    document["scheduledArchiveTime"] = next_day_boundary(change.now_ms)
    entities.save(
        session,
        METRIC,
        change,
        row,
        document,
        action="schedule_archive_metric",
        change_log="Scheduled Metric archive",
    )
    return int(document["scheduledArchiveTime"])


def cancel_archive(session: Session, change: Change, id_: str) -> None:
    incoming.settle_before(session)
    row = load_custom(session, change.project_id, id_, "changed", change.now_ms, live=False)
    document = entities.editable(row)
    if is_archived(document, change.now_ms):
        raise InvalidInput.because(f"Metric {id_!r} is already archived; unarchive it instead")
    if document.pop("scheduledArchiveTime", None) is None:
        raise InvalidInput.because(f"Metric {id_!r} has no scheduled archive to cancel")
    entities.save(
        session,
        METRIC,
        change,
        row,
        document,
        action="cancel_archive_metric",
        change_log="Cancelled Metric archive",
    )


def unarchive(session: Session, change: Change, id_: str) -> None:
    incoming.settle_before(session)
    row = load_custom(session, change.project_id, id_, "changed", change.now_ms, live=False)
    document = entities.editable(row)
    if not is_archived(document, change.now_ms):
        if document.get("scheduledArchiveTime") is not None:
            raise InvalidInput.because(
                f"Metric {id_!r} is not archived yet (its archive is "
                "scheduled); cancel the archive instead"
            )
        raise InvalidInput.because(f"Metric {id_!r} is not archived")
    document.pop("scheduledArchiveTime")
    entities.save(
        session,
        METRIC,
        change,
        row,
        document,
        action="unarchive_metric",
        change_log="Unarchived Metric",
    )
