"""Tables of the review workflow: per-project review settings, reviews with their proposed
changes, and the outbox of outgoing webhook deliveries (docs/architecture.md §Reviews)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from lockgate.storage.models.base import Base, BigIntPK, JSONType


class ReviewSettings(Base):
    """A project's review settings (``/settings/reviews``) and the webhooks that only the CLI
    sets (``lockgate settings ...``); a project without a row has every switch off."""

    __tablename__ = "review_settings"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    is_config_review_required: Mapped[bool] = mapped_column(Boolean, server_default=false())
    is_metric_review_required: Mapped[bool] = mapped_column(Boolean, server_default=false())
    is_metric_review_required_on_verified_only: Mapped[bool] = mapped_column(
        Boolean, server_default=false()
    )
    # Warehouse-native switches: stored and echoed, they govern nothing here.
    is_whn_analysis_only_review_required: Mapped[bool | None] = mapped_column(Boolean, default=None)
    is_whn_source_review_required: Mapped[bool | None] = mapped_column(Boolean, default=None)
    precommit_webhook_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    # Sent as x-statsig-webhook-key; kept as given since it must be sent again.
    precommit_webhook_key: Mapped[str | None] = mapped_column(String(500), default=None)
    precommit_initial_message: Mapped[str | None] = mapped_column(String(2000), default=None)
    notify_webhook_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    notify_webhook_secret: Mapped[str | None] = mapped_column(String(500), default=None)


class Review(Base):
    """A proposed change to one gate, dynamic config, segment or experiment.

    ``proposal`` is the list of writes the change makes (``reviews.proposals``), each with the
    version of the entity it was made against; a review whose entity moved on is stale.
    """

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_entity", "project_id", "entity_type", "entity_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(4000), default="")
    # {id, name, email}: the actor who submitted the change.
    author: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # [{id, kind: user|group}] asked to review.
    reviewers: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    # Team ids from the environments the change touches: one approval from each is needed.
    required_groups: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    base_version: Mapped[int] = mapped_column(Integer)
    proposal: Mapped[list[Any]] = mapped_column(JSONType)
    # [{actor: {id, name, email}, time, reason}]
    approvals: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    rejection: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    committer: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    # {message, debugLinks, validated, deadline}: the pre-commit webhook's round.
    validation: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    validation_deadline: Mapped[int | None] = mapped_column(BigInteger, default=None, index=True)
    created_time: Mapped[int] = mapped_column(BigInteger)
    updated_time: Mapped[int] = mapped_column(BigInteger)


class OutboxDelivery(Base):
    """An HTTP POST or an email (``url`` ``mailto:<address>``, ``body`` ``{to, subject,
    text}``) to send: written in the transaction that decided it, sent after commit by the
    delivery worker, retried with backoff, never lost to a crash in between."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_time"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(40))  # precommit | notification | email
    url: Mapped[str] = mapped_column(String(2000))
    headers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_time: Mapped[int] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(1000), default=None)
    created_time: Mapped[int] = mapped_column(BigInteger)
