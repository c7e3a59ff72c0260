"""Wire shapes of the Environments resource."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EnvironmentIn(BaseModel):
    """One entry of ``EnvironmentsUpdateContractDto``; without ``id`` it is a new environment."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(max_length=100)
    id: str | None = Field(None, max_length=64)
    is_production: bool = Field(alias="isProduction")
    requires_review: bool = Field(alias="requiresReview")
    required_review_group_id: str | None = Field(None, alias="requiredReviewGroupID")
    requires_release_pipeline: bool = Field(alias="requiresReleasePipeline")


class EnvironmentsUpdate(BaseModel):
    """``EnvironmentsUpdateContractDto``: the whole list, in order."""

    model_config = ConfigDict(extra="ignore")

    environments: list[EnvironmentIn] = Field(min_length=1)
