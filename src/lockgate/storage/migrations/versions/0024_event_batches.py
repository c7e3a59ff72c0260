"""Event batches

The digests of the SDK event batches stored in the last day, so a batch sent again is not
stored twice.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 05:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_batches",
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=40), nullable=False),
        sa.Column("received_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "digest", name=op.f("pk_event_batches")),
    )
    op.create_index(
        op.f("ix_event_batches_received_time"), "event_batches", ["received_time"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_event_batches_received_time"), table_name="event_batches")
    op.drop_table("event_batches")
