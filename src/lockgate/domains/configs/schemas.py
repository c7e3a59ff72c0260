"""Wire shapes of the Dynamic Configs resource (``DynamicConfig*Dto`` and the rule bodies).

Values (``defaultValue``, ``returnValue``) are typed ``Any`` here so the service can name the
field and the problem precisely; names and ids are checked by ``entities.service.derive_id``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lockgate.domains.rules.schemas import RuleIn


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Owner(_Body):
    owner_id: str | None = Field(None, alias="ownerID")
    owner_type: str | None = Field(None, alias="ownerType")
    owner_name: str | None = Field(None, alias="ownerName")
    owner_email: str | None = Field(None, alias="ownerEmail")


class ConfigFields(_Body):
    """Every field a create or update may carry; all optional here."""

    name: str | None = None
    is_enabled: bool | None = Field(None, alias="isEnabled")
    description: str | None = Field(None, max_length=1000)
    rules: list[RuleIn] | None = None
    default_value: Any = Field(None, alias="defaultValue")
    default_value_json5: str | None = Field(None, alias="defaultValueJson5")
    id_type: str | None = Field(None, alias="idType", min_length=1, max_length=100)
    tags: list[str] | None = None
    owner: Owner | None = None
    schema_: str | None = Field(None, alias="schema")
    schema_json5: str | None = Field(None, alias="schemaJson5")
    target_apps: str | list[str] | None = Field(None, alias="targetApps")
    team: str | None = None
    team_id: str | None = Field(None, alias="teamID")
    release_pipeline_id: str | None = Field(None, alias="releasePipelineID")


class ConfigCreate(ConfigFields):
    """``DynamicConfigCreateDto``: ``name`` is required (checked with a precise message)."""

    id: str | None = None
    is_template: bool | None = Field(None, alias="isTemplate")


class ConfigFullUpdate(ConfigFields):
    """``DynamicConfigFullUpdateDto``: a replace; ``isEnabled``, ``description`` and ``rules``
    are required."""

    is_enabled: bool = Field(alias="isEnabled")
    description: str = Field(max_length=1000)
    rules: list[RuleIn]


class ConfigPartialUpdate(ConfigFields):
    """``DynamicConfigPartialUpdateDto``: only the fields sent change."""


class MultiRuleIn(_Body):
    """``{rules: [...]}`` for adding several rules or updating listed rules in place."""

    rules: list[RuleIn]


class ArchiveIn(_Body):
    force_archive: bool | None = Field(None, alias="forceArchive")
    archive_reason: str | None = Field(None, alias="archiveReason", max_length=1000)


class UnarchiveIn(_Body):
    unarchive_reason: str | None = Field(None, alias="unarchiveReason", max_length=1000)
