"""gates configs segments

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 06:28:42.163735
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "dynamic_configs",
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
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_dynamic_configs")),
    )
    op.create_table(
        "gates",
        sa.Column("gate_type", sa.String(length=20), nullable=False),
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
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_gates")),
    )
    op.create_table(
        "segment_ids",
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("segment_id", sa.String(length=200), nullable=False),
        sa.Column("unit_id", sa.String(length=512), nullable=False),
        sa.Column("added_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "segment_id", "unit_id", name=op.f("pk_segment_ids")),
    )
    with op.batch_alter_table("segment_ids", schema=None) as batch_op:
        batch_op.create_index(
            "ix_segment_ids_added", ["project_id", "segment_id", "added_time"], unique=False
        )

    op.create_table(
        "segments",
        sa.Column("segment_type", sa.String(length=30), nullable=False),
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
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_segments")),
    )


def downgrade() -> None:

    op.drop_table("segments")
    with op.batch_alter_table("segment_ids", schema=None) as batch_op:
        batch_op.drop_index("ix_segment_ids_added")

    op.drop_table("segment_ids")
    op.drop_table("gates")
    op.drop_table("dynamic_configs")
