"""metrics and pulse

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 06:52:42.917230
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "metrics",
        sa.Column("metric_type", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=True),
        sa.Column("id_type", sa.String(length=100), nullable=True),
        sa.Column("creator_id", sa.String(length=64), nullable=True),
        sa.Column("creator_name", sa.String(length=200), nullable=True),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("last_modified_time", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_metrics")),
    )
    op.create_table(
        "pulse_jobs",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=200), nullable=False),
        sa.Column("rule_id", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("progress", sa.BigInteger(), nullable=False),
        sa.Column("message", sa.String(length=2000), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=True),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("started_time", sa.BigInteger(), nullable=True),
        sa.Column("finished_time", sa.BigInteger(), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_pulse_jobs")),
        sa.UniqueConstraint("id", name=op.f("uq_pulse_jobs_id")),
    )
    with op.batch_alter_table("pulse_jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pulse_jobs_entity", ["project_id", "entity_type", "entity_id"], unique=False
        )

    op.create_table(
        "pulse_results",
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=200), nullable=False),
        sa.Column("rule_id", sa.String(length=200), nullable=False),
        sa.Column("ds", sa.String(length=10), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("computed_time", sa.BigInteger(), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint(
            "project_id", "entity_type", "entity_id", "rule_id", "ds", name=op.f("pk_pulse_results")
        ),
    )


def downgrade() -> None:

    op.drop_table("pulse_results")
    with op.batch_alter_table("pulse_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_pulse_jobs_entity")

    op.drop_table("pulse_jobs")
    op.drop_table("metrics")
