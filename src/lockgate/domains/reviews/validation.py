"""The validator's side of the pre-commit webhook (``/change_validation``) and the timeout
that fails a validation nobody answered."""

from __future__ import annotations

from sqlalchemy.orm import Session

from lockgate.domains.entities import writes as entity_writes
from lockgate.domains.reviews import notifications, repository, service
from lockgate.domains.reviews.schemas import ChangeValidationIn, ChangeValidationMessageIn
from lockgate.errors import InvalidInput, NotFound
from lockgate.kit.actor import Actor, Change
from lockgate.storage.models import Review

TIMED_OUT = "Validation timed out: the pre-commit webhook did not answer in time."


def _waiting(session: Session, project_id: str, review_id: str) -> Review:
    review = repository.get(session, project_id, review_id, lock=True)
    if review is None:
        raise NotFound(service.NOT_FOUND)
    if review.status != "pending_webhook_validation":
        raise InvalidInput.because(
            f"Review {review_id} is not waiting for validation; it is {review.status}"
        )
    return review


def validate(session: Session, change: Change, body: ChangeValidationIn) -> None:
    """``validated: true`` commits the change as the committer who asked for it."""
    entity_writes.unwatch(session)  # the commit is never a proposal, header or not
    review = _waiting(session, change.project_id, body.review_id)
    validation = dict(review.validation or {})
    validation["validated"] = body.validated
    if body.message is not None:
        validation["message"] = body.message
    if body.debug_links is not None:
        validation["debugLinks"] = [link.model_dump() for link in body.debug_links]
    review.validation = validation
    review.validation_deadline = None
    review.updated_time = change.now_ms
    if not body.validated:
        _fail(session, change, review)
        return
    review.status = "approved_webhook_validation"
    session.flush()
    committer = review.committer or review.author
    as_committer = Change(
        change.project_id,
        Actor(id=committer["id"], name=committer["name"], email=committer.get("email")),
        change.now_ms,
    )
    service.apply(session, as_committer, review)


def update_message(session: Session, change: Change, body: ChangeValidationMessageIn) -> None:
    review = _waiting(session, change.project_id, body.review_id)
    review.validation = {**(review.validation or {}), "message": body.message}
    review.updated_time = change.now_ms
    session.flush()


def _fail(session: Session, change: Change, review: Review) -> None:
    review.status = "failed_webhook_validation"
    session.flush()
    notifications.review_event(session, change, review, "validation_failed")


def expire(session: Session, now_ms: int, actor: Actor) -> int:
    """Fail every validation whose time is up; returns how many."""
    overdue = repository.overdue_validations(session, now_ms)
    for review in overdue:
        review.validation = {**(review.validation or {}), "validated": False, "message": TIMED_OUT}
        review.validation_deadline = None
        review.updated_time = now_ms
        _fail(session, Change(review.project_id, actor, now_ms), review)
    return len(overdue)
