"""The Metrics resource: custom metric definitions of every type, validation, updates, deletes,
automatic event metrics, and lineage."""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.domains.projects.service import Bootstrap
from tests.contract.client import ContractClient
from tests.metrics.support import DAY0_MS, event, log_events

BASE = "/console/v1/metrics"

CHECKOUTS = {
    "name": "Checkouts",
    "type": "event_count_custom",
    "metricEvents": [{"name": "checkout"}],
}
VISITS = {"name": "Visits", "type": "event_count_custom", "metricEvents": [{"name": "visit"}]}


def _create(console: ContractClient, body: dict[str, Any]) -> dict[str, Any]:
    response = console.post(BASE, json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def _ids(console: ContractClient, query: str = "") -> list[str]:
    response = console.get(f"{BASE}/list{query}")
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()["data"]]


TYPED_BODIES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (
        {
            "name": "Revenue",
            "type": "sum",
            "metricEvents": [{"name": "purchase", "type": "value"}],
            "unitTypes": ["userID", "stableID"],
        },
        {"lineage": {"events": ["purchase"], "metrics": []}, "unitTypes": ["userID", "stableID"]},
    ),
    (
        {
            "name": "Basket size",
            "type": "mean",
            "metricEvents": [
                {
                    "name": "purchase",
                    "type": "metadata",
                    "metadataKey": "items",
                    "criteria": [
                        {
                            "type": "metadata",
                            "column": "country",
                            "condition": "in",
                            "values": ["US"],
                        }
                    ],
                }
            ],
            "directionality": "decrease",
        },
        {"directionality": "decrease"},
    ),
    (
        {
            "name": "Conversion",
            "type": "ratio",
            "metricEvents": [
                {"name": "purchase", "type": "count_distinct"},
                {"name": "visit", "type": "count_distinct"},
            ],
            "rollupTimeWindow": "custom",
            "customRollUpStart": 0,
            "customRollUpEnd": 7,
        },
        {
            "lineage": {"events": ["purchase", "visit"], "metrics": []},
            "rollupTimeWindow": "custom",
            "customRollUpStart": 0,
            "customRollUpEnd": 7,
        },
    ),
    (
        {
            "name": "Big purchases",
            "type": "event_count_custom",
            "metricEvents": [
                {
                    "name": "purchase",
                    "criteria": [{"type": "value", "condition": ">=", "values": ["100"]}],
                }
            ],
            "isPermanent": True,
        },
        {"isPermanent": True},
    ),
    (
        {"name": "Buyers", "type": "event_user", "metricEvents": [{"name": "purchase"}]},
        {"metricEvents": [{"name": "purchase", "type": "count_distinct", "criteria": []}]},
    ),
    (
        {
            "name": "Visit to checkout",
            "type": "funnel",
            "funnelEventList": [
                {"name": "Visits", "type": "event_count_custom"},
                {"name": "Checkouts", "type": "event_count_custom"},
            ],
            "funnelCountDistinct": "users",
        },
        {
            "lineage": {
                "events": [],
                "metrics": ["Visits::event_count_custom", "Checkouts::event_count_custom"],
            },
            "funnelCountDistinct": "users",
        },
    ),
    (
        {
            "name": "Checkouts per visit",
            "type": "composite",
            "metricComponentMetrics": [
                {"name": "Checkouts", "type": "event_count_custom"},
                {"name": "Visits", "type": "event_count_custom"},
            ],
        },
        {
            "lineage": {
                "events": [],
                "metrics": ["Checkouts::event_count_custom", "Visits::event_count_custom"],
            }
        },
    ),
    (
        {
            "name": "Engagement",
            "type": "composite_sum",
            "metricComponentMetrics": [
                {"name": "Checkouts", "type": "event_count_custom"},
                {"name": "Visits", "type": "event_count_custom"},
            ],
        },
        {
            "metricComponentMetrics": [
                {"name": "Checkouts", "type": "event_count_custom"},
                {"name": "Visits", "type": "event_count_custom"},
            ]
        },
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), TYPED_BODIES, ids=[b["type"] for b, _ in TYPED_BODIES]
)
def test_create_metric__each_type__201_and_read_back(
    console: ContractClient, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    _create(console, CHECKOUTS)
    _create(console, VISITS)
    created = _create(console, body)
    metric_id = f"{body['name']}::{body['type']}"
    assert created["id"] == metric_id and created["name"] == body["name"]
    assert created["creatorName"] == "CONSOLE API" and created["version"] == 1
    assert {k: created[k] for k in expected} == expected
    read = console.get(f"{BASE}/{metric_id}").json()["data"]
    assert read == created
    by_name = console.get(f"{BASE}/{body['name']}/{body['type']}")
    assert by_name.status_code == 200 and by_name.json()["data"] == created


BAD_BODIES: list[tuple[dict[str, Any], str]] = [
    ({"type": "sum"}, "name: is required"),
    ({"name": "abc", "type": "sum"}, "name: must be 4 to 200 characters, got 3"),
    ({"name": "bad*name", "type": "sum"}, "name: 'bad*name' may contain only"),
    ({"name": "Revenue"}, "type: is required"),
    ({"name": "Revenue", "type": "median"}, "type: must be one of 'ratio', 'mean'"),
    (
        {"name": "Revenue", "type": "user_warehouse"},
        "warehouseNative: applies only in a warehouse native project",
    ),
    ({"name": "Revenue", "type": "sum"}, "metricEvents: 'sum' metrics need at least one event"),
    (
        {"name": "Revenue", "type": "sum", "metricEvents": [{"name": "p", "type": "count"}]},
        "metricEvents[0].type: a 'sum' metric's events may be 'value', 'metadata', got 'count'",
    ),
    (
        {"name": "Revenue", "type": "sum", "metricEvents": [{"name": "p", "type": "metadata"}]},
        "metricEvents[0].metadataKey: is required when type is 'metadata'",
    ),
    (
        {"name": "Revenue", "type": "sum", "metricEvents": [{"type": "value"}]},
        "metricEvents[0].name: is required",
    ),
    (
        {"name": "Conv rate", "type": "ratio", "metricEvents": [{"name": "a"}]},
        "metricEvents: 'ratio' metrics need exactly two events, the numerator then the "
        "denominator; got 1",
    ),
    (
        {
            "name": "Revenue",
            "type": "event_count_custom",
            "metricEvents": [
                {"name": "p", "criteria": [{"type": "metadata", "condition": "sql_filter"}]}
            ],
        },
        "metricEvents[0].criteria[0].condition: 'sql_filter' applies only to warehouse native",
    ),
    (
        {
            "name": "Revenue",
            "type": "event_count_custom",
            "metricEvents": [{"name": "p", "criteria": [{"type": "metadata", "condition": "in"}]}],
        },
        "metricEvents[0].criteria[0].column: is required for a 'metadata' criterion",
    ),
    (
        {
            "name": "Revenue",
            "type": "event_count_custom",
            "metricEvents": [
                {"name": "p", "criteria": [{"type": "value", "condition": ">", "values": ["x"]}]}
            ],
        },
        "metricEvents[0].criteria[0].values: '>' compares numbers, got 'x'",
    ),
    (
        {
            "name": "Revenue",
            "type": "event_count_custom",
            "metricEvents": [{"name": "p", "criteria": [{"type": "value", "condition": "in"}]}],
        },
        "metricEvents[0].criteria[0].values: 'in' needs at least one value",
    ),
    (
        {
            "name": "Revenue",
            "type": "event_count_custom",
            "metricEvents": [{"name": "p", "criteria": [{"type": "device", "condition": "in"}]}],
        },
        "metricEvents[0].criteria[0].type: must be one of 'value', 'metadata', 'user'",
    ),
    (
        {
            "name": "Composite",
            "type": "composite",
            "metricComponentMetrics": [{"name": "Checkouts", "type": "event_count_custom"}],
        },
        "metricComponentMetrics: 'composite' metrics need exactly two component metrics",
    ),
    (
        {
            "name": "Composite",
            "type": "composite_sum",
            "metricComponentMetrics": [
                {"name": "Checkouts", "type": "event_count_custom"},
                {"name": "Nope", "type": "sum"},
            ],
        },
        "metricComponentMetrics[1]: metric 'Nope::sum' does not exist",
    ),
    (
        {
            "name": "Composite",
            "type": "composite_sum",
            "metricComponentMetrics": [
                {"name": "Checkouts", "type": "event_count_custom"},
                {"name": "Checkouts", "type": "funnel"},
            ],
        },
        "metricComponentMetrics[1].type: must be one of 'event_count', 'event_count_custom'",
    ),
    (
        {"name": "Composite", "type": "composite", "metricEvents": [{"name": "x"}]},
        "metricEvents: 'composite' metrics are defined by metricComponentMetrics, not by events",
    ),
    (
        {
            "name": "Funnel",
            "type": "funnel",
            "funnelEventList": [{"name": "Checkouts", "type": "event_count_custom"}],
        },
        "funnelEventList: a funnel needs at least two steps; got 1",
    ),
    (
        {
            "name": "Funnel",
            "type": "funnel",
            "funnelEventList": [
                {"name": "Checkouts", "type": "event_count_custom"},
                {"name": "never_logged", "type": "event_count"},
            ],
        },
        "funnelEventList[1]: metric 'never_logged::event_count' does not exist",
    ),
    (
        {
            "name": "Revenue",
            "type": "sum",
            "metricEvents": [{"name": "p"}],
            "funnelCountDistinct": "users",
        },
        "funnelCountDistinct: only applies to 'funnel' metrics",
    ),
    (
        {
            "name": "Revenue",
            "type": "sum",
            "metricEvents": [{"name": "p"}],
            "rollupTimeWindow": "custom",
            "customRollUpStart": 1,
        },
        "customRollUpEnd: is required when rollupTimeWindow is 'custom'",
    ),
    (
        {
            "name": "Revenue",
            "type": "sum",
            "metricEvents": [{"name": "p"}],
            "rollupTimeWindow": "custom",
            "customRollUpStart": 5,
            "customRollUpEnd": 2,
        },
        "customRollUpStart: must not be after customRollUpEnd (5 > 2)",
    ),
    (
        {"name": "Revenue", "type": "sum", "metricEvents": [{"name": "p"}], "directionality": "up"},
        "directionality: must be 'increase' or 'decrease', got 'up'",
    ),
    (
        {"name": "Revenue", "type": "sum", "metricEvents": [{"name": "p"}], "tags": ["nope"]},
        "tags: tag 'nope' does not exist",
    ),
    (
        {
            "name": "Revenue",
            "type": "sum",
            "metricEvents": [{"name": "p"}],
            "warehouseNative": {"aggregation": "sum"},
        },
        "warehouseNative: applies only to warehouse native metrics",
    ),
    (
        {"name": "Revenue", "type": "sum", "metricEvents": [{"name": "p"}], "unitTypes": []},
        "unitTypes: must name at least one unit id type",
    ),
]


@pytest.mark.parametrize(("body", "message"), BAD_BODIES, ids=[m[:40] for _, m in BAD_BODIES])
def test_create_metric__invalid_input__400_naming_the_problem(
    console: ContractClient, body: dict[str, Any], message: str
) -> None:
    _create(console, CHECKOUTS)
    response = console.post(BASE, json=body)
    assert response.status_code == 400
    assert response.json()["message"] == f"Invalid request. {message}" or response.json()[
        "message"
    ].startswith(f"Invalid request. {message}"), response.json()["message"]
    assert _ids(console) == ["Checkouts::event_count_custom"]


def test_create_metric__taken_id__400_name_in_use(console: ContractClient) -> None:
    _create(console, CHECKOUTS)
    response = console.post(BASE, json=CHECKOUTS)
    assert response.json() == {"status": 400, "message": "Name is already in use"}


def test_create_metric__dry_run__validated_not_saved(console: ContractClient) -> None:
    preview = _create(console, {**CHECKOUTS, "dryRun": True})
    assert preview["id"] == "Checkouts::event_count_custom"
    assert console.get(f"{BASE}/Checkouts::event_count_custom").status_code == 404
    bad = console.post(BASE, json={"name": "Checkouts", "type": "sum", "dryRun": True})
    assert bad.status_code == 400


def test_read_metric__unknown__404(console: ContractClient) -> None:
    for path in (f"{BASE}/nope::sum", f"{BASE}/nope/sum", f"{BASE}/no-type-here"):
        response = console.get(path)
        assert response.json() == {
            "status": 404,
            "message": "Not Found. The requested resource could not be found.",
        }


def test_list_metrics__tags_and_pages__filtered_and_paginated(console: ContractClient) -> None:
    tag = console.post("/console/v1/tags", json={"name": "north star", "description": ""})
    tag_id = tag.json()["data"]["id"]
    _create(console, {**CHECKOUTS, "tags": "north star"})
    _create(console, VISITS)
    _create(console, {**VISITS, "name": "More visits", "tags": ["north star"]})
    assert _ids(console, f"?tags={tag_id}") == [
        "Checkouts::event_count_custom",
        "More visits::event_count_custom",
    ]
    assert _ids(console, "?tags=north%20star") == _ids(console, f"?tags={tag_id}")
    page = console.get(f"{BASE}/list?limit=2&page=2").json()
    # Same creation time (the clock stands still): ordered by id.
    assert [m["id"] for m in page["data"]] == ["Visits::event_count_custom"]
    assert page["pagination"]["totalItems"] == 3
    assert page["pagination"]["previousPage"] == f"{BASE}/list?page=1&limit=2"
    unknown = console.get(f"{BASE}/list?tags=missing")
    assert unknown.json()["message"] == "Invalid request. tags: tag 'missing' does not exist"
    bad_flag = console.get(f"{BASE}/list?showHiddenMetrics=yes")
    assert bad_flag.status_code == 400


def test_update_metric__fields_and_definition__saved_as_new_version(
    console: ContractClient,
) -> None:
    _create(console, CHECKOUTS)
    console.post("/console/v1/tags", json={"name": "growth", "description": ""})
    response = console.post(
        f"{BASE}/Checkouts::event_count_custom",
        json={
            "description": "Completed checkouts",
            "directionality": "decrease",
            "tags": ["growth"],
            "isVerified": True,
            "metricEvents": [{"name": "checkout_done"}],
            "owner": {"email": "ana@example.com"},
        },
    )
    assert response.status_code == 200, response.text
    updated = response.json()["data"]
    assert updated["description"] == "Completed checkouts"
    assert (updated["directionality"], updated["tags"], updated["isVerified"]) == (
        "decrease",
        ["growth"],
        True,
    )
    assert updated["lineage"] == {"events": ["checkout_done"], "metrics": []}
    assert updated["owner"]["ownerEmail"] == "ana@example.com"
    assert updated["version"] == 2
    assert console.get(f"{BASE}/Checkouts::event_count_custom").json()["data"] == updated


def test_update_metric__rename__id_follows_name(console: ContractClient) -> None:
    _create(console, CHECKOUTS)
    renamed = console.post(f"{BASE}/Checkouts::event_count_custom", json={"name": "Orders"})
    assert renamed.json()["data"]["id"] == "Orders::event_count_custom"
    assert console.get(f"{BASE}/Checkouts::event_count_custom").status_code == 404
    assert console.get(f"{BASE}/Orders/event_count_custom").json()["data"]["version"] == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "sum"}, "type: a metric's type is part of its id and cannot change"),
        ({"metricEvents": []}, "metricEvents: 'event_count_custom' metrics need at least one"),
        ({"directionality": "sideways"}, "directionality: must be 'increase' or 'decrease'"),
        ({"name": "Visits"}, None),
    ],
)
def test_update_metric__invalid__400_and_unchanged(
    console: ContractClient, body: dict[str, Any], message: str | None
) -> None:
    _create(console, CHECKOUTS)
    _create(console, VISITS)
    response = console.post(f"{BASE}/Checkouts::event_count_custom", json=body)
    assert response.status_code == 400
    expected = "Name is already in use" if message is None else f"Invalid request. {message}"
    assert response.json()["message"].startswith(expected)
    assert console.get(f"{BASE}/Checkouts::event_count_custom").json()["data"]["version"] == 1


