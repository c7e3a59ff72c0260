"""Wire shapes of the Param Store resource (request bodies; responses are stored documents).

Parameters arrive as plain objects and are checked one by one in ``parameters.py``, so that each
problem is reported with the index and field at fault.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ParamStoreCreate(_Body):
    """``ParamStoreCreateDto``: ``name``, ``description`` and ``displayName`` are required."""

    name: str
    description: str = Field(max_length=1000)
    display_name: str = Field(alias="displayName", max_length=200)
    target_app_ids: list[str] | None = Field(None, alias="targetAppIDs")
    tags: list[str] | None = None
    team: str | None = None


class ParamStoreUpdate(_Body):
    """``ParamStoreUpdateDto``; ``parameters`` replaces the whole list. ``targetAppIDs`` and
    ``tags`` are accepted here too, which Statsig's update body lacks."""

    description: str | None = Field(None, max_length=1000)
    parameters: list[Any] | None = None
    target_app_ids: list[str] | None = Field(None, alias="targetAppIDs")
    tags: list[str] | None = None
