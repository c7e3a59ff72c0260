"""Wire shapes of the Target App resource."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TargetAppCreate(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(max_length=1000)
    gates: list[str] | None = None
    dynamic_configs: list[str] | None = Field(None, alias="dynamicConfigs")
    experiments: list[str] | None = None


class TargetAppBulkAssign(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    target_apps: list[str] = Field(alias="targetApps", min_length=1)
    gates: list[str] | None = None
    dynamic_configs: list[str] | None = Field(None, alias="dynamicConfigs")
    experiments: list[str] | None = None


class TargetAppUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=1000)
