"""Wire shapes of the Holdouts resource (request bodies; responses are stored documents)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class MonitoringMetric(_Body):
    name: str
    type: str


class HoldoutCreate(_Body):
    """``HoldoutCreateContractDto``."""

    name: str
    description: str | None = Field(None, max_length=1000)
    id_type: str | None = Field(None, alias="idType", min_length=1)
    team_id: str | None = Field(None, alias="teamID")


class HoldoutFields(_Body):
    """``HoldoutPartialUpdateContractDto``: every field optional."""

    is_enabled: bool | None = Field(None, alias="isEnabled")
    description: str | None = Field(None, max_length=1000)
    pass_percentage: float | None = Field(None, alias="passPercentage", ge=0, le=10)
    gate_ids: list[str] | None = Field(None, alias="gateIDs")
    experiment_ids: list[str] | None = Field(None, alias="experimentIDs")
    layer_ids: list[str] | None = Field(None, alias="layerIDs")
    is_global: bool | None = Field(None, alias="isGlobal")
    targeting_gate_id: str | None = Field(None, alias="targetingGateID")
    monitoring_metrics: list[MonitoringMetric] | None = Field(None, alias="monitoringMetrics")


class HoldoutFullUpdate(HoldoutFields):
    """``HoldoutFullUpdateContractDto``: all but ``monitoringMetrics`` are required
    (``targetingGateID`` may be null, but must be sent)."""

    is_enabled: bool = Field(alias="isEnabled")
    description: str = Field(max_length=1000)
    pass_percentage: float = Field(alias="passPercentage", ge=0, le=10)
    gate_ids: list[str] = Field(alias="gateIDs")
    experiment_ids: list[str] = Field(alias="experimentIDs")
    layer_ids: list[str] = Field(alias="layerIDs")
    is_global: bool = Field(alias="isGlobal")
    targeting_gate_id: str | None = Field(alias="targetingGateID")


class HoldoutPartialUpdate(HoldoutFields):
    pass
