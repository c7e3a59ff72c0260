"""Pulse results keep a daily view beside the cumulative one

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 13:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

KEY = ["project_id", "entity_type", "entity_id", "rule_id", "ds"]


def upgrade() -> None:
    with op.batch_alter_table("pulse_results") as batch_op:
        batch_op.add_column(
            sa.Column("view", sa.String(length=16), nullable=False, server_default="cumulative")
        )
        batch_op.drop_constraint("pk_pulse_results", type_="primary")
        batch_op.create_primary_key("pk_pulse_results", [*KEY, "view"])


def downgrade() -> None:
    op.execute("DELETE FROM pulse_results WHERE view <> 'cumulative'")
    with op.batch_alter_table("pulse_results") as batch_op:
        batch_op.drop_constraint("pk_pulse_results", type_="primary")
        batch_op.create_primary_key("pk_pulse_results", KEY)
        batch_op.drop_column("view")
