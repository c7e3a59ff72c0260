"""Wire shapes of the Metrics resource: ``MetricCreationContractDto`` and
``MetricsUpdateContractDto``.

Types are loose on purpose: the rules in ``definitions.py`` check them so that each message can
name the field and say what is allowed for the metric's type.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_LOOSE = ConfigDict(extra="ignore", populate_by_name=True)


class CriterionIn(BaseModel):
    model_config = _LOOSE

    type: str | None = None
    column: str | None = None
    condition: str | None = None
    values: list[str | int | float | bool] | None = None
    null_vacuous_override: bool | None = Field(None, alias="nullVacuousOverride")


class MetricEventIn(BaseModel):
    model_config = _LOOSE

    name: str | None = None
    type: str | None = None
    metadata_key: str | None = Field(None, alias="metadataKey")
    criteria: list[CriterionIn] | None = None


class MetricRefIn(BaseModel):
    model_config = _LOOSE

    name: str | None = None
    type: str | None = None


class OwnerIn(BaseModel):
    model_config = _LOOSE

    email: str | None = None
    owner_id: str | None = Field(None, alias="ownerID")


class MetricDefinitionFields(BaseModel):
    """What defines how a metric is computed; creation and update share it."""

    model_config = _LOOSE

    unit_types: list[str] | None = Field(None, alias="unitTypes")
    metric_events: list[MetricEventIn] | None = Field(None, alias="metricEvents")
    metric_component_metrics: list[MetricRefIn] | None = Field(None, alias="metricComponentMetrics")
    rollup_time_window: str | None = Field(None, alias="rollupTimeWindow")
    custom_roll_up_start: float | None = Field(None, alias="customRollUpStart")
    custom_roll_up_end: float | None = Field(None, alias="customRollUpEnd")
    funnel_event_list: list[MetricRefIn] | None = Field(None, alias="funnelEventList")
    funnel_count_distinct: str | None = Field(None, alias="funnelCountDistinct")
    warehouse_native: dict[str, Any] | None = Field(None, alias="warehouseNative")
    description: str | None = None
    directionality: str | None = None
    is_permanent: bool | None = Field(None, alias="isPermanent")
    is_read_only: bool | None = Field(None, alias="isReadOnly")
    is_verified: bool | None = Field(None, alias="isVerified")
    team: str | None = None
    team_id: str | None = Field(None, alias="teamID")
    dry_run: bool = Field(False, alias="dryRun")


class MetricCreate(MetricDefinitionFields):
    name: str | None = None
    type: str | None = None
    tags: list[str] | str | None = None


class MetricUpdate(MetricDefinitionFields):
    """``MetricsUpdateContractDto``, plus the definition fields (a changed definition is
    re-validated as a whole). ``type`` may be sent back unchanged, never changed."""

    name: str | None = None
    type: str | None = None
    tags: list[str] | None = None
    owner: OwnerIn | None = None
