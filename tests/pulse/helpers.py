"""What several Pulse tests set up through the Console API."""

from __future__ import annotations

from typing import Any

from tests.contract.client import ContractClient

REVENUE = {
    "name": "Revenue",
    "type": "sum",
    "metricEvents": [{"name": "purchase", "type": "value"}],
}


def start_experiment(console: ContractClient, name: str = "exp", **fields: Any) -> dict[str, str]:
    """Create and start a 50/50 experiment with Revenue::sum as its primary metric; returns
    its group ids by group name."""
    created = console.post(
        "/console/v1/experiments",
        json={
            "name": name,
            "groups": [
                {"name": "Control", "size": 50, "parameterValues": {}},
                {"name": "Test", "size": 50, "parameterValues": {}},
            ],
            "primaryMetrics": [{"name": "Revenue", "type": "sum"}],
            **fields,
        },
    )
    assert created.status_code == 201, created.text
    assert console.put(f"/console/v1/experiments/{name}/start", json={}).status_code == 200
    return {g["name"]: g["id"] for g in created.json()["data"]["groups"]}
