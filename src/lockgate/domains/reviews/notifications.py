"""Review notifications: review requested, approved, rejected and failed validation, sent to
the project's notification webhook (when one is set) in the Generic Webhook integration's
shape, signed with its secret, and, when an SMTP server is configured, emailed to the people
Statsig would notify (docs/operations.md §Review webhooks)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.reviews import outbox, repository
from lockgate.domains.users import access
from lockgate.kit.actor import Change
from lockgate.kit.db import EMAIL_NOTIFICATIONS
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


def recipient_emails(session: Session, review: Review, event: str) -> list[str]:
    """Whom an event's email goes to: the requested reviewers (the members of a requested
    team), or, when none were named, every member allowed to approve but the author; the
    author of an approved or rejected review; the committer of a failed validation. Actors
    without an email (the CONSOLE API) get none."""
    if event == "review_requested":
        named = [r["id"] for r in review.reviewers if r.get("kind") == "user"]
        for group in (r["id"] for r in review.reviewers if r.get("kind") == "group"):
            team = access.team(session, review.project_id, group)
            named.extend(sorted(team.member_ids) if team is not None else ())
        if review.reviewers:
            return access.emails_of(session, review.project_id, named)
        author = (review.author.get("email") or "").lower()
        approvers = access.emails_with_permission(session, review.project_id, "approve_reviews")
        return [e for e in approvers if e.lower() != author]
    person = (review.committer or review.author) if event == "validation_failed" else review.author
    email = person.get("email")
    return [email] if email else []


def email_body(change: Change, review: Review, event: str, to: str) -> dict[str, Any]:
    label = TYPES[review.entity_type]
    summary = f"{change.actor.name} {SUMMARIES[event]} {label} {review.entity_id}"
    lines = [
        f"{summary}.",
        "",
        f"Review: {review.id}",
        f"Status: {review.status}",
    ]
    if review.description:
        lines.append(f"Description: {review.description}")
    return {"to": to, "subject": f"[Lockgate] {summary}", "text": "\n".join(lines) + "\n"}


def review_event(session: Session, change: Change, review: Review, event: str) -> None:
    settings = repository.settings(session, change.project_id)
    if settings is not None and settings.notify_webhook_url:
        outbox.enqueue(
            session,
            project_id=change.project_id,
            purpose="notification",
            url=settings.notify_webhook_url,
            body=event_body(change, review, event),
            now_ms=change.now_ms,
        )
    if not session.info.get(EMAIL_NOTIFICATIONS):
        return
    for to in recipient_emails(session, review, event):
        outbox.enqueue(
            session,
            project_id=change.project_id,
            purpose="email",
            url=f"mailto:{to}",
            body=email_body(change, review, event, to),
            now_ms=change.now_ms,
        )
