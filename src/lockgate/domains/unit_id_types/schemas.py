"""Wire shapes of the Unit ID Types resource."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class UnitIdTypeCreate(BaseModel):
    """``UnitIdTypeContractDto``."""

    model_config = ConfigDict(extra="ignore")

    name: str
    description: str | None = Field(None, max_length=1000)


class UnitIdTypeUpdate(BaseModel):
    """``UnitIdTypeUpdateContractDto``: only the description changes; the name is the id."""

    model_config = ConfigDict(extra="ignore")

    description: str = Field(max_length=1000)
