"""Every ORM table. Importing this package registers them all on ``Base.metadata``."""

from lockgate.models.base import Base, EntityMixin, JSONType
from lockgate.models.core import (
    ApiKey,
    AuditLog,
    Company,
    EntityVersion,
    Project,
    RateLimitCounter,
    Tag,
)

__all__ = [
    "ApiKey",
    "AuditLog",
    "Base",
    "Company",
    "EntityMixin",
    "EntityVersion",
    "JSONType",
    "Project",
    "RateLimitCounter",
    "Tag",
]
