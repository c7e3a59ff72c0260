"""event unit indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 07:21:30.555637
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_stable", ["project_id", "stable_id", "event_name", "time"], unique=False
        )
        batch_op.create_index(
            "ix_events_user", ["project_id", "user_id", "event_name", "time"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_user")
        batch_op.drop_index("ix_events_stable")
