"""Protobuf spec documents

The entry checksums of the protobuf spec documents streamed to SDKs, by project, key scope and
document checksum, so that any server process answers a poll naming one of them with a delta.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 06:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "proto_documents",
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("checksum", sa.String(length=20), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("spec_time", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "scope", "checksum", name=op.f("pk_proto_documents")),
    )
    op.create_index(
        "ix_proto_documents_scope_revision",
        "proto_documents",
        ["project_id", "scope", "revision"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_proto_documents_scope_revision", table_name="proto_documents")
    op.drop_table("proto_documents")
