"""Pulse job cancel

A cancel request on a Pulse load job: when it was asked for and by whom. The process running
the job reads it at each progress report, so a cancel reaches whichever process runs the job.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 05:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pulse_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancel_requested_time", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("cancelled_by", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pulse_jobs", schema=None) as batch_op:
        batch_op.drop_column("cancelled_by")
        batch_op.drop_column("cancel_requested_time")
