"""The queries of a warehouse-native metric's daily values in every warehouse's dialect: each
parses there (sqlglot) and equals its golden file
(tests/warehouse/golden/metric_values/<warehouse>.sql)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot.errors import ParseError

from lockgate.domains.warehouse.dialects import DIALECTS, UnsupportedInDialect
from lockgate.domains.warehouse.metric_values import Series, daily_select, unsupported
from lockgate.domains.warehouse.usage import StoredSource
from tests.warehouse.test_pipeline_sql import (
    CRITERIA,
    NO_EXACT_PERCENTILE,
    PURCHASES,
    SQLGLOT_NAMES,
)

pytestmark = pytest.mark.database_free

GOLDEN = Path(__file__).parent / "golden" / "metric_values"
VALUE_COLUMN = {"sum": "net", "mean": "amount", "max": "amount", "min": "amount"}
SESSIONS = StoredSource(
    "sessions",
    {
        "name": "sessions",
        "sql": "SELECT * FROM analytics.sessions",
        "timestampColumn": "started_at",
        "idTypeMapping": [{"statsigUnitID": "userID", "column": "uid"}],
    },
    ["uid", "started_at", "page", "platform"],
)
SESSION_CRITERIA = [{"type": "metadata", "column": "platform", "condition": "=", "values": ["ios"]}]
# One definition per shape of query, in the golden files' order.
DEFINITIONS: list[dict[str, Any]] = [
    *(
        {
            "aggregation": aggregation,
            "valueColumn": VALUE_COLUMN.get(aggregation, "country"),
            "criteria": CRITERIA,
        }
        for aggregation in (
            "count",
            "sum",
            "mean",
            "max",
            "min",
            "count_distinct",
            "daily_participation",
        )
    ),
    {
        "aggregation": "ratio",
        "numeratorAggregation": "sum",
        "valueColumn": "net",
        "criteria": CRITERIA,
        "denominatorAggregation": "daily_participation",
        "denominatorMetricSourceName": "sessions",
        "denominatorCriteria": SESSION_CRITERIA,
    },
    {
        "aggregation": "ratio",
        "numeratorAggregation": "count",
        "criteria": CRITERIA[:1],
        "denominatorAggregation": "count_distinct",
        "denominatorMetricSourceName": "sessions",
        "denominatorValueColumn": "page",
        "allowNullRatioDenominator": True,
    },
    {"aggregation": "first_value", "valueColumn": "amount", "criteria": CRITERIA},
    {"aggregation": "latest_value", "valueColumn": "net", "criteria": CRITERIA[:1]},
    {
        "aggregation": "retention",
        "criteria": CRITERIA[:1],
        "retentionEnd": 14,
        "retentionLength": 7,
    },
    {
        "aggregation": "retention",
        "criteria": CRITERIA,
        "retentionEnd": 3,
        "retentionLength": 3,
        "useSecondaryRetentionEvent": True,
        "denominatorMetricSourceName": "sessions",
        "denominatorCriteria": SESSION_CRITERIA,
    },
    {
        "aggregation": "funnel",
        "metricSourceName": "purchases",
        "funnelEvents": [
            {"metricSourceName": "purchases", "criteria": CRITERIA[:1]},
            {"metricSourceName": "sessions", "criteria": SESSION_CRITERIA},
        ],
        "funnelCountDistinct": "users",
        "funnelStrictOrdering": True,
        "funnelCalculationWindow": 7,
        "funnelTimestampAllowanceMs": 500,
    },
    {
        "aggregation": "funnel",
        "metricSourceName": "sessions",
        "funnelEvents": [
            {"metricSourceName": "sessions", "sessionIdentifierField": "page"},
            {
                "metricSourceName": "sessions",
                "criteria": SESSION_CRITERIA,
                "sessionIdentifierField": "page",
            },
        ],
        "funnelCountDistinct": "sessions",
        "funnelTimeToConvert": True,
    },
    {"aggregation": "percentile", "valueColumn": "amount", "percentile": 0.9, "criteria": CRITERIA},
]


def series(definition: dict[str, Any]) -> Series:
    named = {"purchases": PURCHASES, "sessions": SESSIONS}
    other = "denominatorMetricSourceName" in definition
    steps = tuple(named[step["metricSourceName"]] for step in definition.get("funnelEvents", []))
    return Series(definition, PURCHASES, SESSIONS if other else None, steps)


def queries(name: str) -> list[str]:
    """One query per definition over the purchases of ten days with criteria; none of a
    percentile where the warehouse has no exact one."""
    return [
        daily_select(
            DIALECTS[name],
            series(definition),
            "userID",
            dt.date(2026, 11, 1),
            dt.date(2026, 11, 10),
        )
        for definition in DEFINITIONS
        if definition["aggregation"] != "percentile" or name not in NO_EXACT_PERCENTILE
    ]


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_daily_values__every_query__parses_and_equals_the_golden_file(name: str) -> None:
    found = queries(name)
    for sql in found:
        try:
            sqlglot.parse_one(sql, read=SQLGLOT_NAMES.get(name, name))
        except ParseError as exc:
            pytest.fail(f"{name}: {sql}\n{exc}")
    written = ";\n\n".join(found) + ";\n"
    path = GOLDEN / f"{name}.sql"
    if os.environ.get("LOCKGATE_WRITE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(written)
    assert written == path.read_text()


@pytest.mark.parametrize("name", sorted(NO_EXACT_PERCENTILE))
def test_daily_values__percentile_without_exact_percentile__refused(name: str) -> None:
    with pytest.raises(UnsupportedInDialect, match="no exact percentile"):
        daily_select(
            DIALECTS[name],
            series(DEFINITIONS[-1]),
            "userID",
            dt.date(2026, 11, 1),
            dt.date(2026, 11, 10),
        )


@pytest.mark.parametrize(
    ("definition", "reason"),
    [
        ({"aggregation": "composite"}, "'composite' warehouse-native metric are not computed"),
        (
            {"aggregation": "funnel", "funnelUseExposureAsFirstEvent": True},
            "funnelUseExposureAsFirstEvent True starts the funnel at an exposure",
        ),
        (
            {"aggregation": "funnel", "funnelStartCriteria": "exposure"},
            "funnelStartCriteria 'exposure' starts the funnel at an exposure",
        ),
        (
            {
                "aggregation": "funnel",
                "funnelEvents": [
                    {"criteria": [{"condition": "after_exposure", "column": "ts"}]},
                ],
            },
            "criterion 'after_exposure' compares with an exposure",
        ),
        (
            {"aggregation": "sum", "criteria": [{"condition": "after_exposure", "column": "ts"}]},
            "criterion 'after_exposure' compares with an exposure",
        ),
        (
            {
                "aggregation": "ratio",
                "denominatorCriteria": [{"condition": "before_exposure", "column": "ts"}],
            },
            "criterion 'before_exposure' compares with an exposure",
        ),
    ],
)
def test_unsupported__no_daily_values__says_why(definition: dict[str, object], reason: str) -> None:
    assert reason in (unsupported(definition) or "")
    for supported in DEFINITIONS:
        assert unsupported(supported) is None
