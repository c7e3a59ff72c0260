"""Wire shapes of review settings, the 2026 review endpoints and change validation."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lockgate.domains.rules.schemas import RuleIn


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ReviewSettingsIn(_Body):
    """``SettingsReviewsContractDto``: a full replace."""

    is_config_review_required: bool
    is_metric_review_required: bool
    is_metric_review_required_on_verified_only: bool
    is_whn_analysis_only_review_required: bool | None = None
    is_whn_source_review_required: bool | None = None


class DebugLink(_Body):
    title: str
    url: str


class ChangeValidationIn(_Body):
    review_id: str = Field(alias="reviewID", min_length=1)
    validated: bool
    message: str | None = None
    debug_links: list[DebugLink] | None = Field(default=None, alias="debugLinks")
    release_pipeline_id_for_commit: str | None = Field(
        default=None, alias="releasePipelineIDForCommit"
    )


class ChangeValidationMessageIn(_Body):
    review_id: str = Field(alias="reviewID", min_length=1)
    message: str | None = None


class ConfigChange(_Body):
    """A gate's change is its rules or its enabled switch; a config's or segment's, its rules."""

    rules: list[RuleIn] | None = None
    is_enabled: bool | None = None


class ReviewCreate(_Body):
    description: str = Field(default="", max_length=4000)
    reviewer_ids: list[str] | None = None
    reviewer_group_ids: list[str] | None = None
    change: ConfigChange | None = None
    # Experiment reviews name an action and its arguments.
    type: str | None = None
    reason: str | None = Field(default=None, max_length=2000)
    winning_group_id: str | None = None
    remove_targeting: bool | None = None


class ReviewUpdate(_Body):
    description: str | None = Field(default=None, max_length=4000)
    reviewer_ids: list[str] | None = None
    reviewer_group_ids: list[str] | None = None


class ApproveIn(_Body):
    reason: str | None = Field(default=None, max_length=2000)


class RejectIn(_Body):
    reason: str = Field(min_length=1, max_length=2000)


ReviewStatus = Literal[
    "pending",
    "accepted",
    "rejected",
    "committed",
    "changes_requested",
    "pending_webhook_validation",
    "failed_webhook_validation",
    "approved_webhook_validation",
]

ReviewDto = dict[str, Any]
