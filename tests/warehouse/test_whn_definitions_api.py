"""Warehouse-native definitions through the Console API: ``user_warehouse`` metrics on a metric
source and analysis-only experiments bound to an assignment source, each checked against the
stored sources and their columns; every bad definition is refused naming the field, and
changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lockgate.domains.warehouse.adapters import SqlAlchemyWarehouse
from lockgate.domains.warehouse.dialects import DIALECTS
from lockgate.kit.settings import Settings
from tests.contract.client import ContractClient
from tests.warehouse.conftest import scratch_name

METRICS = "/console/v1/metrics"
EXPERIMENTS = "/console/v1/experiments"
MAPPING = [{"statsigUnitID": "userID", "column": "user_id"}]
PURCHASE = [{"type": "metadata", "column": "event", "condition": "in", "values": ["purchase"]}]


@pytest.fixture()
def sources(console: ContractClient, settings: Settings) -> Iterator[None]:
    """A DuckDB warehouse with an exposures and an events table, and one source on each."""
    schema = scratch_name()
    path = settings.resolved_warehouse_files_dir / f"defs_{schema}.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    with SqlAlchemyWarehouse(f"duckdb:///{path}", DIALECTS["duckdb"], schema) as adapter:
        adapter.run(
            "CREATE TABLE exposures (user_id VARCHAR, ts TIMESTAMP, experiment VARCHAR, "
            "grp VARCHAR)"
        )
        adapter.run(
            "CREATE TABLE events (user_id VARCHAR, ts TIMESTAMP, event VARCHAR, amount DOUBLE)"
        )
    connection = {"duckdb": {"path": path.name, "stagingSchema": schema}}
    assert console.patch("/console/v1/wh_connections", json=connection).status_code == 200
    created = console.post(
        f"{EXPERIMENTS}/assignment_sources",
        json={
            "name": "exposures",
            "sql": "SELECT * FROM exposures",
            "timestampColumn": "ts",
            "experimentIDColumn": "experiment",
            "groupIDColumn": "grp",
            "idTypeMapping": MAPPING,
        },
    )
    assert created.status_code == 201, created.text
    created = console.post(
        f"{METRICS}/metric_source",
        json={
            "name": "purchases",
            "sql": "SELECT * FROM events",
            "timestampColumn": "ts",
            "idTypeMapping": MAPPING,
        },
    )
    assert created.status_code == 201, created.text
    yield
    path.unlink(missing_ok=True)


def whn_metric(**definition: Any) -> dict[str, Any]:
    return {
        "name": "Revenue",
        "type": "user_warehouse",
        "warehouseNative": {
            "aggregation": "sum",
            "metricSourceName": "purchases",
            "valueColumn": "amount",
            "criteria": PURCHASE,
            **definition,
        },
    }


def ratio_metric(**definition: Any) -> dict[str, Any]:
    fields = {"numeratorAggregation": "sum", "denominatorAggregation": "count", **definition}
    return whn_metric(aggregation="ratio", **fields)


def criterion(condition: str, *values: str) -> dict[str, Any]:
    return {"type": "metadata", "condition": condition, "values": list(values)}


def metric_ids(console: ContractClient) -> list[str]:
    response = console.get(f"{METRICS}/list")
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()["data"]]


def refused(response: Any, message: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith(f"Invalid request. {message}"), response.text


def test_create_metric__user_warehouse__stored_normalized_and_listed_on_its_source(
    console: ContractClient, sources: None
) -> None:
    created = console.post(METRICS, json=whn_metric(valueColumn="AMOUNT", winsorizationHigh=0.999))
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert data["id"] == "Revenue::user_warehouse"
    assert data["unitTypes"] == ["userID"]
    assert data["warehouseNative"] == {
        "aggregation": "sum",
        "metricSourceName": "purchases",
        "valueColumn": "amount",  # as the source answers it
        "criteria": PURCHASE,
        "winsorizationHigh": 0.999,
    }
    listed = console.get(f"{METRICS}/metric_source/purchases/metrics").json()["data"]
    assert [m["name"] for m in listed] == ["Revenue"]


BAD_METRICS: list[tuple[dict[str, Any], str]] = [
    (
        whn_metric(metricSourceName="nope"),
        "warehouseNative.metricSourceName: metric source 'nope' does not exist",
    ),
    (whn_metric(aggregation="median"), "warehouseNative.aggregation: must be one of 'count'"),
    (
        whn_metric(aggregation="composite"),
        "warehouseNative.aggregation: 'composite' is not computed",
    ),
    (whn_metric(valueColumn=None), "warehouseNative.valueColumn: is required for 'sum'"),
    (
        whn_metric(valueColumn="price"),
        "warehouseNative.valueColumn: column 'price' is not among metric source 'purchases'",
    ),
    (
        whn_metric(aggregation="count"),
        "warehouseNative.valueColumn: does not apply to 'count'",
    ),
    (
        whn_metric(
            criteria=[{"type": "metadata", "column": "kind", "condition": "in", "values": ["a"]}]
        ),
        "warehouseNative.criteria[0].column: column 'kind' is not among",
    ),
    (
        whn_metric(
            criteria=[{"type": "metadata", "column": "event", "condition": "like", "values": ["a"]}]
        ),
        "warehouseNative.criteria[0].condition: must be one of 'in'",
    ),
    (
        whn_metric(criteria=[criterion("sql_filter", "amount > 1", "amount < 9")]),
        "warehouseNative.criteria[0].values: 'sql_filter' takes exactly one value, got 2",
    ),
    (
        whn_metric(criteria=[criterion("sql_filter")]),
        "warehouseNative.criteria[0].values: 'sql_filter' needs at least one value",
    ),
    (
        whn_metric(criteria=[*PURCHASE, criterion("sql_filter", "amount > 1; SELECT 1")]),
        "warehouseNative.criteria[1].values: must be one SQL condition, without ';'",
    ),
    (
        whn_metric(criteria=[{**criterion("contains", "a", " "), "column": "event"}]),
        "warehouseNative.criteria[0].values: 'contains' takes non-empty values",
    ),
    (
        whn_metric(criteria=[{**criterion("after_exposure", "x"), "column": "ts"}]),
        "warehouseNative.criteria[0].values: 'after_exposure' takes no values",
    ),
    (
        whn_metric(criteria=[criterion("starts_with", "a")]),
        "warehouseNative.criteria[0].column: is required",
    ),
    (
        whn_metric(
            criteria=[
                {**criterion("in", "purchase"), "column": "event"},
                {
                    "type": "metadata",
                    "column": "event",
                    "condition": "in",
                    "values": ["view", True],
                },
            ]
        ),
        "warehouseNative.criteria[1].values[1]: must be a string or a number, not the boolean "
        'true; send "true" to compare with that text',
    ),
    (
        whn_metric(criteria=[{**criterion("=", "x"), "column": "event", "values": [False]}]),
        "warehouseNative.criteria[0].values[0]: must be a string or a number, not the boolean "
        "false",
    ),
    (
        whn_metric(criteria=[{**criterion("in"), "column": "event", "values": [{"a": 1}]}]),
        "warehouseNative.criteria[0].values: must be a list of strings",
    ),
    (
        whn_metric(
            criteria=[{"type": "metadata", "column": "amount", "condition": ">", "values": ["x"]}]
        ),
        "warehouseNative.criteria[0].values: '>' compares numbers, got 'x'",
    ),
    (whn_metric(cap=0), "warehouseNative.cap: must be a number above 0"),
    (whn_metric(cap="5"), "warehouseNative.cap: must be a number above 0"),
    (
        whn_metric(aggregation="max", cap=5),
        "warehouseNative.cap: applies to 'count', 'sum' metrics only, not to 'max'",
    ),
    (whn_metric(percentile=0.5), "warehouseNative.percentile: applies to 'percentile' only"),
    (
        whn_metric(aggregation="percentile", percentile=1),
        "warehouseNative.percentile: is required for 'percentile': a fraction between 0 and 1",
    ),
    (
        whn_metric(aggregation="percentile", percentile=100),
        "warehouseNative.percentile: is required for 'percentile'",
    ),
    (whn_metric(valueThreshold=3), "warehouseNative.valueThreshold: is not computed by this"),
    (
        whn_metric(winsorizationHigh=1.5),
        "warehouseNative.winsorizationHigh: must be a fraction above 0 and at most 1",
    ),
    (
        whn_metric(aggregation="first_value", winsorizationHigh=0.99),
        "warehouseNative.winsorizationHigh: applies to 'count', 'sum', 'mean', 'ratio', "
        "'count_distinct', 'max', 'min' metrics only, not to 'first_value'",
    ),
    (
        whn_metric(winsorizationLow=1),
        "warehouseNative.winsorizationLow: must be a fraction at least 0 and below 1",
    ),
    (
        whn_metric(winsorizationLow=0.6, winsorizationHigh=0.4),
        "warehouseNative.winsorizationLow: must be below winsorizationHigh (0.4), got 0.6",
    ),
    (
        whn_metric(aggregation="percentile"),
        "warehouseNative.percentile: is required for 'percentile'",
    ),
    (
        whn_metric(aggregation="percentile", percentile=0.5, winsorizationHigh=0.99),
        "warehouseNative.winsorizationHigh: applies to 'count', 'sum'",
    ),
    (
        whn_metric(aggregation="daily_participation"),
        "warehouseNative.valueColumn: does not apply to 'daily_participation'",
    ),
    (
        whn_metric(aggregation="count_distinct", valueColumn=None),
        "warehouseNative.valueColumn: is required for 'count_distinct'",
    ),
    (
        whn_metric(aggregation="daily_participation", valueColumn=None, rollupTimeWindow="custom"),
        "warehouseNative.rollupTimeWindow: 'custom' is not computed by this server yet",
    ),
    (
        whn_metric(aggregation="daily_participation", valueColumn=None, rollupTimeWindow="week"),
        "warehouseNative.rollupTimeWindow: must be one of 'max', 'daily', got 'week'",
    ),
    (
        whn_metric(rollupTimeWindow="daily"),
        "warehouseNative.rollupTimeWindow: applies to 'daily_participation' only",
    ),
    (
        whn_metric(denominatorAggregation="count"),
        "warehouseNative.denominatorAggregation: applies to 'ratio' metrics only",
    ),
    (
        whn_metric(numeratorAggregation="sum"),
        "warehouseNative.numeratorAggregation: applies to 'ratio' metrics only",
    ),
    (
        ratio_metric(numeratorAggregation=None),
        "warehouseNative.numeratorAggregation: must be one of 'count', 'sum', "
        "'count_distinct', 'daily_participation', got None",
    ),
    (
        ratio_metric(numeratorAggregation="mean"),
        "warehouseNative.numeratorAggregation: 'mean' is not computed by this server yet",
    ),
    (
        ratio_metric(denominatorValueColumn="amount"),
        "warehouseNative.denominatorValueColumn: does not apply to 'count'",
    ),
    (
        ratio_metric(denominatorAggregation="sum"),
        "warehouseNative.denominatorValueColumn: is required for 'sum'",
    ),
    (
        ratio_metric(denominatorMetricSourceName="nope"),
        "warehouseNative.denominatorMetricSourceName: metric source 'nope' does not exist",
    ),
    (
        ratio_metric(
            denominatorCriteria=[{**criterion("in", "a"), "column": "kind"}],
        ),
        "warehouseNative.denominatorCriteria[0].column: column 'kind' is not among",
    ),
    (
        ratio_metric(allowNullRatioDenominator="yes"),
        "warehouseNative.allowNullRatioDenominator: must be a boolean, got 'yes'",
    ),
    (
        ratio_metric(winsorizationHighDenominator=2),
        "warehouseNative.winsorizationHighDenominator: must be a fraction above 0",
    ),
    (
        {**whn_metric(), "unitTypes": ["stableID"]},
        "unitTypes[0]: 'stableID' is not mapped by metric source 'purchases'",
    ),
    (
        {**whn_metric(), "metricEvents": [{"name": "purchase"}]},
        "metricEvents: does not apply to a 'user_warehouse' metric",
    ),
    ({"name": "Revenue", "type": "user_warehouse"}, "warehouseNative: is required"),
]


@pytest.mark.parametrize(("body", "message"), BAD_METRICS, ids=[m[:50] for _, m in BAD_METRICS])
def test_create_metric__bad_warehouse_native__400_and_nothing_stored(
    console: ContractClient, sources: None, body: dict[str, Any], message: str
) -> None:
    refused(console.post(METRICS, json=body), message)
    assert metric_ids(console) == []


def test_update_metric__user_warehouse__checked_again(
    console: ContractClient, sources: None
) -> None:
    assert console.post(METRICS, json=whn_metric()).status_code == 201
    path = f"{METRICS}/Revenue::user_warehouse"
    bad = {"warehouseNative": {"aggregation": "mean", "metricSourceName": "purchases"}}
    refused(console.post(path, json=bad), "warehouseNative.valueColumn: is required for 'mean'")
    assert console.get(path).json()["data"]["warehouseNative"]["aggregation"] == "sum"
    good = {"warehouseNative": {**bad["warehouseNative"], "valueColumn": "amount"}}
    changed = console.post(path, json=good)
    assert changed.status_code == 200, changed.text
    assert changed.json()["data"]["warehouseNative"] == {
        "aggregation": "mean",
        "metricSourceName": "purchases",
        "valueColumn": "amount",
        "criteria": [],
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cap": -1}, "warehouseNative.cap: must be a number above 0"),
        (
            {"aggregation": "ratio", "numeratorAggregation": "sum"},
            "warehouseNative.denominatorAggregation: must be one of 'count'",
        ),
        (
            {"criteria": [{"type": "metadata", "condition": "sql_filter", "values": [" "]}]},
            "warehouseNative.criteria[0].values: 'sql_filter' takes non-empty values",
        ),
        ({"winsorizationLowDenominator": 0.1}, "warehouseNative.winsorizationLowDenominator: "),
    ],
)
def test_update_metric__bad_new_field__400_and_unchanged(
    console: ContractClient, sources: None, change: dict[str, Any], message: str
) -> None:
    assert console.post(METRICS, json=whn_metric(cap=4)).status_code == 201
    path = f"{METRICS}/Revenue::user_warehouse"
    before = console.get(path).json()["data"]
    sent = {"warehouseNative": {**whn_metric()["warehouseNative"], **change}}
    refused(console.post(path, json=sent), message)
    assert console.get(path).json()["data"] == before


def test_create_metric__every_new_field__stored_normalized(
    console: ContractClient, sources: None
) -> None:
    sent = ratio_metric(
        valueColumn="AMOUNT",
        denominatorAggregation="daily_participation",
        denominatorRollupTimeWindow="daily",
        denominatorCriteria=[{**criterion("ends_with", "chase"), "column": "EVENT"}],
        winsorizationLow=0.001,
        winsorizationHigh=1,
        winsorizationHighDenominator=0.99,
        allowNullRatioDenominator=True,
        criteria=[
            criterion("sql_filter", "amount - 1 > 0"),
            {**criterion("after_exposure"), "column": "ts"},
            {**criterion("not_contains", "refund", "test"), "column": "event"},
            # a number is compared as its text
            {"type": "metadata", "condition": ">=", "column": "amount", "values": [2.5]},
        ],
    )
    sent["warehouseNative"]["criteria"][1].pop("values")
    created = console.post(METRICS, json=sent)
    assert created.status_code == 201, created.text
    assert created.json()["data"]["warehouseNative"] == {
        "aggregation": "ratio",
        "metricSourceName": "purchases",
        "numeratorAggregation": "sum",
        "valueColumn": "amount",
        "criteria": [
            {"type": "metadata", "condition": "sql_filter", "values": ["amount - 1 > 0"]},
            {"type": "metadata", "condition": "after_exposure", "column": "ts"},
            {
                "type": "metadata",
                "condition": "not_contains",
                "column": "event",
                "values": ["refund", "test"],
            },
            {"type": "metadata", "condition": ">=", "column": "amount", "values": ["2.5"]},
        ],
        "denominatorAggregation": "daily_participation",
        "denominatorMetricSourceName": "purchases",  # the numerator's source by default
        "denominatorCriteria": [
            {"type": "metadata", "condition": "ends_with", "column": "event", "values": ["chase"]}
        ],
        "denominatorRollupTimeWindow": "daily",
        "allowNullRatioDenominator": True,
        "winsorizationHighDenominator": 0.99,
        "winsorizationLow": 0.001,  # a high bound of 1 caps nothing: not stored
    }
    unit_count = whn_metric(aggregation="daily_participation", valueColumn=None, cap=None)
    unit_count["name"] = "Buyers"
    created = console.post(METRICS, json=unit_count)
    assert created.status_code == 201, created.text
    # a unit count is a one-time event unless it says otherwise
    assert created.json()["data"]["warehouseNative"]["rollupTimeWindow"] == "max"
    p90 = whn_metric(aggregation="percentile", percentile=90)
    p90["name"] = "Order p90"
    created = console.post(METRICS, json=p90)
    assert created.status_code == 201, created.text
    assert created.json()["data"]["warehouseNative"]["percentile"] == 0.9  # given in percent
    capped = whn_metric(aggregation="count", valueColumn=None, cap=3)
    capped["name"] = "Orders"
    created = console.post(METRICS, json=capped)
    assert created.status_code == 201, created.text
    assert created.json()["data"]["warehouseNative"]["cap"] == 3.0


def experiment(**fields: Any) -> dict[str, Any]:
    return {
        "name": "checkout",
        "isAnalysisOnly": True,
        "assignmentSourceName": "exposures",
        "assignmentSourceExperimentName": "checkout_flow",
        **fields,
    }


def test_create_experiment__bound_to_assignment_source__stored(
    console: ContractClient, sources: None
) -> None:
    created = console.post(EXPERIMENTS, json=experiment())
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert (
        data["assignmentSourceName"],
        data["assignmentSourceExperimentName"],
        data["isAnalysisOnly"],
    ) == ("exposures", "checkout_flow", True)


BAD_EXPERIMENTS: list[tuple[dict[str, Any], str]] = [
    (
        experiment(assignmentSourceName="nope"),
        "assignmentSourceName: assignment source 'nope' does not exist",
    ),
    (
        experiment(assignmentSourceExperimentName=None),
        "assignmentSourceExperimentName: is required with assignmentSourceName",
    ),
    (experiment(idType="stableID"), "idType: 'stableID' is not mapped by assignment source"),
    (
        {"name": "checkout", "isAnalysisOnly": True},
        "isAnalysisOnly: needs assignmentSourceName",
    ),
    (
        {"name": "checkout", "assignmentSourceExperimentName": "x"},
        "assignmentSourceExperimentName: applies only with assignmentSourceName",
    ),
]


@pytest.mark.parametrize(
    ("body", "message"), BAD_EXPERIMENTS, ids=[m[:50] for _, m in BAD_EXPERIMENTS]
)
def test_create_experiment__bad_binding__400_and_nothing_stored(
    console: ContractClient, sources: None, body: dict[str, Any], message: str
) -> None:
    refused(console.post(EXPERIMENTS, json=body), message)
    assert console.get(f"{EXPERIMENTS}/checkout").status_code == 404


def test_patch_experiment__unit_type_the_source_does_not_map__400_unchanged(
    console: ContractClient, sources: None
) -> None:
    assert console.post(EXPERIMENTS, json=experiment()).status_code == 201
    refused(
        console.patch(f"{EXPERIMENTS}/checkout", json={"idType": "stableID"}),
        "idType: 'stableID' is not mapped by assignment source 'exposures'",
    )
    assert console.get(f"{EXPERIMENTS}/checkout").json()["data"]["idType"] == "userID"


def test_delete_sources__in_use__400_until_unused(console: ContractClient, sources: None) -> None:
    assert console.post(METRICS, json=whn_metric()).status_code == 201
    assert console.post(EXPERIMENTS, json=experiment()).status_code == 201
    metric_source = f"{METRICS}/metric_source/purchases"
    assignment_source = f"{EXPERIMENTS}/assignment_source/exposures"

    refused(
        console.delete(metric_source),
        "Metric source 'purchases' is used by metrics 'Revenue::user_warehouse'",
    )
    refused(
        console.delete(assignment_source),
        "Assignment source 'exposures' is used by experiments 'checkout'",
    )
    refused(
        console.patch(assignment_source, json={"name": "renamed"}),
        "Assignment source 'exposures' is used by experiments 'checkout'; it cannot be renamed",
    )

    assert console.delete(f"{METRICS}/Revenue::user_warehouse").status_code == 200
    assert console.delete(metric_source).status_code == 200
    assert console.delete(f"{EXPERIMENTS}/checkout").status_code == 200
    assert console.delete(assignment_source).status_code == 200


def test_delete_metric_source__a_ratios_denominator__400_and_listed_on_it(
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
    ratio = ratio_metric(denominatorMetricSourceName="visits")
    assert console.post(METRICS, json=ratio).status_code == 201
    listed = console.get(f"{METRICS}/metric_source/visits/metrics").json()["data"]
    assert [m["name"] for m in listed] == ["Revenue"]
    refused(
        console.delete(f"{METRICS}/metric_source/visits"),
        "Metric source 'visits' is used by metrics 'Revenue::user_warehouse'",
    )
    assert console.delete(f"{METRICS}/Revenue::user_warehouse").status_code == 200
    assert console.delete(f"{METRICS}/metric_source/visits").status_code == 200


def test_start_experiment__analysis_window__stored_and_shown(
    console: ContractClient, sources: None
) -> None:
    assert console.post(EXPERIMENTS, json=experiment(fixedAnalysisDuration=14)).status_code == 201
    started = console.put(
        f"{EXPERIMENTS}/checkout/start",
        json={"analysisStartTime": "2024-10-01", "analysisEndTime": "2024-10-30"},
    )
    assert started.status_code == 200, started.text
    assert started.json() == {"message": "Experiment successfully started."}
    data = console.get(f"{EXPERIMENTS}/checkout").json()["data"]
    assert (data["status"], data["analysisStartTime"], data["analysisEndTime"]) == (
        "active",
        "2024-10-01",
        "2024-10-30",
    )
    assert data["fixedAnalysisDuration"] == 14


BAD_WINDOWS: list[tuple[dict[str, Any], str]] = [
    (
        {"analysisStartTime": "2024/10/01"},
        "analysisStartTime: must be a date YYYY-MM-DD, got '2024/10/01'",
    ),
    (
        {"analysisEndTime": "2024-02-30"},
        "analysisEndTime: is not a calendar date, got '2024-02-30'",
    ),
    ({"analysisStartTime": 20241001}, "analysisStartTime: must be a date YYYY-MM-DD, got 20241001"),
    ({"analysisEndTime": ""}, "analysisEndTime: must be a date YYYY-MM-DD, got ''"),
    (
        {"analysisStartTime": "2024-10-30", "analysisEndTime": "2024-10-01"},
        "analysisEndTime: must be on or after analysisStartTime (2024-10-30), got '2024-10-01'",
    ),
]


@pytest.mark.parametrize(("body", "message"), BAD_WINDOWS, ids=[m[:50] for _, m in BAD_WINDOWS])
def test_start_experiment__bad_analysis_window__400_and_not_started(
    console: ContractClient, sources: None, body: dict[str, Any], message: str
) -> None:
    assert console.post(EXPERIMENTS, json=experiment()).status_code == 201
    refused(console.put(f"{EXPERIMENTS}/checkout/start", json=body), message)
    data = console.get(f"{EXPERIMENTS}/checkout").json()["data"]
    assert data["status"] == "setup"
    assert "analysisStartTime" not in data and "analysisEndTime" not in data


def test_start_experiment__analysis_window_of_an_unbound_experiment__400_and_not_started(
    console: ContractClient, sources: None
) -> None:
    assert console.post(EXPERIMENTS, json={"name": "plain"}).status_code == 201
    refused(
        console.put(f"{EXPERIMENTS}/plain/start", json={"analysisEndTime": "2024-10-30"}),
        "analysisEndTime: applies only to a warehouse-native experiment bound to an "
        "assignment source (assignmentSourceName)",
    )
    assert console.get(f"{EXPERIMENTS}/plain").json()["data"]["status"] == "setup"
    # without a window, it starts as any experiment
    assert console.put(f"{EXPERIMENTS}/plain/start", json={}).status_code == 200


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (1, "input should be greater than 1"),
        (-3, "input should be greater than 1"),
        ("x", "input should be a valid integer"),
        (2.5, "input should be a valid integer, got a number with a fractional part"),
    ],
)
def test_experiment__fixed_analysis_duration_not_above_1__400_unchanged(
    console: ContractClient, sources: None, value: Any, problem: str
) -> None:
    assert console.post(EXPERIMENTS, json=experiment()).status_code == 201
    refused(
        console.patch(f"{EXPERIMENTS}/checkout", json={"fixedAnalysisDuration": value}),
        f"fixedAnalysisDuration: {problem}",
    )
    assert "fixedAnalysisDuration" not in console.get(f"{EXPERIMENTS}/checkout").json()["data"]


def test_experiment__assignment_source_filters__stored_with_the_sources_spelling(
    console: ContractClient, sources: None
) -> None:
    body = experiment(
        assignmentSourceFilters=[
            {"column": "USER_ID", "condition": "not_in", "values": ["bot", 7]},
            {"column": "ts", "condition": "non_null"},
        ]
    )
    created = console.post(EXPERIMENTS, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["data"]["assignmentSourceFilters"] == [
        {"column": "user_id", "condition": "not_in", "values": ["bot", "7"]},
        {"column": "ts", "condition": "non_null"},
    ]
    text_filters = [
        {"column": "GRP", "condition": "contains", "values": ["50%_", "b"]},
        {"column": "grp", "condition": "not_contains", "values": ["_x"]},
        {"column": "experiment", "condition": "starts_with", "values": ["check"]},
        {"column": "experiment", "condition": "ends_with", "values": ["flow"]},
        # a ';' or '--' inside a quoted string is part of the value
        {"condition": "sql_filter", "values": ["grp <> 'a;b--' AND (\"ts\" IS NOT NULL)"]},
    ]
    patched = console.patch(
        f"{EXPERIMENTS}/checkout", json={"assignmentSourceFilters": text_filters}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["assignmentSourceFilters"] == [
        {"column": "grp", "condition": "contains", "values": ["50%_", "b"]},
        *text_filters[1:],
    ]
    cleared = console.patch(f"{EXPERIMENTS}/checkout", json={"assignmentSourceFilters": None})
    assert cleared.status_code == 200, cleared.text
    assert "assignmentSourceFilters" not in cleared.json()["data"]


BAD_FILTERS: list[tuple[Any, str]] = [
    ({"column": "grp"}, "assignmentSourceFilters: must be a list of {column, condition, values}"),
    (
        [{"column": "grp", "condition": "like", "values": ["x"]}],
        "assignmentSourceFilters[0].condition: must be one of 'in', 'not_in'",
    ),
    (
        [{"column": "ts", "condition": "non_null"}, {"column": "grp", "values": ["x"]}],
        "assignmentSourceFilters[1].condition: must be one of 'in', 'not_in'",
    ),
    (
        [{"column": "ts", "condition": "after_exposure"}],
        "assignmentSourceFilters[0].condition: 'after_exposure' compares a metric row with its "
        "unit's first exposure; it does not apply to exposure rows",
    ),
    (
        [{"column": "ts", "condition": "non_null"}, {"column": "grp", "condition": "contains"}],
        "assignmentSourceFilters[1].values: 'contains' needs at least one value",
    ),
    (
        [{"column": "grp", "condition": "starts_with", "values": ["a", " "]}],
        "assignmentSourceFilters[0].values: 'starts_with' takes non-empty values",
    ),
    (
        [{"column": "grp", "condition": "ends_with", "values": "x"}],
        "assignmentSourceFilters[0].values: must be a list of strings",
    ),
    (
        [{"column": "grp", "condition": "not_contains", "values": [True]}],
        "assignmentSourceFilters[0].values[0]: must be a string or a number, not the boolean "
        'true; send "true" to compare with that text',
    ),
    (
        [{"column": "grp", "condition": "in", "values": ["a", False]}],
        "assignmentSourceFilters[0].values[1]: must be a string or a number, not the boolean false",
    ),
    (
        [{"column": "grp", "condition": "in", "values": ["a", None]}],
        "assignmentSourceFilters[0].values: must be a list of strings",
    ),
    (
        [{"column": 7, "condition": "contains", "values": ["x"]}],
        "assignmentSourceFilters[0].column: is required (a column of the assignment source)",
    ),
    (
        [{"condition": "sql_filter", "values": ["ts IS NOT NULL", "grp = 'a'"]}],
        "assignmentSourceFilters[0].values: 'sql_filter' takes exactly one value, got 2",
    ),
    (
        [{"condition": "sql_filter", "values": ["1 = 1; DROP TABLE exposures"]}],
        "assignmentSourceFilters[0].values: must be one SQL condition, without ';'",
    ),
    (
        [{"condition": "sql_filter", "values": ["grp = 'a' -- and the rest"]}],
        "assignmentSourceFilters[0].values: must be one SQL condition, without comments",
    ),
    (
        [{"condition": "sql_filter", "values": ["grp = 'a') OR (1 = 1"]}],
        "assignmentSourceFilters[0].values: closes a parenthesis it did not open",
    ),
    (
        [{"condition": "sql_filter", "values": ["(grp = 'a'"]}],
        "assignmentSourceFilters[0].values: leaves a parenthesis open",
    ),
    (
        [{"condition": "sql_filter", "values": ["grp = 'it's'"]}],
        "assignmentSourceFilters[0].values: leaves a ' quote open",
    ),
    (
        [{"condition": "sql_filter", "column": "nope", "values": ["1 = 1"]}],
        "assignmentSourceFilters[0].column: column 'nope' is not among assignment source",
    ),
    (
        [{"condition": "is_null"}],
        "assignmentSourceFilters[0].column: is required (a column of the assignment source)",
    ),
    (
        [{"column": "ts", "condition": "non_null"}, {"column": "nope", "condition": "is_null"}],
        "assignmentSourceFilters[1].column: column 'nope' is not among assignment source "
        "'exposures''s columns (user_id, ts, experiment, grp)",
    ),
    (
        [{"column": "grp", "condition": "is_null", "values": ["a"]}],
        "assignmentSourceFilters[0].values: 'is_null' takes no values",
    ),
    (
        [{"column": "grp", "condition": "in"}],
        "assignmentSourceFilters[0].values: 'in' needs at least one value",
    ),
    (
        [{"column": "ts", "condition": ">", "values": ["soon"]}],
        "assignmentSourceFilters[0].values: '>' compares numbers, got 'soon'",
    ),
    (
        [{"column": "grp", "condition": "=", "values": ["a", "b"]}],
        "assignmentSourceFilters[0].values: '=' takes exactly one value, got 2",
    ),
]


@pytest.mark.parametrize(("filters", "message"), BAD_FILTERS, ids=[m[:60] for _, m in BAD_FILTERS])
def test_experiment__bad_assignment_source_filters__400_unchanged(
    console: ContractClient, sources: None, filters: Any, message: str
) -> None:
    refused(console.post(EXPERIMENTS, json=experiment(assignmentSourceFilters=filters)), message)
    assert console.get(f"{EXPERIMENTS}/checkout").status_code == 404
    assert console.post(EXPERIMENTS, json=experiment()).status_code == 201
    refused(
        console.patch(f"{EXPERIMENTS}/checkout", json={"assignmentSourceFilters": filters}),
        message,
    )
    assert "assignmentSourceFilters" not in console.get(f"{EXPERIMENTS}/checkout").json()["data"]


def test_experiment__assignment_source_filters_without_a_source__400(
    console: ContractClient, sources: None
) -> None:
    filters = [{"column": "grp", "condition": "is_null"}]
    refused(
        console.post(EXPERIMENTS, json={"name": "plain", "assignmentSourceFilters": filters}),
        "assignmentSourceFilters: applies only with assignmentSourceName",
    )


def _full_update(data: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A full update (``ExperimentFullUpdateDto``) of an experiment as shown, with ``fields``."""
    kept = (
        "description", "idType", "hypothesis", "groups", "allocation", "targetingGateID",
        "bonferroniCorrection", "defaultConfidenceInterval", "status",
    )  # fmt: skip
    return {**{k: data[k] for k in kept}, **fields}