def test_update_metric__dry_run__nothing_changes(console: ContractClient) -> None:
    _create(console, CHECKOUTS)
    preview = console.post(
        f"{BASE}/Checkouts::event_count_custom", json={"description": "x", "dryRun": True}
    )
    assert preview.json()["data"]["description"] == "x"
    stored = console.get(f"{BASE}/Checkouts::event_count_custom").json()["data"]
    assert (stored["description"], stored["version"]) == ("", 1)


def test_delete_metric__custom__gone(console: ContractClient) -> None:
    _create(console, CHECKOUTS)
    response = console.delete(f"{BASE}/Checkouts::event_count_custom")
    assert response.json() == {"message": "Metric deleted successfully."}
    assert console.get(f"{BASE}/Checkouts::event_count_custom").status_code == 404
    assert console.delete(f"{BASE}/Checkouts::event_count_custom").status_code == 404


def test_delete_metric__refused__400_and_kept(console: ContractClient) -> None:
    _create(console, {**CHECKOUTS, "isPermanent": True})
    permanent = console.delete(f"{BASE}/Checkouts::event_count_custom")
    assert permanent.json()["message"] == (
        "Invalid request. Metric 'Checkouts::event_count_custom' is permanent; set isPermanent "
        "to false before deleting it"
    )
    _create(console, VISITS)
    _create(console, TYPED_BODIES[-1][0])
    used = console.delete(f"{BASE}/Visits::event_count_custom")
    assert used.json()["message"] == (
        "Invalid request. Metric 'Visits::event_count_custom' is used by "
        "'Engagement::composite_sum'; it cannot be deleted until those metrics stop using it"
    )
    assert len(_ids(console)) == 3


