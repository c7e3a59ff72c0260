"""Which entity kinds share a name space.

SDK payloads key gates and holdouts by id in one map (``feature_gates``), and dynamic configs,
experiments and autotunes in another (``dynamic_configs``), so an id must be unique across each
group, not only within its own table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lockgate.domains.entities.service import NAME_IN_USE
from lockgate.errors import InvalidInput
from lockgate.storage.models import Autotune, DynamicConfig, Experiment, Gate, Holdout

FEATURE_GATES: tuple[Any, ...] = (Gate, Holdout)
DYNAMIC_CONFIGS: tuple[Any, ...] = (DynamicConfig, Experiment, Autotune)


def ensure_id_free(
    session: Session, models: Sequence[Any], project_id: str, entity_id: str
) -> None:
    for model in models:
        taken = session.scalar(
            select(func.count()).where(model.project_id == project_id, model.id == entity_id)
        )
        if taken:
            raise InvalidInput(NAME_IN_USE)
