"""Running Pulse jobs record a heartbeat

A job already running when this migration runs gets its start time as its heartbeat, so one
left behind by a killed process is reclaimed like any other abandoned job.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 13:59:52.789774
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pulse_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_time", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE pulse_jobs SET heartbeat_time = COALESCE(started_time, created_time) "
        "WHERE status = 'running'"
    )


def downgrade() -> None:
    with op.batch_alter_table("pulse_jobs", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_time")
