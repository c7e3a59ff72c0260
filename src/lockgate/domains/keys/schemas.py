"""Wire shapes of the Keys resource."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

KeyType = Literal["SERVER", "CLIENT", "CONSOLE", "SCIM", "ORG"]
KeyScope = Literal[
    "omni_read_only",
    "omni_read_write",
    "client_download_config_specs",
    "none_hash_enabled",
    "can_access_keys",
    "client_can_write_user_store",
    "personal_read_only",
    "personal_read_write",
]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    description: str = Field(max_length=1000)
    type: KeyType
    scopes: list[KeyScope] | None = None
    environments: list[str] | None = None
    target_app_id: str | None = Field(None, alias="targetAppID")
    secondary_target_app_ids: list[str] | None = Field(None, alias="secondaryTargetAppIDs")


class KeyUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    description: str | None = Field(None, max_length=1000)
    scopes: list[KeyScope] | None = None
    environments: list[str] | None = None
    target_app_id: str | None = Field(None, alias="targetAppID")
    secondary_target_app_ids: list[str] | None = Field(None, alias="secondaryTargetAppIDs")
