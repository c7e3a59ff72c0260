"""The change feed of the SDK payload

One row per spec revision bump, naming the entity the change touched, so the first
download_config_specs after a change reads only the rows that changed.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spec_changes",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=True),
        sa.Column("entity_id", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index(
        "ix_spec_changes_project_revision",
        "spec_changes",
        ["project_id", "revision"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_spec_changes_project_revision", table_name="spec_changes")
    op.drop_table("spec_changes")
