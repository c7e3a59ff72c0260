"""``load_pulse`` with ``refresh=metric``: the metrics it names (``metricIDs``, in the body or
the query) must be the entity's; a bad request is a 400 that queues nothing. The restating
itself runs in the warehouse: ``tests/warehouse/test_pipeline_end_to_end.py``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.client import ContractClient
from tests.gates.support import GATES, create_gate, rule
from tests.pulse.helpers import start_experiment

LOAD = "/console/v1/experiments/exp/load_pulse"
HISTORY = "/console/v1/experiments/exp/pulse_load_history"


@pytest.fixture
def metrics(console: ContractClient) -> None:
    for name, kind in (("Revenue", "sum"), ("Basket", "mean")):
        body = {"name": name, "type": kind, "metricEvents": [{"name": "purchase", "type": "value"}]}
        assert console.post("/console/v1/metrics", json=body).status_code == 201


@pytest.mark.parametrize(
    ("params", "body", "message"),
    [
        ({"refresh": "metric"}, {}, 'metricIDs: is required with refresh "metric"'),
        ({}, {"refresh": "metric", "metricIDs": []}, 'metricIDs: is required with refresh "m'),
        (
            {},
            {"refresh": "metric", "metricIDs": ["Ghost::sum"]},
            "metricIDs: no metric with id 'Ghost::sum'",
        ),
        (
            {"refresh": "metric", "metricIDs": "Ghost::sum"},
            {},
            "metricIDs: no metric with id 'Ghost::sum'",
        ),
        (
            {},
            {"refresh": "metric", "metricIDs": ["Revenue::sum", "Basket::mean"]},
            "metricIDs: 'Basket::mean' not among the metrics of this load ('Revenue::sum')",
        ),
        ({}, {"metricIDs": ["Revenue::sum"]}, 'metricIDs: applies to refresh "metric" only'),
    ],
)
def test_load_pulse__bad_metric_refresh__400_and_nothing_queued(
    console: ContractClient,
    metrics: None,
    params: dict[str, str],
    body: dict[str, Any],
    message: str,
) -> None:
    start_experiment(console)
    response = console.post(LOAD, params=params, json=body)
    assert response.status_code == 400
    assert response.json()["status"] == 400
    assert response.json()["message"].startswith(f"Invalid request. {message}")
    assert console.get(HISTORY).json()["data"] == []


@pytest.mark.parametrize(
    ("params", "body"),
    [
        ({}, {"refresh": "metric", "metricIDs": ["Revenue::sum", "Revenue::sum"]}),
        ({"refresh": "metric", "metricIDs": "Revenue::sum"}, {}),
    ],
)
def test_load_pulse__metric_refresh__queued_as_a_metric_load(
    console: ContractClient, metrics: None, params: dict[str, str], body: dict[str, Any]
) -> None:
    start_experiment(console)
    assert console.post(LOAD, params=params, json=body).status_code == 200
    history = console.get(HISTORY).json()["data"]
    assert [(entry["reloadType"], entry["metricIDs"]) for entry in history] == [
        ("metric", ["Revenue::sum"])
    ]


def test_gate_load_pulse__metric_not_monitored__400(console: ContractClient, metrics: None) -> None:
    rule_id = create_gate(console, "A Gate", rules=[rule("r")])["rules"][0]["id"]
    response = console.post(
        f"{GATES}/a_gate/load_pulse",
        json={"ruleId": rule_id, "refresh": "metric", "metricIDs": ["Revenue::sum"]},
    )
    assert response.status_code == 400
    assert response.json()["message"] == (
        "Invalid request. metricIDs: 'Revenue::sum' not among the metrics of this load (none)"
    )
    history = console.get(f"{GATES}/a_gate/rules/{rule_id}/pulse_load_history").json()["data"]
    assert history == []
