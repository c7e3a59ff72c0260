"""The kinds of entity document, one per table: what each is called and what it indexes.

They live here, under the package every domain builds on, because domains read each other's
tables through them: a gate rule checks that a segment exists, an experiment ships its values
into its layer, a holdout attaches to gates, experiments and layers. Each domain owns the
writes of its own kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lockgate.errors import GENERIC_NOT_FOUND
from lockgate.storage.models import (
    Autotune,
    DynamicConfig,
    Experiment,
    Gate,
    Holdout,
    Layer,
    Metric,
    ParamStore,
    Segment,
)

# The SDK payload maps whose keys several kinds share.
FEATURE_GATES_MAP = "feature_gates"
DYNAMIC_CONFIGS_MAP = "dynamic_configs"


@dataclass(frozen=True)
class EntityKind:
    model: Any  # a table class built on EntityMixin
    entity_type: str  # "gate", used in versions and audit rows
    label: str  # "Gate", used in messages
    not_found: str
    # Extra indexed columns derived from a document (e.g. a gate's type).
    columns: Callable[[dict[str, Any]], dict[str, Any]] = field(default=lambda _doc: {})
    # Whether a change alters what SDKs download.
    affects_spec: bool = True
    # The name space the kind's ids share with other kinds (``namespaces``), claimed in
    # ``entity_names`` on insert; None when the kind's own table is the whole name space.
    namespace: str | None = None


GATE = EntityKind(
    model=Gate,
    entity_type="gate",
    label="Gate",
    not_found=GENERIC_NOT_FOUND,
    columns=lambda document: {"gate_type": document.get("type") or "TEMPORARY"},
    namespace=FEATURE_GATES_MAP,
)
SEGMENT = EntityKind(
    model=Segment,
    entity_type="segment",
    label="Segment",
    not_found="Segment not found.",
    columns=lambda document: {"segment_type": document["type"]},
)
DYNAMIC_CONFIG = EntityKind(
    model=DynamicConfig,
    entity_type="dynamic_config",
    label="Dynamic Config",
    not_found="Dynamic Config not found.",
    namespace=DYNAMIC_CONFIGS_MAP,
)
EXPERIMENT = EntityKind(
    model=Experiment,
    entity_type="experiment",
    label="Experiment",
    not_found="Experiment not found.",
    columns=lambda document: {
        "layer_id": document.get("layerID"),
        "team_id": document.get("teamID"),
    },
    namespace=DYNAMIC_CONFIGS_MAP,
)
LAYER = EntityKind(model=Layer, entity_type="layer", label="Layer", not_found="Layer not found.")
HOLDOUT = EntityKind(
    model=Holdout,
    entity_type="holdout",
    label="Holdout",
    not_found="Holdout not found.",
    namespace=FEATURE_GATES_MAP,
)
AUTOTUNE = EntityKind(
    model=Autotune,
    entity_type="autotune",
    label="Autotune Experiment",
    not_found="Autotune Experiment not found.",
    namespace=DYNAMIC_CONFIGS_MAP,
)
METRIC = EntityKind(
    model=Metric,
    entity_type="metric",
    label="Metric",
    not_found=GENERIC_NOT_FOUND,
    columns=lambda document: {"metric_type": document["type"]},
    affects_spec=False,  # metrics never reach download_config_specs
)
PARAM_STORE = EntityKind(
    model=ParamStore,
    entity_type="param_store",
    label="Param Store",
    not_found="Param Store not found.",
)

# Every kind whose documents may name environments or unit id types, for the checks that read
# them all (docs/console.md §Environments); a parameter store names neither.
ALL_KINDS = (GATE, DYNAMIC_CONFIG, SEGMENT, EXPERIMENT, LAYER, HOLDOUT, AUTOTUNE, METRIC)

# Every kind by its ``entity_type``, for code that finds a kind from a stored reference.
KINDS_BY_TYPE = {kind.entity_type: kind for kind in (*ALL_KINDS, PARAM_STORE)}
