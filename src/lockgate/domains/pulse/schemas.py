"""Wire shapes of Pulse requests."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LoadPulseIn(BaseModel):
    """``EchidnaLoadPulseQueryDto``: every field optional for experiments."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    refresh: Literal["full", "incremental", "metric"] | None = None
    metric_ids: list[str] | None = Field(None, alias="metricIDs")
    rule_id: str | None = Field(None, alias="ruleId")
    turbo_mode: bool | None = Field(None, alias="turboMode")
