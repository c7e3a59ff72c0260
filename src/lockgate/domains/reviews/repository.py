"""Queries over review settings, reviews and the delivery outbox."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lockgate.storage.models import OutboxDelivery, Review, ReviewSettings

OPEN_STATUSES = (
    "pending",
    "accepted",
    "changes_requested",
    "pending_webhook_validation",
    "approved_webhook_validation",
)


def settings(session: Session, project_id: str, *, lock: bool = False) -> ReviewSettings | None:
    query = select(ReviewSettings).where(ReviewSettings.project_id == project_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def add(session: Session, row: Review | ReviewSettings | OutboxDelivery) -> None:
    session.add(row)
    session.flush()


def get(session: Session, project_id: str, review_id: str, *, lock: bool = False) -> Review | None:
    query = select(Review).where(Review.project_id == project_id, Review.id == review_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def by_id(session: Session, review_id: str, *, lock: bool = False) -> Review | None:
    query = select(Review).where(Review.id == review_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def for_entity(
    session: Session,
    project_id: str,
    entity_type: str,
    entity_id: str,
    *,
    offset: int = 0,
    limit: int | None = None,
    open_only: bool = False,
) -> tuple[Sequence[Review], int]:
    """Newest first."""
    where = [
        Review.project_id == project_id,
        Review.entity_type == entity_type,
        Review.entity_id == entity_id,
    ]
    if open_only:
        where.append(Review.status.in_(OPEN_STATUSES))
    total = session.scalar(select(func.count()).select_from(Review).where(*where)) or 0
    query = select(Review).where(*where).order_by(Review.created_time.desc(), Review.id.desc())
    rows = session.scalars(query.offset(offset).limit(limit)).all()
    return rows, total


def open_for_entities(
    session: Session, project_id: str, entity_type: str, entity_ids: Sequence[str]
) -> Sequence[Review]:
    """The open reviews of the given entities, newest first, in one query."""
    if not entity_ids:
        return []
    query = (
        select(Review)
        .where(
            Review.project_id == project_id,
            Review.entity_type == entity_type,
            Review.entity_id.in_(list(entity_ids)),
            Review.status.in_(OPEN_STATUSES),
        )
        .order_by(Review.created_time.desc(), Review.id.desc())
    )
    return session.scalars(query).all()


def has_overdue_validation(session: Session, now_ms: int) -> bool:
    return (
        session.scalar(
            select(Review.id)
            .where(
                Review.status == "pending_webhook_validation",
                Review.validation_deadline <= now_ms,
            )
            .limit(1)
        )
        is not None
    )


def has_due_delivery(session: Session, now_ms: int) -> bool:
    return (
        session.scalar(
            select(OutboxDelivery.id)
            .where(OutboxDelivery.status == "pending", OutboxDelivery.next_attempt_time <= now_ms)
            .limit(1)
        )
        is not None
    )


def overdue_validations(session: Session, now_ms: int) -> Sequence[Review]:
    return session.scalars(
        select(Review)
        .where(
            Review.status == "pending_webhook_validation",
            Review.validation_deadline <= now_ms,
        )
        .with_for_update()
    ).all()


def due_deliveries(session: Session, now_ms: int, limit: int) -> Sequence[OutboxDelivery]:
    return session.scalars(
        select(OutboxDelivery)
        .where(OutboxDelivery.status == "pending", OutboxDelivery.next_attempt_time <= now_ms)
        .order_by(OutboxDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()


def delivery(session: Session, delivery_id: int, *, lock: bool = False) -> OutboxDelivery | None:
    query = select(OutboxDelivery).where(OutboxDelivery.id == delivery_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()
