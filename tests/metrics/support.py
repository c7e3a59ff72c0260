"""Helpers shared by the metrics and events Console tests: logging events through the SDK
endpoint, and a client that skips the response contract where the official schema is wrong."""

from __future__ import annotations

from typing import Any

from lockgate.domains.projects.service import Bootstrap
from tests.contract.client import ContractClient

DAY_MS = 86_400_000
# 2026-05-28T00:00:00Z, the UTC day the ``clock`` fixture starts in (1_780_000_000_000 ms).
DAY0_MS = 1_779_926_400_000


def log_events(client: ContractClient, project: Bootstrap, events: list[dict[str, Any]]) -> None:
    response = client.post(
        "/v1/log_event",
        json={"events": events, "statsigMetadata": {"sdkType": "py-server"}},
        headers={"STATSIG-API-KEY": project.server_key},
    )
    assert response.status_code == 202, response.text
    assert "rejected" not in response.json()


def event(
    name: str,
    user_id: str | None,
    time_ms: int,
    value: Any = None,
    metadata: dict[str, Any] | None = None,
    stable_id: str | None = None,
) -> dict[str, Any]:
    user: dict[str, Any] = {}
    if user_id is not None:
        user["userID"] = user_id
    if stable_id is not None:
        user["customIDs"] = {"stableID": stable_id}
    found: dict[str, Any] = {"eventName": name, "user": user, "time": time_ms}
    if value is not None:
        found["value"] = value
    if metadata is not None:
        found["metadata"] = metadata
    return found
