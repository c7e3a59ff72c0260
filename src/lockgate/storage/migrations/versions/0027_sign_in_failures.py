"""Sign-in failures

The web console's failed sign-ins per email within the throttle's window, kept in the database
so that every server process counts the same failures and a restart forgets none. Emails are
stored as SHA-256 digests only.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 12:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("email_digest", sa.String(length=64), nullable=False),
        sa.Column(
            "times",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("latest", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("email_digest", name=op.f("pk_sign_in_failures")),
    )
    op.create_index(
        op.f("ix_sign_in_failures_latest"), "sign_in_failures", ["latest"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_sign_in_failures_latest"), table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
