"""Wire shapes of the Gates resource (request bodies; responses are stored documents)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lockgate.domains.rules.schemas import RuleIn

GateType = Literal["PERMANENT", "TEMPORARY"]
GATE_TYPES = ("TEMPORARY", "PERMANENT", "STALE", "TEMPLATE")
TYPE_REASONS = (
    "NONE",
    "STALE_PROBABLY_LAUNCHED",
    "STALE_PROBABLY_UNLAUNCHED",
    "STALE_PROBABLY_FORGOTTEN",
    "STALE_NO_RULES",
    "STALE_PROBABLY_DEAD_CHECK",
    "STALE_EMPTY_CHECKS",
    "STALE_ALL_TRUE",
    "STALE_ALL_FALSE",
)
RATE_BUCKETS = ("0", "100", "INBETWEEN")


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class MonitoringMetric(_Body):
    name: str
    type: str


class ReviewSettings(_Body):
    required_review: bool = Field(alias="requiredReview")


class GateFields(_Body):
    """Fields every gate write accepts; all optional here, the full update tightens three."""

    name: str | None = None
    is_enabled: bool | None = Field(None, alias="isEnabled")
    description: str | None = Field(None, max_length=1000)
    rules: list[RuleIn] | None = None
    tags: list[str] | None = None
    type: GateType | None = None
    id_type: str | None = Field(None, alias="idType", min_length=1)
    target_apps: str | list[str] | None = Field(None, alias="targetApps")
    creator_id: str | None = Field(None, alias="creatorID")
    creator_email: str | None = Field(None, alias="creatorEmail")
    team: str | None = None
    team_id: str | None = Field(None, alias="teamID")
    measure_metric_lifts: bool | None = Field(None, alias="measureMetricLifts")
    monitoring_metrics: list[MonitoringMetric] | None = Field(None, alias="monitoringMetrics")
    review_settings: ReviewSettings | None = Field(None, alias="reviewSettings")
    release_pipeline_id: str | None = Field(None, alias="releasePipelineID")


class GateCreate(GateFields):
    id: str | None = None
    is_template: bool | None = Field(None, alias="isTemplate")


class GateFullUpdate(GateFields):
    """``GateFullUpdateDto``: ``isEnabled``, ``description`` and ``rules`` are required."""

    is_enabled: bool = Field(alias="isEnabled")
    description: str = Field(max_length=1000)
    rules: list[RuleIn]


class GatePartialUpdate(GateFields):
    pass


class MultiRuleIn(_Body):
    rules: list[RuleIn]


class ArchiveIn(_Body):
    force_archive: bool = Field(False, alias="forceArchive")
    archive_reason: str | None = Field(None, alias="archiveReason")


class UnarchiveIn(_Body):
    unarchive_reason: str | None = Field(None, alias="unarchiveReason")


class EnvironmentOverrideIn(_Body):
    environment: str | None = None
    unit_id: str | None = Field(alias="unitID")
    passing_ids: list[str] = Field(alias="passingIDs")
    failing_ids: list[str] = Field(alias="failingIDs")


class OverridesIn(_Body):
    """``UpdateOverridesContractDto``: id lists, environment overrides, or both."""

    passing_user_ids: list[str] | None = Field(None, alias="passingUserIDs")
    failing_user_ids: list[str] | None = Field(None, alias="failingUserIDs")
    passing_custom_ids: list[str] | None = Field(None, alias="passingCustomIDs")
    failing_custom_ids: list[str] | None = Field(None, alias="failingCustomIDs")
    environment_overrides: list[EnvironmentOverrideIn] | None = Field(
        None, alias="environmentOverrides"
    )


class LoadPulseIn(_Body):
    refresh: Literal["full", "incremental", "metric"] = "full"
    metric_ids: list[str] | None = Field(None, alias="metricIDs")
    rule_id: str = Field(alias="ruleId")
    turbo_mode: bool | None = Field(None, alias="turboMode")


class ResolveAlertIn(_Body):
    reasoning: str | None = None
