"""Ids shared by several entity kinds are claimed in entity_names

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 12:13:42.844791
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# The name spaces as they stand at this revision: each kind's table and entity type.
NAMESPACES = {
    "feature_gates": (("gates", "gate"), ("holdouts", "holdout")),
    "dynamic_configs": (
        ("dynamic_configs", "dynamic_config"),
        ("experiments", "experiment"),
        ("autotunes", "autotune"),
    ),
}


def upgrade() -> None:
    names = op.create_table(
        "entity_names",
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("namespace", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=200), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint(
            "project_id", "namespace", "entity_id", name=op.f("pk_entity_names")
        ),
    )
    _claim_existing(op.get_bind(), names)


def _claim_existing(connection: sa.Connection, names: sa.Table) -> None:
    """Claim every existing id. Where concurrent creates already left one id in two kinds, the
    oldest entity keeps the claim; the other stays readable and can be deleted."""
    for namespace, kinds in NAMESPACES.items():
        found = []
        for order, (table_name, entity_type) in enumerate(kinds):
            table = sa.table(
                table_name, sa.column("project_id"), sa.column("id"), sa.column("created_time")
            )
            query = sa.select(table.c.project_id, table.c.id, table.c.created_time)
            for project_id, entity_id, created in connection.execute(query):
                found.append((created, order, project_id, entity_id, entity_type))
        claimed: dict[tuple[str, str], str] = {}
        for _created, _order, project_id, entity_id, entity_type in sorted(found):
            claimed.setdefault((project_id, entity_id), entity_type)
        if claimed:
            op.bulk_insert(
                names,
                [
                    {"project_id": p, "namespace": namespace, "entity_id": i, "entity_type": t}
                    for (p, i), t in claimed.items()
                ],
            )


def downgrade() -> None:
    op.drop_table("entity_names")
