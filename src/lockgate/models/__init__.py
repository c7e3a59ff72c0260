"""Every ORM table. Importing this package registers them all on ``Base.metadata``."""

from lockgate.models.base import Base, EntityMixin, JSONType
from lockgate.models.configs import DynamicConfig, Gate, Segment, SegmentMember
from lockgate.models.core import (
    ApiKey,
    AuditLog,
    Company,
    EntityVersion,
    Project,
    RateLimitCounter,
    Tag,
)
from lockgate.models.events import CustomEvent, Exposure

__all__ = [
    "ApiKey",
    "AuditLog",
    "Base",
    "Company",
    "CustomEvent",
    "DynamicConfig",
    "EntityMixin",
    "EntityVersion",
    "Exposure",
    "Gate",
    "JSONType",
    "Project",
    "RateLimitCounter",
    "Segment",
    "SegmentMember",
    "Tag",
]
