"""Reviews: review settings, reviews with their proposed changes, the delivery outbox

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 17:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIG_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "review_settings",
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column(
            "is_config_review_required", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column(
            "is_metric_review_required", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column(
            "is_metric_review_required_on_verified_only",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
        ),
        sa.Column("is_whn_analysis_only_review_required", sa.Boolean(), nullable=True),
        sa.Column("is_whn_source_review_required", sa.Boolean(), nullable=True),
        sa.Column("precommit_webhook_url", sa.String(length=2000), nullable=True),
        sa.Column("precommit_webhook_key", sa.String(length=500), nullable=True),
        sa.Column("precommit_initial_message", sa.String(length=2000), nullable=True),
        sa.Column("notify_webhook_url", sa.String(length=2000), nullable=True),
        sa.Column("notify_webhook_secret", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_review_settings_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_review_settings")),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=4000), nullable=False),
        sa.Column("author", JSON, nullable=False),
        sa.Column("reviewers", JSON, nullable=False),
        sa.Column("required_groups", JSON, nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("proposal", JSON, nullable=False),
        sa.Column("approvals", JSON, nullable=False),
        sa.Column("rejection", JSON, nullable=True),
        sa.Column("committer", JSON, nullable=True),
        sa.Column("validation", JSON, nullable=True),
        sa.Column("validation_deadline", sa.BigInteger(), nullable=True),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("updated_time", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_reviews_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    op.create_index(
        "ix_reviews_entity", "reviews", ["project_id", "entity_type", "entity_id"], unique=False
    )
    op.create_index(
        op.f("ix_reviews_validation_deadline"), "reviews", ["validation_deadline"], unique=False
    )
    op.create_table(
        "outbox",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("headers", JSON, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_time", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_time"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index(op.f("ix_reviews_validation_deadline"), table_name="reviews")
    op.drop_index("ix_reviews_entity", table_name="reviews")
    op.drop_table("reviews")
    op.drop_table("review_settings")
