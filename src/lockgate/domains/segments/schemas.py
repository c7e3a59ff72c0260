"""Wire shapes of the Segments resource (``SegmentCreateContractDto`` and the id-list bodies)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lockgate.domains.rules.schemas import RuleIn


class SegmentCreate(BaseModel):
    """Types are loose on purpose: the service checks them so the message can name the field."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    name: str | None = None
    id: str | None = None
    description: str | None = Field(None, max_length=1000)
    type: str | None = None
    id_type: str | None = Field(None, alias="idType")
    tags: list[str] | None = None
    creator_id: str | None = Field(None, alias="creatorID")
    creator_email: str | None = Field(None, alias="creatorEmail")
    team: str | None = None
    team_id: str | None = Field(None, alias="teamID")
    rules: list[RuleIn] | None = None


class IdsBody(BaseModel):
    """``SegmentIDListContractDto`` and ``SegmentIDListResetContractDto``."""

    model_config = ConfigDict(extra="ignore")

    ids: list[str]


class UserStoreIdsBody(BaseModel):
    """``SegmentIDListUserStoreContractDto``: ``version`` is the list version the caller read."""

    model_config = ConfigDict(extra="ignore")

    ids: list[str]
    version: float | None = None


def rules_payload(raw: Any) -> Any:
    """``SegmentRulesDto`` is a bare array; ``{"rules": [...]}`` is accepted as well."""
    if isinstance(raw, dict) and "rules" in raw:
        return raw["rules"]
    return raw
