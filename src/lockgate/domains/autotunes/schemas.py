"""Wire shapes of the Autotunes resource (request bodies; responses are stored documents)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ExplorationWindow = Literal[
    "1hr", "24hr", "48hr", "168hr", "336hr",
    "1", "24", "48", "168", "336",
    "1hrs", "24hrs", "48hrs", "168hrs", "336hrs",
]  # fmt: skip
AttributionWindow = Literal[
    "1hr", "2hr", "4hr", "24hr", "1hrs", "2hrs", "4hrs", "24hrs", "1", "2", "4", "24"
]
AttributionWindowUnit = Literal["min", "hour", "day"]
WinnerThreshold = Literal["80%", "90%", "95%", "98%", "99%"]
OptimizationParameter = Literal["occurrence", "value"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class VariantIn(_Body):
    name: str
    # ``json`` would shadow BaseModel.json, so the attribute has another name.
    value: Any = Field(alias="json")
    size: float | None = Field(None, ge=0, le=100)


class AutotuneFields(_Body):
    """``AutotunePartialUpdateDto``: every field optional; the other bodies tighten some."""

    description: str | None = Field(None, max_length=1000)
    variants: list[VariantIn] | None = Field(None, min_length=2)
    success_event: str | None = Field(None, alias="successEvent", min_length=1)
    success_event_value: str | None = Field(None, alias="successEventValue")
    exploration_window: ExplorationWindow | None = Field(None, alias="explorationWindow")
    attribution_window: AttributionWindow | None = Field(None, alias="attributionWindow")
    attribution_window_unit: AttributionWindowUnit | None = Field(
        None, alias="attributionWindowUnit"
    )
    exploration_window_rate: float | None = Field(
        None, alias="explorationWindowRate", ge=0.001, le=1
    )
    longterm_exploration_allocation: float | None = Field(
        None, alias="longtermExplorationAllocation", ge=0.001, le=1
    )
    winner_threshold: WinnerThreshold | None = Field(None, alias="winnerThreshold")
    metadata_field: str | None = Field(None, alias="metadataField")
    higher_is_better: bool | None = Field(None, alias="higherIsBetter")
    is_contextual: bool | None = Field(None, alias="isContextual")
    metric_source_id: str | None = Field(None, alias="metricSourceID")
    linked_experiment_name: str | None = Field(None, alias="linkedExperimentName")
    goal_rich_text: str | None = Field(None, alias="goalRichText")
    optimization_parameter: OptimizationParameter | None = Field(
        None, alias="optimizationParameter"
    )
    value_column: str | None = Field(None, alias="valueColumn")
    feature_list: list[str] | None = Field(None, alias="featureList")


class AutotuneFullUpdate(AutotuneFields):
    """``AutotuneFullUpdateDto``."""

    variants: list[VariantIn] = Field(min_length=2)
    success_event: str = Field(alias="successEvent", min_length=1)
    exploration_window: ExplorationWindow = Field(alias="explorationWindow")
    attribution_window: AttributionWindow = Field(alias="attributionWindow")
    winner_threshold: WinnerThreshold = Field(alias="winnerThreshold")


class AutotuneCreate(AutotuneFullUpdate):
    """``AutotuneCreateDto``: the full update's fields plus the name and unit type."""

    name: str
    id_type: str | None = Field(None, alias="idType", min_length=1)


class AutotunePartialUpdate(AutotuneFields):
    pass


class DecisionIn(_Body):
    """``ExperimentStatusUpdateDto``: ``id`` names the variant to ship."""

    id: str
    decision_reason: str = Field(alias="decisionReason")
    remove_targeting: bool = Field(False, alias="removeTargeting")
