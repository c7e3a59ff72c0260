"""Wire shapes of the Layers resource (``Layer*ContractDto``, ``LayerOverrides*Dto``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ParameterType = Literal["string", "number", "boolean", "object", "array"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ParameterIn(_Body):
    name: str
    type: ParameterType
    default_value: Any = Field(alias="defaultValue")


class LayerCreate(_Body):
    """``LayerCreateContractDto``: ``name`` and ``idType`` are required."""

    name: str | None = None
    description: str | None = Field(None, max_length=1000)
    id_type: str | None = Field(None, alias="idType", max_length=100)
    target_apps: str | list[str] | None = Field(None, alias="targetApps")
    team: str | None = None
    # Not in the 2024 DTO, but every layer shows parameters; accepting them saves a round trip.
    parameters: list[ParameterIn] | None = None


class LayerPartialUpdate(_Body):
    description: str | None = Field(None, max_length=1000)
    parameters: list[ParameterIn] | None = None
    target_apps: str | list[str] | None = Field(None, alias="targetApps")


class LayerFullUpdate(LayerPartialUpdate):
    description: str = Field(max_length=1000)
    parameters: list[ParameterIn]


class ConditionalOverrideIn(_Body):
    type: str
    name: str
    experiment_name: str = Field(alias="experimentName")
    group_name: str = Field(alias="groupName")


class IdOverrideIn(_Body):
    group_name: str = Field(alias="groupName")
    ids: list[str]
    id_type: str | None = Field(None, alias="idType")
    environment: str | None = None
    experiment_name: str | None = Field(None, alias="experimentName")


class LayerOverridesIn(_Body):
    conditional_overrides: list[ConditionalOverrideIn] = Field(
        default_factory=list, alias="conditionalOverrides"
    )
    id_overrides: list[IdOverrideIn] = Field(default_factory=list, alias="idOverrides")


class LayerOverridesPatchIn(LayerOverridesIn):
    op: Literal["add"]
