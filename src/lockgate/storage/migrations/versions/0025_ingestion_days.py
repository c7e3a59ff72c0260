"""Ingestion days and Parquet folders

The fingerprint of each (ingestion source, day) at its last load, which the daily re-check of
recent days compares with the warehouse's; and the folder a Parquet-folder source reads.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 20:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingestion_days",
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=32), nullable=False),
        sa.Column("ds", sa.String(length=10), nullable=False),
        sa.Column("fingerprint", sa.String(length=200), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("loaded_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "source_id", "ds", name=op.f("pk_ingestion_days")),
    )
    with op.batch_alter_table("ingestion_sources") as batch:
        batch.add_column(sa.Column("path", sa.String(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ingestion_sources") as batch:
        batch.drop_column("path")
    op.drop_table("ingestion_days")
