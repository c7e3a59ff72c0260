"""Daily metric values (``GET /metrics``, ``GET /metrics/values``) against a hand count."""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.domains.projects.service import Bootstrap
from tests.contract.client import ContractClient
from tests.metrics.support import DAY0_MS, DAY_MS, event, log_events

BASE = "/console/v1/metrics"
DAY0 = "2026-05-28"

METRICS = [
    {
        "name": "Revenue",
        "type": "sum",
        "metricEvents": [{"name": "purchase", "type": "value"}],
        "unitTypes": ["userID", "stableID"],
    },
    {
        "name": "US purchases",
        "type": "event_count_custom",
        "metricEvents": [
            {
                "name": "purchase",
                "criteria": [
                    {"type": "metadata", "column": "country", "condition": "in", "values": ["US"]}
                ],
            }
        ],
    },
    {
        "name": "Basket",
        "type": "mean",
        "metricEvents": [{"name": "purchase", "type": "metadata", "metadataKey": "items"}],
    },
    {
        "name": "Conversion",
        "type": "ratio",
        "metricEvents": [
            {"name": "purchase", "type": "count_distinct"},
            {"name": "visit", "type": "count_distinct"},
        ],
    },
    {"name": "Buyers", "type": "event_user", "metricEvents": [{"name": "purchase"}]},
]


@pytest.fixture()
def logged(console: ContractClient, project: Bootstrap) -> None:
    t = DAY0_MS + 1000
    log_events(
        console,
        project,
        [
            event("visit", "u1", t + 1),
            event("purchase", "u1", t + 2, 10, {"items": "2", "country": "US"}),
            event("purchase", "u1", t + 3, 5, {"items": 3, "country": "CA"}),
            event("visit", "u2", t + 4),
            event("visit", "u2", t + 5),
            event("purchase", "u3", t + 6, "100", {"items": "abc", "country": "US"}),
            event("purchase", None, t + 7, 7, stable_id="s9"),
            event("purchase", "u1", t + DAY_MS, 1, {"items": "9"}),
        ],
    )
    for body in METRICS:
        assert console.post(BASE, json=body).status_code == 201
    funnel = {
        "name": "Visit to purchase",
        "type": "funnel",
        "funnelEventList": [
            {"name": "visit", "type": "event_count"},
            {"name": "purchase", "type": "event_count"},
        ],
    }
    assert console.post(BASE, json=funnel).status_code == 201


def _rows(console: ContractClient, metric_id: str, day: str = DAY0) -> list[dict[str, Any]]:
    response = console.get(BASE, params={"id": metric_id, "date": day})
    assert response.status_code == 200, response.text
    return [
        {k: v for k, v in row.items() if k not in ("metric_name", "metric_type")}
        for row in response.json()["data"]
    ]


@pytest.mark.usefixtures("logged")
@pytest.mark.parametrize(
    ("metric_id", "expected"),
    [
        (
            "Revenue::sum",
            [
                {"value": 122, "unit_type": "overall"},
                {"value": 115, "unit_type": "userID", "row_count": 2},
                {"value": 7, "unit_type": "stableID", "row_count": 1},
            ],
        ),
        (
            "US purchases::event_count_custom",
            [
                {"value": 2, "unit_type": "overall"},
                {"value": 2, "unit_type": "userID", "row_count": 2},
            ],
        ),
        (
            # 'abc' is no number: u1's two purchases count, u3's does not.
            "Basket::mean",
            [
                {"value": 2.5, "unit_type": "overall", "numerator": 5, "denominator": 2},
                {
                    "value": 2.5,
                    "unit_type": "userID",
                    "row_count": 1,
                    "numerator": 5,
                    "denominator": 2,
                },
            ],
        ),
        (
            # u1 visited and bought, u2 only visited; u3 bought without a visit (no denominator).
            "Conversion::ratio",
            [
                {
                    "value": 0.5,
                    "unit_type": "userID",
                    "row_count": 2,
                    "numerator": 1,
                    "denominator": 2,
                }
            ],
        ),
        ("Buyers::event_user", [{"value": 2, "unit_type": "userID", "row_count": 2}]),
        (
            "Visit to purchase::funnel",
            [
                {
                    "value": 0.5,
                    "unit_type": "userID",
                    "row_count": 2,
                    "numerator": 1,
                    "denominator": 2,
                }
            ],
        ),
    ],
)
def test_read_metric_values__day__matches_hand_count(
    console: ContractClient, metric_id: str, expected: list[dict[str, Any]]
) -> None:
    assert _rows(console, metric_id) == expected


@pytest.mark.usefixtures("logged")
def test_read_metric_values__next_day__only_that_days_events(console: ContractClient) -> None:
    assert _rows(console, "Revenue::sum", "2026-05-29") == [
        {"value": 1, "unit_type": "overall"},
        {"value": 1, "unit_type": "userID", "row_count": 1},
        {"value": 0, "unit_type": "stableID", "row_count": 0},
    ]


@pytest.mark.usefixtures("logged")
def test_list_metric_values__filters_and_pages__automatic_metrics_included(
    console: ContractClient,
) -> None:
    response = console.get(f"{BASE}/values", params={"date": DAY0, "metricName": "purchase"})
    assert response.status_code == 200
    assert response.json()["data"] == [
        {"value": 4, "unitType": "overall", "metricName": "purchase", "metricType": "event_count"},
        {
            "value": 3,
            "unitType": "userID",
            "inputRows": 2,
            "metricName": "purchase",
            "metricType": "event_count",
        },
        {
            "value": 1,
            "unitType": "stableID",
            "inputRows": 1,
            "metricName": "purchase",
            "metricType": "event_count",
        },
        {
            "value": 2,
            "unitType": "userID",
            "inputRows": 2,
            "metricName": "purchase",
            "metricType": "event_user",
        },
        {
            "value": 1,
            "unitType": "stableID",
            "inputRows": 1,
            "metricName": "purchase",
            "metricType": "event_user",
        },
    ]
    page = console.get(
        f"{BASE}/values", params={"date": DAY0, "metricType": "sum", "limit": 1, "page": 3}
    ).json()
    assert page["data"][0]["unitType"] == "stableID"
    assert page["pagination"]["totalItems"] == 3 and page["pagination"]["nextPage"] is None


def test_metric_values__bad_input__400_or_404(console: ContractClient) -> None:
    bad_date = console.get(f"{BASE}/values", params={"date": "28/05/2026"})
    assert bad_date.json()["message"] == (
        "Invalid request. date: must be a date as YYYY-MM-DD, got '28/05/2026'"
    )
    missing = console.get(BASE, params={"date": DAY0})
    assert missing.json()["message"] == "Invalid request. id: is required"
    unknown = console.get(BASE, params={"id": "nope::sum", "date": DAY0})
    assert unknown.status_code == 404
