"""Pulse keeps each experiment's per-unit values for incremental loads

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 15:00:42.235790
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pulse_state_units",
        sa.Column("state_id", sa.BigInteger(), nullable=False),
        sa.Column("unit", sa.String(length=512), nullable=False),
        sa.Column("grp", sa.String(length=200), nullable=True),
        sa.Column("first_ts", sa.BigInteger(), nullable=False),
        sa.Column("groups", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("state_id", "unit", name=op.f("pk_pulse_state_units")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "pulse_state_values",
        sa.Column("state_id", sa.BigInteger(), nullable=False),
        sa.Column("metric", sa.Integer(), nullable=False),
        sa.Column("grp", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=512), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=True),
        sa.Column("xp", sa.Float(), nullable=True),
        sa.Column("yp", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint(
            "state_id", "metric", "grp", "unit", name=op.f("pk_pulse_state_values")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "pulse_states",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=200), nullable=False),
        sa.Column("rule_id", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("exposures_seq", sa.BigInteger(), nullable=False),
        sa.Column("events_seq", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("computed_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pulse_states")),
        sa.UniqueConstraint(
            "project_id",
            "entity_type",
            "entity_id",
            "rule_id",
            name=op.f("uq_pulse_states_project_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("pulse_states")
    op.drop_table("pulse_state_values")
    op.drop_table("pulse_state_units")
