"""Target apps, and the djb2 of client keys for hashed_sdk_keys_to_app_ids

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 12:57:22.718600
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "target_apps",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_target_apps_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target_apps")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_target_apps_project_id")),
    )
    with op.batch_alter_table("target_apps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_target_apps_project_id"), ["project_id"], unique=False)

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_key_djb2", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("client_key_djb2")

    with op.batch_alter_table("target_apps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_target_apps_project_id"))

    op.drop_table("target_apps")
