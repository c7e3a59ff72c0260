"""Every ORM table. Importing this package registers them all on ``Base.metadata``."""

from lockgate.storage.models.base import Base, EntityMixin, JSONType
from lockgate.storage.models.configs import (
    Autotune,
    DynamicConfig,
    Experiment,
    Gate,
    Holdout,
    Layer,
    ParamStore,
    Segment,
    SegmentMember,
)
from lockgate.storage.models.core import (
    ApiKey,
    AuditLog,
    Company,
    EntityName,
    EntityVersion,
    Project,
    RateLimitCounter,
    Tag,
    TargetApp,
)
from lockgate.storage.models.events import (
    CustomEvent,
    Exposure,
    events_incoming,
    exposures_incoming,
)
from lockgate.storage.models.pulse import (
    Metric,
    PulseJob,
    PulseResult,
    PulseState,
    PulseStateUnit,
    PulseStateValue,
)

__all__ = [
    "ApiKey",
    "AuditLog",
    "Autotune",
    "Base",
    "Company",
    "CustomEvent",
    "DynamicConfig",
    "EntityMixin",
    "EntityName",
    "EntityVersion",
    "Experiment",
    "Exposure",
    "Gate",
    "Holdout",
    "JSONType",
    "Layer",
    "Metric",
    "ParamStore",
    "Project",
    "PulseJob",
    "PulseResult",
    "PulseState",
    "PulseStateUnit",
    "PulseStateValue",
    "RateLimitCounter",
    "Segment",
    "SegmentMember",
    "Tag",
    "TargetApp",
    "events_incoming",
    "exposures_incoming",
]
