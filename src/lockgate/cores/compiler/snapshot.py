"""What the compiler reads: a frozen view of a project's entities at one spec revision."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lockgate.documents.stored import (
    StoredAutotune,
    StoredConfig,
    StoredExperiment,
    StoredGate,
    StoredHoldout,
    StoredLayer,
    StoredSegment,
)


@dataclass(frozen=True)
class IdListInfo:
    """An id-list segment: small lists are inlined into the spec, large ones served as files."""

    segment_id: str
    count: int
    version: int
    modified_time: int
    inline_ids: tuple[str, ...] | None  # set when the list is small enough to inline


@dataclass(frozen=True)
class KeyScope:
    """What the requesting SDK key may see: its environments and target app."""

    environments: tuple[str, ...] | None = None
    target_app: str | None = None


@dataclass(frozen=True)
class ProjectSnapshot:
    project_id: str
    company_id: str
    time_ms: int
    gates: Sequence[StoredGate] = ()
    configs: Sequence[StoredConfig] = ()
    segments: Sequence[StoredSegment] = ()
    experiments: Sequence[StoredExperiment] = ()
    layers: Sequence[StoredLayer] = ()
    holdouts: Sequence[StoredHoldout] = ()
    autotunes: Sequence[StoredAutotune] = ()
    param_stores: Sequence[Mapping[str, Any]] = ()
    id_lists: Mapping[str, IdListInfo] = field(default_factory=dict)


def target_apps(document: Mapping[str, Any]) -> list[str]:
    """The target app ids an entity is tagged with (``targetApps`` is a string or a list)."""
    apps = document.get("targetApps")
    if isinstance(apps, str):
        return [apps] if apps else []
    return [str(a) for a in apps or []]
