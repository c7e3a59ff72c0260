"""The queries of a warehouse-native metric's daily values in every warehouse's dialect: each
parses there (sqlglot) and equals its golden file
(tests/warehouse/golden/metric_values/<warehouse>.sql)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import sqlglot
from sqlglot.errors import ParseError

from lockgate.domains.warehouse.dialects import DIALECTS
from lockgate.domains.warehouse.metric_values import AGGREGATIONS, daily_select, unsupported
from tests.warehouse.test_pipeline_sql import CRITERIA, PURCHASES, SQLGLOT_NAMES

pytestmark = pytest.mark.database_free

GOLDEN = Path(__file__).parent / "golden" / "metric_values"
VALUE_COLUMN = {"sum": "net", "mean": "amount", "max": "amount", "min": "amount"}


def queries(name: str) -> list[str]:
    """One query per aggregation, over the purchases of ten days with criteria."""
    return [
        daily_select(
            DIALECTS[name],
            PURCHASES,
            {
                "aggregation": aggregation,
                "valueColumn": VALUE_COLUMN.get(aggregation, "country"),
                "criteria": CRITERIA,
            },
            "userID",
            dt.date(2026, 11, 1),
            dt.date(2026, 11, 10),
        )
        for aggregation in AGGREGATIONS
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


@pytest.mark.parametrize(
    ("definition", "reason"),
    [
        ({"aggregation": "percentile"}, "'percentile' warehouse-native metric are not computed"),
        (
            {"aggregation": "sum", "criteria": [{"condition": "after_exposure", "column": "ts"}]},
            "criterion 'after_exposure' compares with an exposure",
        ),
    ],
)
def test_unsupported__no_daily_values__says_why(definition: dict[str, object], reason: str) -> None:
    assert reason in (unsupported(definition) or "")
    assert unsupported({"aggregation": "sum", "criteria": CRITERIA}) is None
