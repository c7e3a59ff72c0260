"""Exposures indexed by user and time

The web console's user lookup lists one user's latest exposures across every entity; the
existing exposure indexes lead with the entity name.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 02:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_exposures_user_time", "exposures", ["project_id", "user_id", "time"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_exposures_user_time", table_name="exposures")
