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
    Environment,
    Project,
    RateLimitCounter,
    Tag,
    TargetApp,
    UnitIdType,
)
from lockgate.storage.models.events import (
    CustomEvent,
    Exposure,
    events_incoming,
    exposures_incoming,
)
from lockgate.storage.models.people import Role, Team, TeamMember, User, UserInvite
from lockgate.storage.models.pulse import (
    Metric,
    PulseJob,
    PulseResult,
    PulseState,
    PulseStateUnit,
    PulseStateValue,
)
from lockgate.storage.models.reviews import OutboxDelivery, Review, ReviewSettings
from lockgate.storage.models.warehouse import WarehouseConnection

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
    "Environment",
    "Experiment",
    "Exposure",
    "Gate",
    "Holdout",
    "JSONType",
    "Layer",
    "Metric",
    "OutboxDelivery",
    "ParamStore",
    "Project",
    "PulseJob",
    "PulseResult",
    "PulseState",
    "PulseStateUnit",
    "PulseStateValue",
    "RateLimitCounter",
    "Review",
    "ReviewSettings",
    "Role",
    "Segment",
    "SegmentMember",
    "Tag",
    "TargetApp",
    "Team",
    "TeamMember",
    "UnitIdType",
    "User",
    "UserInvite",
    "WarehouseConnection",
    "events_incoming",
    "exposures_incoming",
]
