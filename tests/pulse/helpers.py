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


def event_row(pid: str, unit: str, ts: int, **fields: Any) -> dict[str, Any]:
    """A row of the exposures or events table, received when it happened."""
    return {"project_id": pid, "user_id": unit, "time": ts, "received_time": ts, **fields}


Sums = dict[str, dict[str, float]]


def add_purchases(revenue: Sums, basket: Sums, group: str, bought: list[float]) -> None:
    """One unit's purchases of a day into its group's sums of a sum metric (every unit counts,
    0 when it bought nothing) and of a mean metric (a ratio: only units with a purchase)."""
    x = sum(bought)
    total = revenue.setdefault(group, {"n": 0.0, "sx": 0.0, "sxx": 0.0})
    total["n"] += 1
    total["sx"] += x
    total["sxx"] += x * x
    if bought:  # participating: a non-zero denominator that day
        y = float(len(bought))
        ratio = basket.setdefault(
            group, {"n": 0.0, "sx": 0.0, "sxx": 0.0, "sy": 0.0, "syy": 0.0, "sxy": 0.0}
        )
        for key, value in (
            ("n", 1.0), ("sx", x), ("sxx", x * x), ("sy", y), ("syy", y * y), ("sxy", x * y)
        ):  # fmt: skip
            ratio[key] += value
