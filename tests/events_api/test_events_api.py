"""The Events resource: logged event names with counts, recent events, metrics on an event."""

from __future__ import annotations

import pytest

from lockgate.domains.projects.service import Bootstrap
from tests.contract.client import ContractClient
from tests.metrics.support import DAY0_MS, event, log_events

BASE = "/console/v1/events"


@pytest.fixture()
def logged(console: ContractClient, project: Bootstrap) -> None:
    log_events(
        console,
        project,
        [
            event("add_to_cart", "u1", DAY0_MS + 1, "books"),
            event("add_to_cart", "u2", DAY0_MS + 2, 3),
            event("add_to_cart", "u1", DAY0_MS + 3, None, {"sku": "a"}),
            event("page_view", None, DAY0_MS + 4, stable_id="s1"),
        ],
    )


@pytest.mark.usefixtures("logged")
def test_list_events__logged_events__one_item_per_name_with_counts(
    console: ContractClient,
) -> None:
    response = console.get(BASE)
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Event values listed successfully."
    assert body["data"] == [
        {
            "timestamp": str(DAY0_MS + 4),
            "name": "page_view",
            "source": "py-server",
            "value": "",
            "userID": "",
            "metadata": {},
            "eventCount": 1,
            "userCount": 0,
            "firstSeenTime": DAY0_MS + 4,
        },
        {
            "timestamp": str(DAY0_MS + 3),
            "name": "add_to_cart",
            "source": "py-server",
            "value": "",
            "userID": "u1",
            "metadata": {"sku": "a"},
            "eventCount": 3,
            "userCount": 2,
            "firstSeenTime": DAY0_MS + 1,
        },
    ]
    assert body["pagination"]["totalItems"] == 2
    second = console.get(f"{BASE}?limit=1&page=2").json()
    assert [e["name"] for e in second["data"]] == ["add_to_cart"]


@pytest.mark.usefixtures("logged")
def test_read_events__event_name__newest_first_paginated(console: ContractClient) -> None:
    page = console.get(f"{BASE}/add_to_cart?limit=2").json()
    assert [(e["timestamp"], e["value"], e["userID"]) for e in page["data"]] == [
        (str(DAY0_MS + 3), "", "u1"),
        (str(DAY0_MS + 2), "3", "u2"),
    ]
    assert page["pagination"]["totalItems"] == 3
    assert page["pagination"]["nextPage"] == f"{BASE}/add_to_cart?page=2&limit=2"
    assert console.get(f"{BASE}/never_logged").json()["data"] == []
    assert console.get(f"{BASE}?limit=0").status_code == 400


@pytest.mark.usefixtures("logged")
def test_event_metrics__automatic_and_custom__listed(console: ContractClient) -> None:
    custom = {
        "name": "Carts",
        "type": "event_count_custom",
        "metricEvents": [{"name": "add_to_cart"}],
    }
    assert console.post("/console/v1/metrics", json=custom).status_code == 201
    other = {"name": "Views", "type": "event_user", "metricEvents": [{"name": "page_view"}]}
    assert console.post("/console/v1/metrics", json=other).status_code == 201
    found = console.get(f"{BASE}/add_to_cart/metrics").json()["data"]
    assert [m["id"] for m in found] == [
        "add_to_cart::event_count",
        "add_to_cart::event_user",
        "Carts::event_count_custom",
    ]


def test_event_metrics__event_not_logged__custom_metrics_only(console: ContractClient) -> None:
    custom = {"name": "Signups", "type": "event_user", "metricEvents": [{"name": "signup"}]}
    assert console.post("/console/v1/metrics", json=custom).status_code == 201
    response = console.get(f"{BASE}/signup/metrics")
    assert [m["id"] for m in response.json()["data"]] == ["Signups::event_user"]
    assert console.get(f"{BASE}/other/metrics").json()["data"] == []