def test_automatic_metrics__logged_event__listed_readable_not_deletable(
    console: ContractClient, project: Bootstrap
) -> None:
    log_events(console, project, [event("add_to_cart", "u1", DAY0_MS + 5)])
    listed = console.get(f"{BASE}/list").json()
    assert [m["id"] for m in listed["data"]] == [
        "add_to_cart::event_count",
        "add_to_cart::event_user",
    ]
    user_metric = console.get(f"{BASE}/add_to_cart::event_user").json()["data"]
    assert user_metric["lineage"] == {"events": ["add_to_cart"], "metrics": []}
    assert user_metric["createdTime"] == DAY0_MS + 5
    count_metric = console.get(f"{BASE}/add_to_cart/event_count").json()["data"]
    assert count_metric["type"] == "event_count"
    for method, suffix in (("DELETE", ""), ("POST", ""), ("PUT", "/schedule_archive")):
        response = console.request(
            method,
            f"{BASE}/add_to_cart::event_count{suffix}",
            json={} if method == "POST" else None,
        )
        assert response.status_code == 400
        assert "is an automatic metric of event 'add_to_cart'" in response.json()["message"]
    taken = console.post(
        BASE, json={"name": "add_to_cart", "type": "event_user", "metricEvents": [{"name": "x"}]}
    )
    assert taken.json()["message"] == "Name is already in use"
    # Automatic metrics can be built on, once their event has been logged.
    _create(console, CHECKOUTS)
    _create(
        console,
        {
            "name": "Cart to checkout",
            "type": "funnel",
            "funnelEventList": [
                {"name": "add_to_cart", "type": "event_dau"},
                {"name": "Checkouts", "type": "event_count_custom"},
            ],
        },
    )


def test_metric_experiments__primary_and_secondary__listed(console: ContractClient) -> None:
    _create(console, CHECKOUTS)
    empty = console.get(f"{BASE}/Checkouts::event_count_custom/experiments")
    assert empty.status_code == 200 and empty.json()["data"] == []
    refs = [{"name": "Checkouts", "type": "event_count_custom"}]
    for name, field in (("exp_primary", "primaryMetrics"), ("exp_secondary", "secondaryMetrics")):
        created = console.post(
            "/console/v1/experiments", json={"name": name, "hypothesis": "h", field: refs}
        )
        assert created.status_code == 201, created.text
    console.post("/console/v1/experiments", json={"name": "exp_other", "hypothesis": "h"})
    found = console.get(f"{BASE}/Checkouts::event_count_custom/experiments")
    assert [e["id"] for e in found.json()["data"]] == ["exp_primary", "exp_secondary"]
    paged = console.get(f"{BASE}/Checkouts::event_count_custom/experiments?limit=1&page=2")
    assert [e["id"] for e in paged.json()["data"]] == ["exp_secondary"]
    assert console.get(f"{BASE}/nope::sum/experiments").status_code == 404
