"""Warehouse sources

Warehouse-native source definitions: assignment sources, entity property sources, qualifying
events and metric sources, one row per (project, kind, name).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 05:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "warehouse_sources",
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.Column("columns", JSON, nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("updated_time", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_warehouse_sources_project_id_projects"),
        ),
        sa.PrimaryKeyConstraint("project_id", "kind", "name", name=op.f("pk_warehouse_sources")),
    )


def downgrade() -> None:
    op.drop_table("warehouse_sources")
