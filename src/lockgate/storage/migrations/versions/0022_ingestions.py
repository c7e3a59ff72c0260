"""Ingestions

Ingestion sources, their connections, daily schedules, runs, per-day statuses and the
event-count ledger; events remember which ingestion load wrote them, so a day loaded again
replaces its rows.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 04:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ingestion_counts",
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=32), nullable=False),
        sa.Column("ds", sa.String(length=10), nullable=False),
        sa.Column("event_name", sa.String(length=200), nullable=False),
        sa.Column("source_name", sa.String(length=200), nullable=False),
        sa.Column("internal_count", sa.BigInteger(), nullable=False),
        sa.Column("external_count", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("updated_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "project_id", "source_id", "ds", "event_name", name=op.f("pk_ingestion_counts")
        ),
    )
    op.create_table(
        "ingestion_statuses",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("source_id", sa.String(length=32), nullable=False),
        sa.Column("source_name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("dataset", sa.String(length=32), nullable=False),
        sa.Column("ds", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("row_count", sa.BigInteger(), nullable=True),
        sa.Column("metric_count", sa.BigInteger(), nullable=True),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ingestion_statuses")),
    )
    with op.batch_alter_table("ingestion_statuses", schema=None) as batch_op:
        batch_op.create_index("ix_ingestion_statuses_day", ["project_id", "ds"], unique=False)
        batch_op.create_index("ix_ingestion_statuses_run", ["run_id", "seq"], unique=False)

    op.create_table(
        "ingestion_connections",
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("settings", JSON, nullable=False),
        sa.Column("secrets", sa.Text(), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("updated_time", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_ingestion_connections_project_id_projects"),
        ),
        sa.PrimaryKeyConstraint("project_id", "type", name=op.f("pk_ingestion_connections")),
    )
    op.create_table(
        "ingestion_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("source_ids", JSON, nullable=False),
        sa.Column("date_stamps", JSON, nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("history", JSON, nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("updated_time", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_ingestion_runs_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingestion_runs")),
    )
    with op.batch_alter_table("ingestion_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ingestion_runs_project_created", ["project_id", "created_time"], unique=False
        )
        batch_op.create_index("ix_ingestion_runs_status", ["status", "created_time"], unique=False)

    op.create_table(
        "ingestion_schedules",
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("dataset", sa.String(length=32), nullable=False),
        sa.Column("scheduled_hour_pst", sa.Integer(), nullable=False),
        sa.Column("updated_time", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_ingestion_schedules_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("project_id", "dataset", name=op.f("pk_ingestion_schedules")),
    )
    op.create_table(
        "ingestion_sources",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("dataset", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("column_mapping", JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("creator", sa.String(length=320), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("last_modifier", sa.String(length=320), nullable=False),
        sa.Column("updated_time", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_ingestion_sources_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingestion_sources")),
    )
    with op.batch_alter_table("ingestion_sources", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ingestion_sources_name", ["project_id", "type", "dataset", "name"], unique=True
        )

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ingestion", sa.String(length=48), nullable=True))
        batch_op.create_index("ix_events_ingestion", ["project_id", "ingestion"], unique=False)

    with op.batch_alter_table("events_incoming", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ingestion", sa.String(length=48), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events_incoming", schema=None) as batch_op:
        batch_op.drop_column("ingestion")

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_ingestion")
        batch_op.drop_column("ingestion")

    with op.batch_alter_table("ingestion_sources", schema=None) as batch_op:
        batch_op.drop_index("ix_ingestion_sources_name")

    op.drop_table("ingestion_sources")
    op.drop_table("ingestion_schedules")
    with op.batch_alter_table("ingestion_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_ingestion_runs_status")
        batch_op.drop_index("ix_ingestion_runs_project_created")

    op.drop_table("ingestion_runs")
    op.drop_table("ingestion_connections")
    with op.batch_alter_table("ingestion_statuses", schema=None) as batch_op:
        batch_op.drop_index("ix_ingestion_statuses_run")
        batch_op.drop_index("ix_ingestion_statuses_day")

    op.drop_table("ingestion_statuses")
    op.drop_table("ingestion_counts")
