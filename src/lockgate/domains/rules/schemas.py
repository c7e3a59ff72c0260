"""Wire shapes of rules and conditions (``RuleDto``, ``DCRule``, ``RuleUpdateDto``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

TargetValue = str | int | float | bool | list[Any] | dict[str, Any] | None


class ConditionIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    operator: str | None = None
    target_value: TargetValue = Field(None, alias="targetValue")
    field: str | None = None
    custom_id: str | None = Field(None, alias="customID")


class VariantIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    name: str
    pass_percentage: float = Field(alias="passPercentage")
    return_value: dict[str, Any] | None = Field(None, alias="returnValue")
    return_value_json5: str | None = Field(None, alias="returnValueJson5")


class RuleIn(BaseModel):
    """A rule as written. Required-ness is checked by the validator, so that the message can
    name the rule; every field is optional here."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str | None = None
    base_id: str | None = Field(None, alias="baseID")
    name: str | None = None
    pass_percentage: float | None = Field(None, alias="passPercentage")
    conditions: list[ConditionIn] | None = None
    environments: list[str] | None = None
    return_value: Any = Field(None, alias="returnValue")
    return_value_json5: str | None = Field(None, alias="returnValueJson5")
    variants: list[VariantIn] | None = None
