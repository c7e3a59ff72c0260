"""A project's review settings (``/settings/reviews``) and its webhook settings, which the
Console API does not expose and the CLI sets (docs/operations.md §Review webhooks)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.audit.service import audit_change
from lockgate.domains.reviews import repository
from lockgate.domains.reviews.schemas import ReviewSettingsIn
from lockgate.errors import InvalidInput
from lockgate.kit.actor import Change
from lockgate.storage.models import ReviewSettings

_REQUIRED = (
    "is_config_review_required",
    "is_metric_review_required",
    "is_metric_review_required_on_verified_only",
)
_OPTIONAL = ("is_whn_analysis_only_review_required", "is_whn_source_review_required")


def review_settings(session: Session, project_id: str) -> ReviewSettings | None:
    return repository.settings(session, project_id)


def _row(session: Session, project_id: str) -> ReviewSettings:
    row = repository.settings(session, project_id, lock=True)
    if row is None:
        row = ReviewSettings(
            project_id=project_id,
            is_config_review_required=False,
            is_metric_review_required=False,
            is_metric_review_required_on_verified_only=False,
        )
        repository.add(session, row)
    return row


def dto(row: ReviewSettings | None) -> dict[str, Any]:
    shown: dict[str, Any] = {name: bool(row and getattr(row, name)) for name in _REQUIRED}
    for name in _OPTIONAL:
        value = getattr(row, name) if row else None
        if value is not None:
            shown[name] = value
    return shown


def read(session: Session, project_id: str) -> dict[str, Any]:
    return dto(review_settings(session, project_id))


def replace(session: Session, change: Change, body: ReviewSettingsIn) -> dict[str, Any]:
    row = _row(session, change.project_id)
    before = dto(row)
    for name in (*_REQUIRED, *_OPTIONAL):
        setattr(row, name, getattr(body, name))
    session.flush()
    after = dto(row)
    config_keys = {"is_config_review_required"}
    for action, keys in (
        ("config_require_reviews", config_keys),
        ("update_metric_review_required", set(after) - config_keys),
    ):
        old = {k: v for k, v in before.items() if k in keys}
        new = {k: v for k, v in after.items() if k in keys}
        if old != new:
            audit_change(
                session,
                change,
                entity_type="project",
                entity_id=change.project_id,
                name=change.project_id,
                action_type=action,
                change_log="Updated review settings",
                before=old,
                after=new,
            )
    return after


def _check_url(url: str | None) -> None:
    if url is not None and url and not url.startswith(("http://", "https://")):
        raise InvalidInput.field("url", f"must be an http(s) URL, got {url!r}")


def set_precommit_webhook(
    session: Session,
    change: Change,
    *,
    url: str | None,
    key: str | None,
    initial_message: str | None,
) -> None:
    """Set (or, with an empty URL, clear) the pre-commit webhook; ``None`` keeps a value."""
    _check_url(url)
    row = _row(session, change.project_id)
    if url is not None:
        row.precommit_webhook_url = url or None
        _audit_setting(session, change, "update_precommit_hook", {"url": url or None})
    if key is not None:
        row.precommit_webhook_key = key or None
        # The key itself is never written to the audit log.
        _audit_setting(session, change, "update_precommit_webhook_key", {"key": "changed"})
    if initial_message is not None:
        row.precommit_initial_message = initial_message or None
        _audit_setting(session, change, "update_precommit_hook", {"message": initial_message})
    session.flush()


def set_notification_webhook(
    session: Session, change: Change, *, url: str | None, secret: str | None
) -> None:
    _check_url(url)
    row = _row(session, change.project_id)
    if url is not None:
        row.notify_webhook_url = url or None
    if secret is not None:
        row.notify_webhook_secret = secret or None
    session.flush()


def webhook_summary(session: Session, project_id: str) -> dict[str, Any]:
    """What the CLI shows: URLs and messages, never keys or secrets."""
    row = review_settings(session, project_id)
    return {
        "precommit_webhook_url": row.precommit_webhook_url if row else None,
        "precommit_webhook_key": "set" if row and row.precommit_webhook_key else None,
        "precommit_initial_message": row.precommit_initial_message if row else None,
        "notification_webhook_url": row.notify_webhook_url if row else None,
        "notification_webhook_secret": "set" if row and row.notify_webhook_secret else None,
    }


def _audit_setting(session: Session, change: Change, action: str, after: dict[str, Any]) -> None:
    audit_change(
        session,
        change,
        entity_type="project",
        entity_id=change.project_id,
        name=change.project_id,
        action_type=action,
        change_log="Updated pre-commit webhook",
        after=after,
    )
