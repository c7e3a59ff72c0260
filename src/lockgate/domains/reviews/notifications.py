"""Review notifications: review requested, approved, rejected and failed validation, sent to
the project's notification webhook (when one is set) in the Generic Webhook integration's
shape, signed with its secret. Email is not sent (docs/compatibility.md §Reviews)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.reviews import outbox, repository
from lockgate.kit.actor import Change
from lockgate.storage.models import Review

TYPES = {
    "gate": "Gate",
    "dynamic_config": "Dynamic Config",
    "segment": "Segment",
    "experiment": "Experiment",
}
SUMMARIES = {
    "review_requested": "requested a review of",
    "review_approved": "approved the review of",
    "review_rejected": "rejected the review of",
    "validation_failed": "saw the pre-commit validation fail for",
}


def event_body(change: Change, review: Review, event: str) -> dict[str, Any]:
    """One ``statsig::config_change`` event; ``metadata.action`` names the review event and
    ``metadata.recipients`` whom Statsig would notify (reviewers, author or committer)."""
    label = TYPES[review.entity_type]
    if event == "review_requested":
        recipients = list(review.reviewers)
    elif event == "validation_failed":
        recipients = [review.committer or review.author]
    else:
        recipients = [review.author]
    return {
        "data": [
            {
                "user": {"name": change.actor.name, "email": change.actor.email},
                "timestamp": change.now_ms,
                "eventName": "statsig::config_change",
                "metadata": {
                    "type": label,
                    "name": review.entity_id,
                    "description": (
                        f"{change.actor.name} {SUMMARIES[event]} {label} {review.entity_id}"
                    ),
                    "action": event,
                    "reviewID": review.id,
                    "reviewStatus": review.status,
                    "recipients": recipients,
                },
            }
        ]
    }


def review_event(session: Session, change: Change, review: Review, event: str) -> None:
    settings = repository.settings(session, change.project_id)
    if settings is None or not settings.notify_webhook_url:
        return
    outbox.enqueue(
        session,
        project_id=change.project_id,
        purpose="notification",
        url=settings.notify_webhook_url,
        body=event_body(change, review, event),
        now_ms=change.now_ms,
    )
