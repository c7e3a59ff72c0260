"""Which entity kinds share a name space.

SDK payloads key gates and holdouts by id in one map (``feature_gates``), and dynamic configs,
experiments and autotunes in another (``dynamic_configs``), so an id must be unique across each
group, not only within its own table. ``entities.service.ensure_free`` checks a group before a
create, and each kind's ``namespace`` claim (``entities.repository.add``) holds when two creates
race past that check.
"""

from __future__ import annotations

from lockgate.domains.entities.kinds import (
    AUTOTUNE,
    DYNAMIC_CONFIG,
    EXPERIMENT,
    GATE,
    HOLDOUT,
    EntityKind,
)

FEATURE_GATES: tuple[EntityKind, ...] = (GATE, HOLDOUT)
DYNAMIC_CONFIGS: tuple[EntityKind, ...] = (DYNAMIC_CONFIG, EXPERIMENT, AUTOTUNE)
