"""Projects keep their environments and custom unit id types

Existing projects get the three default environments, and every custom id type their entities
already use becomes a defined type, so nothing stored stops validating.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 12:54:57.704705
"""

from __future__ import annotations

import random
import time

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ENTITY_TABLES = (
    "gates",
    "dynamic_configs",
    "segments",
    "experiments",
    "layers",
    "holdouts",
    "autotunes",
)
_DEFAULTS = (("development", False, False), ("staging", False, False), ("production", True, True))
_BUILT_IN = {"userid", "stableid"}


def upgrade() -> None:
    environments = op.create_table(
        "environments",
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_production", sa.Boolean(), nullable=False),
        sa.Column("requires_review", sa.Boolean(), nullable=False),
        sa.Column("required_review_group_id", sa.String(length=64), nullable=True),
        sa.Column("requires_release_pipeline", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_environments_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_environments")),
    )
    unit_id_types = op.create_table(
        "unit_id_types",
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_unit_id_types_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("project_id", "name", name=op.f("pk_unit_id_types")),
    )
    connection = op.get_bind()
    projects = [row[0] for row in connection.execute(sa.text("SELECT id FROM projects"))]
    now_ms = int(time.time() * 1000)
    env_rows = []
    type_rows = []
    for project_id in projects:
        for position, (name, production, review) in enumerate(_DEFAULTS):
            env_rows.append(
                {
                    "project_id": project_id,
                    "id": repr(random.random()),
                    "name": name,
                    "position": position,
                    "is_production": production,
                    "requires_review": review,
                    "required_review_group_id": None,
                    "requires_release_pipeline": True,
                }
            )
        seen: set[str] = set()
        for table in _ENTITY_TABLES:
            used = connection.execute(
                sa.text(
                    f"SELECT DISTINCT id_type FROM {table} "
                    "WHERE project_id = :p AND id_type IS NOT NULL"
                ),
                {"p": project_id},
            )
            for (id_type,) in used:
                if id_type.lower() not in _BUILT_IN and id_type.lower() not in seen:
                    seen.add(id_type.lower())
                    type_rows.append(
                        {
                            "project_id": project_id,
                            "name": id_type,
                            "description": None,
                            "created_time": now_ms,
                        }
                    )
    if env_rows:
        op.bulk_insert(environments, env_rows)
    if type_rows:
        op.bulk_insert(unit_id_types, type_rows)


def downgrade() -> None:
    op.drop_table("unit_id_types")
    op.drop_table("environments")
