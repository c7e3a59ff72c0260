"""Wire shapes of the Experiments resource (``Experiment*Dto`` bodies and action bodies).

Fields whose problems deserve a precise message (names, sizes, group references) are typed
loosely here and checked in the service.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lockgate.domains.rules.schemas import RuleIn


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class GroupIn(_Body):
    name: str | None = None
    id: str | None = None
    size: float | None = None
    parameter_values: dict[str, Any] | None = Field(None, alias="parameterValues")
    disabled: bool | None = None
    description: str | None = None
    foreign_group_id: str | None = Field(None, alias="foreignGroupID")


class MetricIn(_Body):
    name: str
    type: str
    direction: Literal["increase", "decrease"] | None = None
    hypothesized_value: float | None = Field(None, alias="hypothesizedValue")


class LinkIn(_Body):
    url: str
    title: str | None = None


ConfidenceInterval = Literal["80", "90", "95", "98", "99"]
Status = Literal[
    "active",
    "setup",
    "decision_made",
    "abandoned",
    "archived",
    "experiment_stopped",
    "assignment_stopped",
]


class ExperimentFields(_Body):
    """Every field a create or update may carry; all optional here."""

    name: str | None = None
    description: str | None = Field(None, max_length=1000)
    id_type: str | None = Field(None, alias="idType", min_length=1, max_length=100)
    hypothesis: str | None = None
    links: list[LinkIn] | None = None
    groups: list[GroupIn] | None = None
    control_group_id: str | None = Field(None, alias="controlGroupID")
    allocation: float | None = None
    primary_metric_tags: list[str] | None = Field(None, alias="primaryMetricTags")
    secondary_metric_tags: list[str] | None = Field(None, alias="secondaryMetricTags")
    primary_metrics: list[MetricIn] | None = Field(None, alias="primaryMetrics")
    secondary_metrics: list[MetricIn] | None = Field(None, alias="secondaryMetrics")
    other_metrics: list[MetricIn] | None = Field(None, alias="otherMetrics")
    target_apps: str | list[str] | None = Field(None, alias="targetApps")
    tags: list[str] | None = None
    duration: int | None = Field(None, gt=1)
    target_exposures: int | None = Field(None, alias="targetExposures", gt=1)
    targeting_gate_id: str | None = Field(None, alias="targetingGateID")
    inline_targeting_rules: list[RuleIn] | None = Field(None, alias="inlineTargetingRules")
    sequential_testing: bool | None = Field(None, alias="sequentialTesting")
    bonferroni_correction: bool | None = Field(None, alias="bonferroniCorrection")
    bonferroni_correction_per_metric: bool | None = Field(
        None, alias="bonferroniCorrectionPerMetric"
    )
    benjamini_hochberg_per_variant: bool | None = Field(None, alias="benjaminiHochbergPerVariant")
    benjamini_hochberg_per_metric: bool | None = Field(None, alias="benjaminiHochbergPerMetric")
    benjamini_primary_metrics_only: bool | None = Field(None, alias="benjaminiPrimaryMetricsOnly")
    default_confidence_interval: ConfidenceInterval | None = Field(
        None, alias="defaultConfidenceInterval"
    )
    status: Status | None = None
    launched_group_id: str | None = Field(None, alias="launchedGroupID")
    decision_reason: str | None = Field(None, alias="decisionReason")
    team: str | None = None
    team_id: str | None = Field(None, alias="teamID")
    analytics_type: Literal["frequentist", "bayesian", "sprt"] | None = Field(
        None, alias="analyticsType"
    )
    secondary_id_type: str | None = Field(None, alias="secondaryIDType")
    allocation_duration: int | None = Field(None, alias="allocationDuration", gt=1)
    fixed_analysis_duration: int | None = Field(None, alias="fixedAnalysisDuration", gt=1)
    holdout_ids: list[str] | None = Field(None, alias="holdoutIDs")
    layer_id: str | None = Field(None, alias="layerID")
    assignment_source_name: str | None = Field(None, alias="assignmentSourceName", max_length=100)
    assignment_source_experiment_name: str | None = Field(
        None, alias="assignmentSourceExperimentName", max_length=1000
    )
    is_analysis_only: bool | None = Field(None, alias="isAnalysisOnly")
    # checked against the assignment source's columns (warehouse.filters)
    assignment_source_filters: Any = Field(None, alias="assignmentSourceFilters")
    # a day YYYY-MM-DD or null, checked as PUT /start checks it (lifecycle.set_analysis_window)
    analysis_end_time: Any = Field(None, alias="analysisEndTime")


class ExperimentCreate(ExperimentFields):
    """``ExperimentCreateDto``: only ``name`` is required (checked with a precise message)."""

    id: str | None = None


class ExperimentFullUpdate(ExperimentFields):
    """``ExperimentFullUpdateDto``: a replace; the spec's required fields are required."""

    description: str = Field(max_length=1000)
    id_type: str = Field(alias="idType", min_length=1, max_length=100)
    hypothesis: str
    groups: list[GroupIn]
    allocation: float
    targeting_gate_id: str | None = Field(alias="targetingGateID")
    bonferroni_correction: bool = Field(alias="bonferroniCorrection")
    default_confidence_interval: ConfidenceInterval = Field(alias="defaultConfidenceInterval")
    status: Status


class ExperimentPartialUpdate(ExperimentFields):
    """``ExperimentPartialUpdateDto``: only the fields sent change."""


class StartIn(_Body):
    analysis_start_time: Any = Field(None, alias="analysisStartTime")
    analysis_end_time: Any = Field(None, alias="analysisEndTime")
    turbo_mode: bool | None = Field(None, alias="turboMode")


class ScheduleIn(_Body):
    scheduled_time: int = Field(alias="scheduledTime")


class DecisionIn(_Body):
    id: str
    decision_reason: str = Field(alias="decisionReason")
    remove_targeting: bool = Field(False, alias="removeTargeting")


class AbandonIn(_Body):
    decision_reason: str = Field(alias="decisionReason")


class ArchiveIn(_Body):
    archive_reason: str | None = Field(None, alias="archiveReason", max_length=1000)


class NameIn(_Body):
    name: str


class GroupNamesIn(_Body):
    group_names: list[str]


class ResolveAlertIn(_Body):
    reasoning: str | None = None


class ConditionalOverrideIn(_Body):
    type: Literal["gate", "segment"]
    id: str | None = None
    # The GET example of the official spec says ``name`` where the schema says ``id``.
    name: str | None = None
    group_id: str = Field(alias="groupID")
    environment: str | None = None


class IdOverrideIn(_Body):
    group_id: str = Field(alias="groupID")
    ids: list[str] = Field(max_length=1000)
    environment: str | None = None
    unit_type: str | None = Field(None, alias="unitType")


class OverridesIn(_Body):
    """``ExperimentOverridesDto``. Both lists are required by the spec; an omitted one is
    treated as empty (DELETE bodies commonly carry only what they remove)."""

    overrides: list[ConditionalOverrideIn] = Field(default_factory=list, max_length=1000)
    user_id_overrides: list[IdOverrideIn] = Field(default_factory=list, alias="userIDOverrides")