def test_experiment__analysis_end_time_on_create_and_updates__stored_shown_and_cleared(
    console: ContractClient, sources: None
) -> None:
    created = console.post(EXPERIMENTS, json=experiment(analysisEndTime="2024-10-30"))
    assert created.status_code == 201, created.text
    assert created.json()["data"]["analysisEndTime"] == "2024-10-30"
    assert console.get(f"{EXPERIMENTS}/checkout").json()["data"]["analysisEndTime"] == "2024-10-30"
    patched = console.patch(f"{EXPERIMENTS}/checkout", json={"analysisEndTime": "2024-11-02"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["analysisEndTime"] == "2024-11-02"
    # a full update keeps it when omitted and sets it when sent
    data = patched.json()["data"]
    replaced = console.post(f"{EXPERIMENTS}/checkout", json=_full_update(data))
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["data"]["analysisEndTime"] == "2024-11-02"
    body = _full_update(data, analysisEndTime="2024-11-05")
    replaced = console.post(f"{EXPERIMENTS}/checkout", json=body)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["data"]["analysisEndTime"] == "2024-11-05"
    # the start's window is checked against it, and it against the start's
    refused(
        console.put(f"{EXPERIMENTS}/checkout/start", json={"analysisStartTime": "2024-11-06"}),
        "analysisStartTime: must be on or before analysisEndTime (2024-11-05), got '2024-11-06'",
    )
    assert console.get(f"{EXPERIMENTS}/checkout").json()["data"]["status"] == "setup"
    started = console.put(f"{EXPERIMENTS}/checkout/start", json={"analysisStartTime": "2024-11-01"})
    assert started.status_code == 200, started.text
    refused(
        console.patch(f"{EXPERIMENTS}/checkout", json={"analysisEndTime": "2024-10-31"}),
        "analysisEndTime: must be on or after analysisStartTime (2024-11-01), got '2024-10-31'",
    )
    shown = console.get(f"{EXPERIMENTS}/checkout").json()["data"]
    assert (shown["analysisStartTime"], shown["analysisEndTime"]) == ("2024-11-01", "2024-11-05")
    cleared = console.patch(f"{EXPERIMENTS}/checkout", json={"analysisEndTime": None})
    assert cleared.status_code == 200, cleared.text
    assert "analysisEndTime" not in cleared.json()["data"]
    assert cleared.json()["data"]["analysisStartTime"] == "2024-11-01"


def test_experiment__unbound_from_its_source__analysis_window_cleared(
    console: ContractClient, sources: None
) -> None:
    assert console.post(EXPERIMENTS, json=experiment()).status_code == 201
    window = {"analysisStartTime": "2024-10-01", "analysisEndTime": "2024-10-30"}
    assert console.put(f"{EXPERIMENTS}/checkout/start", json=window).status_code == 200
    unbind = {
        "assignmentSourceName": None,
        "assignmentSourceExperimentName": None,
        "isAnalysisOnly": False,
    }
    patched = console.patch(f"{EXPERIMENTS}/checkout", json=unbind)
    assert patched.status_code == 200, patched.text
    for data in (patched.json()["data"], console.get(f"{EXPERIMENTS}/checkout").json()["data"]):
        assert "assignmentSourceName" not in data
        assert "analysisStartTime" not in data and "analysisEndTime" not in data
    # binding it again does not bring the old window back
    rebound = console.patch(f"{EXPERIMENTS}/checkout", json=experiment())
    assert rebound.status_code == 200, rebound.text
    data = console.get(f"{EXPERIMENTS}/checkout").json()["data"]
    assert data["assignmentSourceName"] == "exposures"
    assert "analysisStartTime" not in data and "analysisEndTime" not in data


BAD_END_TIMES: list[tuple[Any, str]] = [
    ("2024/10/30", "analysisEndTime: must be a date YYYY-MM-DD, got '2024/10/30'"),
    ("2024-02-30", "analysisEndTime: is not a calendar date, got '2024-02-30'"),
    ("2024-10-30T00:00:00Z", "analysisEndTime: must be a date YYYY-MM-DD, got '2024-10-30T"),
    (20241030, "analysisEndTime: must be a date YYYY-MM-DD, got 20241030"),
    ("", "analysisEndTime: must be a date YYYY-MM-DD, got ''"),
]


@pytest.mark.parametrize(("value", "message"), BAD_END_TIMES, ids=[m for m, _ in BAD_END_TIMES])
def test_experiment__bad_analysis_end_time__400_unchanged(
    console: ContractClient, sources: None, value: Any, message: str
) -> None:
    refused(console.post(EXPERIMENTS, json=experiment(analysisEndTime=value)), message)
    assert console.get(f"{EXPERIMENTS}/checkout").status_code == 404
    assert (
        console.post(EXPERIMENTS, json=experiment(analysisEndTime="2024-10-30")).status_code == 201
    )
    before = console.get(f"{EXPERIMENTS}/checkout").json()["data"]
    refused(console.patch(f"{EXPERIMENTS}/checkout", json={"analysisEndTime": value}), message)
    body = _full_update(before, analysisEndTime=value, description="changed")
    refused(console.post(f"{EXPERIMENTS}/checkout", json=body), message)
    assert console.get(f"{EXPERIMENTS}/checkout").json()["data"] == before


def test_experiment__analysis_end_time_without_a_source__400(
    console: ContractClient, sources: None
) -> None:
    message = (
        "analysisEndTime: applies only to a warehouse-native experiment bound to an "
        "assignment source (assignmentSourceName)"
    )
    refused(
        console.post(EXPERIMENTS, json={"name": "plain", "analysisEndTime": "2024-10-30"}), message
    )
    assert console.post(EXPERIMENTS, json={"name": "plain"}).status_code == 201
    refused(console.patch(f"{EXPERIMENTS}/plain", json={"analysisEndTime": "2024-10-30"}), message)
    # null removes nothing there, and is accepted
    assert console.patch(f"{EXPERIMENTS}/plain", json={"analysisEndTime": None}).status_code == 200
    assert "analysisEndTime" not in console.get(f"{EXPERIMENTS}/plain").json()["data"]
