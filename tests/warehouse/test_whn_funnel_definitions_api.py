"""Warehouse-native funnel and retention metrics through the Console API: stored normalized
(each step's source and criteria checked against the stored sources), every bad field refused
naming it and changing nothing, and a source a funnel step reads cannot be deleted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.client import ContractClient
from tests.contract.validator import validate_request
from tests.warehouse.test_whn_definitions_api import (
    MAPPING,
    METRICS,
    PURCHASE,
    metric_ids,
    refused,
    sources,
)

__all__ = ["sources"]  # the fixture, used by name

VIEW = [{"type": "metadata", "column": "event", "condition": "in", "values": ["view"]}]


def funnel(**definition: Any) -> dict[str, Any]:
    return {
        "name": "Checkout",
        "type": "user_warehouse",
        "warehouseNative": {
            "aggregation": "funnel",
            "funnelEvents": [
                {"name": "view", "metricSourceName": "purchases", "criteria": VIEW},
                {"metricSourceName": "purchases", "criteria": PURCHASE},
            ],
            **definition,
        },
    }


def retention(**definition: Any) -> dict[str, Any]:
    return {
        "name": "Returning",
        "type": "user_warehouse",
        "warehouseNative": {
            "aggregation": "retention",
            "metricSourceName": "purchases",
            "criteria": PURCHASE,
            "retentionEnd": 14,
            "retentionLength": 7,
            **definition,
        },
    }


def test_create_metric__funnel__stored_normalized_with_defaults(
    console: ContractClient, sources: None
) -> None:
    created = console.post(
        METRICS,
        json=funnel(
            funnelCalculationWindow=3, funnelStrictOrdering=True, funnelTimestampAllowanceMs=500
        ),
    )
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert data["unitTypes"] == ["userID"]
    assert data["warehouseNative"] == {
        "aggregation": "funnel",
        "metricSourceName": "purchases",
        "funnelEvents": [
            {"metricSourceName": "purchases", "name": "view", "criteria": VIEW},
            {"metricSourceName": "purchases", "criteria": PURCHASE},
        ],
        "funnelCountDistinct": "users",
        "funnelStartCriteria": "start_event",
        "funnelStrictOrdering": True,
        "funnelUseExposureAsFirstEvent": False,
        "funnelTimeToConvert": False,
        "funnelCalculationWindow": 3,
        "funnelTimestampAllowanceMs": 500,
    }


def test_create_metric__session_funnel__stored_with_each_steps_session_column(
    console: ContractClient, sources: None
) -> None:
    steps = [
        {"metricSourceName": "purchases", "criteria": VIEW, "sessionIdentifierField": "EVENT"},
        {"metricSourceName": "purchases", "sessionIdentifierField": "user_id"},
    ]
    created = console.post(METRICS, json=funnel(funnelCountDistinct="sessions", funnelEvents=steps))
    assert created.status_code == 201, created.text
    stored = created.json()["data"]["warehouseNative"]
    assert stored["funnelCountDistinct"] == "sessions"
    assert stored["funnelEvents"] == [
        {"metricSourceName": "purchases", "criteria": VIEW, "sessionIdentifierField": "event"},
        {"metricSourceName": "purchases", "criteria": [], "sessionIdentifierField": "user_id"},
    ]


def test_create_metric__retention__stored_with_its_start_event(
    console: ContractClient, sources: None
) -> None:
    created = console.post(
        METRICS,
        json=retention(useSecondaryRetentionEvent=True, denominatorCriteria=VIEW),
    )
    assert created.status_code == 201, created.text
    assert created.json()["data"]["warehouseNative"] == {
        "aggregation": "retention",
        "metricSourceName": "purchases",
        "criteria": PURCHASE,
        "retentionEnd": 14,
        "retentionLength": 7,
        "useSecondaryRetentionEvent": True,
        "denominatorMetricSourceName": "purchases",
        "denominatorCriteria": VIEW,
    }


def test_funnel_and_retention_bodies__official_request_schema__valid_and_invalid_caught() -> None:
    """The bodies these tests send are what a Statsig client may send (the responses are
    checked by the contract client), and the check catches a body the schema refuses."""
    sent = [
        funnel(funnelCalculationWindow=3, funnelStrictOrdering=True),
        funnel(funnelUseExposureAsFirstEvent=True, funnelStartCriteria="exposure"),
        retention(useSecondaryRetentionEvent=True, denominatorCriteria=VIEW),
    ]
    for body in sent:
        validate_request("POST", METRICS, body)
        validate_request("POST", f"{METRICS}/Checkout::user_warehouse", body)
    with pytest.raises(AssertionError, match="funnelCountDistinct"):
        validate_request("POST", METRICS, funnel(funnelCountDistinct="units"))


def step(**fields: Any) -> dict[str, Any]:
    return {"metricSourceName": "purchases", "criteria": VIEW, **fields}


BAD: list[tuple[dict[str, Any], str]] = [
    (funnel(funnelEvents=None), "warehouseNative.funnelEvents: must list at least 2 steps"),
    (funnel(funnelEvents=[step()]), "warehouseNative.funnelEvents: must list at least 2 steps"),
    (
        funnel(funnelUseExposureAsFirstEvent=True, funnelEvents=[]),
        "warehouseNative.funnelEvents: must list at least 1 steps (the exposure is the first)",
    ),
    (
        funnel(funnelEvents=[step(), step(metricSourceName="nope")]),
        "warehouseNative.funnelEvents[1].metricSourceName: metric source 'nope' does not exist",
    ),
    (
        funnel(funnelEvents=[step(), {"criteria": VIEW}]),
        "warehouseNative.funnelEvents[1].metricSourceName: is required",
    ),
    (
        funnel(funnelEvents=[step(), step(criteria=[{"column": "kind", "condition": "in"}])]),
        "warehouseNative.funnelEvents[1].criteria[0].column: column 'kind' is not among",
    ),
    (funnel(funnelEvents=[step(), "purchase"]), "warehouseNative.funnelEvents[1]: must be an"),
    (
        funnel(funnelEvents=[step(), step(valueColumn="amount")]),
        "warehouseNative.funnelEvents[1].valueColumn: is not read",
    ),
    (
        funnel(funnelCountDistinct="sessions"),
        "warehouseNative.funnelEvents[0].sessionIdentifierField: is required in a session funnel",
    ),
    (
        funnel(
            funnelCountDistinct="sessions",
            funnelEvents=[step(sessionIdentifierField="event"), step(sessionIdentifierField="sid")],
        ),
        "warehouseNative.funnelEvents[1].sessionIdentifierField: column 'sid' is not among",
    ),
    (
        funnel(
            funnelCountDistinct="sessions",
            funnelUseExposureAsFirstEvent=True,
            funnelEvents=[step(sessionIdentifierField="event")],
        ),
        "warehouseNative.funnelUseExposureAsFirstEvent: does not apply to session funnels",
    ),
    (
        funnel(funnelCountDistinct="events"),
        "warehouseNative.funnelCountDistinct: must be one of 'users', 'sessions'",
    ),
    (
        funnel(funnelEvents=[step(), step(sessionIdentifierField="event")]),
        "warehouseNative.funnelEvents[1].sessionIdentifierField: applies to session funnels only",
    ),
    (
        funnel(funnelTimestampAllowanceMs=-1),
        "warehouseNative.funnelTimestampAllowanceMs: must be a whole number of milliseconds",
    ),
    (
        funnel(funnelTimestampAllowanceMs=1.5),
        "warehouseNative.funnelTimestampAllowanceMs: must be a whole number of milliseconds",
    ),
    (funnel(funnelTimeToConvert="yes"), "warehouseNative.funnelTimeToConvert: must be a boolean"),
    (funnel(funnelStartCriteria="first"), "warehouseNative.funnelStartCriteria: must be one of"),
    (
        funnel(funnelCalculationWindow=0),
        "warehouseNative.funnelCalculationWindow: must be a whole number of days from 1",
    ),
    (
        funnel(funnelCalculationWindow=1.5),
        "warehouseNative.funnelCalculationWindow: must be a whole number of days from 1",
    ),
    (funnel(funnelStrictOrdering="yes"), "warehouseNative.funnelStrictOrdering: must be a boolean"),
    (
        funnel(funnelUseExposureAsFirstEvent=1),
        "warehouseNative.funnelUseExposureAsFirstEvent: must be a boolean",
    ),
    (funnel(valueColumn="amount"), "warehouseNative.valueColumn: does not apply to 'funnel'"),
    (funnel(criteria=PURCHASE), "warehouseNative.criteria: does not apply to 'funnel'"),
    (funnel(retentionEnd=14), "warehouseNative.retentionEnd: applies to 'retention' metrics only"),
    (
        retention(funnelStrictOrdering=True),
        "warehouseNative.funnelStrictOrdering: applies to 'funnel' metrics only",
    ),
    (retention(retentionEnd=None), "warehouseNative.retentionEnd: is required: a whole number"),
    (retention(retentionLength=0), "warehouseNative.retentionLength: is required: a whole number"),
    (
        retention(retentionLength=15),
        "warehouseNative.retentionLength: must be at most retentionEnd (14)",
    ),
    (
        retention(denominatorCriteria=VIEW),
        "warehouseNative.denominatorCriteria: applies to retention only with "
        "useSecondaryRetentionEvent",
    ),
    (
        retention(useSecondaryRetentionEvent=True, denominatorMetricSourceName="nope"),
        "warehouseNative.denominatorMetricSourceName: metric source 'nope' does not exist",
    ),
    (
        retention(useSecondaryRetentionEvent="1"),
        "warehouseNative.useSecondaryRetentionEvent: must be a boolean",
    ),
    (retention(cap=3), "warehouseNative.cap: does not apply to 'retention'"),
    (
        retention(winsorizationHigh=0.99),
        "warehouseNative.winsorizationHigh: does not apply to 'retention'",
    ),
    (
        {**retention(), "unitTypes": ["stableID"]},
        "unitTypes[0]: 'stableID' is not mapped by metric source 'purchases'",
    ),
]


@pytest.mark.parametrize(("body", "message"), BAD, ids=[m[:60] for _, m in BAD])
def test_create_metric__bad_funnel_or_retention__400_and_nothing_stored(
    console: ContractClient, sources: None, body: dict[str, Any], message: str
) -> None:
    refused(console.post(METRICS, json=body), message)
    assert metric_ids(console) == []


def test_update_metric__sum_to_funnel_with_a_bad_step__400_and_unchanged(
    console: ContractClient, sources: None
) -> None:
    created = console.post(METRICS, json={**funnel(), "name": "Revenue"})
    assert created.status_code == 201, created.text
    path = f"{METRICS}/Revenue::user_warehouse"
    before = console.get(path).json()["data"]
    bad = funnel(funnelEvents=[step(), step(criteria=[{"condition": "between"}])])
    refused(
        console.post(path, json={"warehouseNative": bad["warehouseNative"]}),
        "warehouseNative.funnelEvents[1].criteria[0].condition: must be one of",
    )
    assert console.get(path).json()["data"] == before
    good = retention()["warehouseNative"]
    changed = console.post(path, json={"warehouseNative": good})
    assert changed.status_code == 200, changed.text
    assert changed.json()["data"]["warehouseNative"]["aggregation"] == "retention"


def test_delete_metric_source__read_by_a_funnel_step__400_until_the_funnel_is_gone(
    console: ContractClient, sources: None
) -> None:
    created = console.post(
        f"{METRICS}/metric_source",
        json={
            "name": "visits",
            "sql": "SELECT * FROM events",
            "timestampColumn": "ts",
            "idTypeMapping": MAPPING,
        },
    )
    assert created.status_code == 201, created.text
    body = funnel(funnelEvents=[step(), step(metricSourceName="visits")])
    assert console.post(METRICS, json=body).status_code == 201
    listed = console.get(f"{METRICS}/metric_source/visits/metrics").json()["data"]
    assert [m["name"] for m in listed] == ["Checkout"]
    refused(console.delete(f"{METRICS}/metric_source/visits"), "Metric source 'visits' is used")
    assert console.delete(f"{METRICS}/Checkout::user_warehouse").status_code == 200
    assert console.delete(f"{METRICS}/metric_source/visits").status_code == 200
