"""The reference graph: which gate or segment each entity's rule conditions name

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 01:50:00.000000
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# The kinds whose documents hold rules at this revision, and the condition types that name an
# entity (docs/architecture.md §Reference graph).
TABLES = {
    "gates": "gate",
    "dynamic_configs": "dynamic_config",
    "segments": "segment",
    "experiments": "experiment",
}
RULE_LISTS = ("rules", "inlineTargetingRules")
TARGETS = {
    "passes_gate": "gate",
    "fails_gate": "gate",
    "passes_segment": "segment",
    "fails_segment": "segment",
}
BATCH = 500


def upgrade() -> None:
    references = op.create_table(
        "entity_references",
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=200), nullable=False),
        sa.Column("target_type", sa.String(length=40), nullable=False),
        sa.Column("target_id", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint(
            "project_id",
            "entity_type",
            "entity_id",
            "target_type",
            "target_id",
            name=op.f("pk_entity_references"),
        ),
    )
    op.create_index(
        "ix_entity_references_target",
        "entity_references",
        ["project_id", "target_type", "target_id"],
    )
    _backfill(op.get_bind(), references)


def _edges(document: Any) -> Iterator[tuple[str, str]]:
    if not isinstance(document, dict):
        return
    for key in RULE_LISTS:
        for rule in document.get(key) or ():
            if not isinstance(rule, dict):
                continue
            for condition in rule.get("conditions") or ():
                if not isinstance(condition, dict):
                    continue
                target_type = TARGETS.get(str(condition.get("type")))
                target = condition.get("targetValue")
                if target_type is not None and isinstance(target, str) and target:
                    yield target_type, target


def _backfill(connection: sa.Connection, references: sa.Table) -> None:
    """Record the edges of every stored document, a batch of rows at a time."""
    for table_name, entity_type in TABLES.items():
        table = sa.table(
            table_name, sa.column("project_id"), sa.column("id"), sa.column("document")
        )
        query = sa.select(table.c.project_id, table.c.id, table.c.document)
        rows: list[dict[str, str]] = []
        for project_id, entity_id, document in connection.execute(query).all():
            for target_type, target_id in sorted(set(_edges(_loaded(document)))):
                rows.append(
                    {
                        "project_id": project_id,
                        "entity_type": entity_type,
                        "entity_id": entity_id,
                        "target_type": target_type,
                        "target_id": target_id,
                    }
                )
            if len(rows) >= BATCH:
                op.bulk_insert(references, rows)
                rows = []
        if rows:
            op.bulk_insert(references, rows)


def _loaded(document: Any) -> Any:
    # A bare table reads the JSON column as text on SQLite.
    if isinstance(document, str | bytes):
        return json.loads(document)
    return document


def downgrade() -> None:
    op.drop_index("ix_entity_references_target", table_name="entity_references")
    op.drop_table("entity_references")
