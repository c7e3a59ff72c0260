"""Gate Pulse endpoints (loads queue a job; results before any load are empty) and metric
rollout alerts. ``tests/pulse/test_pulse_monitoring_end_to_end.py`` covers computed results."""

from __future__ import annotations

import pytest

from lockgate.domains.gates import pulse
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.actor import Actor, Change
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from tests.contract.client import ContractClient
from tests.gates.support import GATES, create_gate, error, rule


def _rule_id(console: ContractClient) -> str:
    return create_gate(console, "A Gate", rules=[rule("r")])["rules"][0]["id"]  # type: ignore[no-any-return]


def test_load_pulse__known_rule__200_message_only_and_load_queued(
    console: ContractClient, clock: ManualClock
) -> None:
    rule_id = _rule_id(console)
    response = console.post(f"{GATES}/a_gate/load_pulse", json={"ruleId": rule_id})
    assert response.json() == {"message": "Gate loaded successfully."}
    history = console.get(f"{GATES}/a_gate/rules/{rule_id}/pulse_load_history").json()["data"]
    assert history == [
        {
            "creatorName": history[0]["creatorName"],
            "createdTime": clock.now_ms(),
            "startDs": "2026-05-28",
            "endDs": "2026-05-28",
            "reloadType": "full",
            "turboMode": False,
            "dagID": history[0]["dagID"],  # the 2026 API's handle of the load
            "status": "queued",
            "progress": 0,
        }
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Invalid request. ruleId: is required"),
        ({"ruleId": "ghost"}, "Invalid request. ruleId: gate 'a_gate' has no rule with id 'ghost'"),
        ({"ruleId": "x", "refresh": "daily"}, "Invalid request. refresh:"),
    ],
)
def test_load_pulse__bad_body__400(
    console: ContractClient, body: dict[str, str], message: str
) -> None:
    _rule_id(console)
    assert error(console.post(f"{GATES}/a_gate/load_pulse", json=body)).startswith(message)


def test_pulse_results__no_data_yet__empty_metrics_for_today(console: ContractClient) -> None:
    rule_id = _rule_id(console)
    response = console.get(
        f"{GATES}/a_gate/rules/{rule_id}/pulse_results",
        params={"cuped": "true", "confidence": "95"},
    )
    assert response.status_code == 200
    # The fixture clock starts at 1_780_000_000_000 ms: 2026-05-28 UTC.
    assert response.json() == {
        "message": "Successfully loaded Pulse Results",
        "data": {"ds": "2026-05-28", "monitoringMetrics": []},
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"cuped": "yes"}, 'Invalid request. cuped: must be "true" or "false"'),
        ({"confidence": "abc"}, "Invalid request. confidence: must be a number"),
        ({"confidence": "100"}, "Invalid request. confidence: must be between 0 and 100"),
    ],
)
def test_pulse_results__bad_query__400(
    console: ContractClient, params: dict[str, str], message: str
) -> None:
    rule_id = _rule_id(console)
    got = error(console.get(f"{GATES}/a_gate/rules/{rule_id}/pulse_results", params=params))
    assert got.startswith(message)


def test_pulse_results_and_history__unknown_rule__404(console: ContractClient) -> None:
    _rule_id(console)
    for tail in ("pulse_results", "pulse_load_history"):
        response = console.get(f"{GATES}/a_gate/rules/ghost/{tail}")
        assert error(response, 404) == "Rule 'ghost' not found in gate 'a_gate'."


def test_pulse_load_history__no_loads_yet__empty_list(console: ContractClient) -> None:
    rule_id = _rule_id(console)
    body = console.get(f"{GATES}/a_gate/rules/{rule_id}/pulse_load_history").json()
    assert body["data"] == [] and body["pagination"]["totalItems"] == 0


def test_resolve_alert__no_alert__404_saying_so(console: ContractClient) -> None:
    _rule_id(console)
    response = console.post(f"{GATES}/a_gate/alerts/purchase::event_count/resolve", json={})
    assert error(response, 404) == (
        "No metric rollout alert for metric 'purchase::event_count' on gate 'a_gate': "
        "this gate has no open alert for that metric."
    )


def test_resolve_alert__open_alert__resolved_once_and_versioned(
    console: ContractClient, db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    _rule_id(console)
    with db.transaction() as session:
        change = Change(project.project.id, Actor(id="monitor", name="monitor"), clock.now_ms())
        pulse.open_alert(session, change, "a_gate", "purchase::event_count")
    clock.advance(5_000)
    url = f"{GATES}/a_gate/alerts/purchase::event_count/resolve"
    response = console.post(url, json={"reasoning": "expected dip"})
    assert response.status_code == 200
    assert response.json() == {
        "message": "Metric rollout alert resolved successfully.",
        "data": {"resolvedAt": clock.now_ms()},
    }
    clock.advance(5_000)
    again = console.post(url, json={}).json()["data"]
    assert again["resolvedAt"] == clock.now_ms() - 5_000
    gate = console.get(f"{GATES}/a_gate").json()["data"]
    assert gate["version"] == 3 and "alerts" not in gate
