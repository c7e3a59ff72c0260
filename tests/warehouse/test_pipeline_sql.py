"""The warehouse-native pipeline's statements for one experiment in every warehouse's dialect,
of a full and of an incremental load within an analysis window: each parses in that
warehouse's own SQL dialect (sqlglot), the compile-only warehouses included, and the
incremental load's equal its golden file (tests/warehouse/golden/pipeline/<warehouse>.sql)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from lockgate.domains.warehouse.dialects import DIALECTS, UnsupportedInDialect
from lockgate.domains.warehouse.pipeline import (
    Bounds,
    PipelineComponent,
    PipelineMetric,
    PipelinePlan,
    statements,
)
from lockgate.domains.warehouse.usage import StoredSource
from lockgate.errors import InvalidInput

pytestmark = pytest.mark.database_free

SQLGLOT_NAMES = {"postgresql": "postgres"}
GOLDEN = Path(__file__).parent / "golden" / "pipeline"
MAPPING = [{"statsigUnitID": "userID", "column": "user_id"}]
ASSIGNMENTS = StoredSource(
    "exposures",
    {
        "name": "exposures",
        "sql": "SELECT * FROM analytics.exposures WHERE ds >= {statsig_start_date}",
        "timestampColumn": "ts",
        "experimentIDColumn": "experiment",
        "groupIDColumn": "grp",
        "idTypeMapping": MAPPING,
    },
    ["user_id", "ts", "experiment", "grp", "ds"],
)
PURCHASES = StoredSource(
    "purchases",
    {
        "name": "purchases",
        "sql": "SELECT * FROM analytics.events",
        "timestampColumn": "ts",
        "idTypeMapping": MAPPING,
        "customFieldMapping": [{"key": "net", "formula": "amount - refund"}],
    },
    ["user_id", "ts", "event", "amount", "refund", "is_test", "country", "net", "refunded_at"],
)
CRITERIA: list[dict[str, Any]] = [
    {"type": "metadata", "column": "event", "condition": "in", "values": ["purchase", "it's"]},
    {"type": "metadata", "column": "country", "condition": "not_in", "values": ["XX"]},
    {"type": "metadata", "column": "amount", "condition": ">=", "values": ["0.5"]},
    {"type": "metadata", "column": "refund", "condition": "is_null"},
    {"type": "metadata", "column": "is_test", "condition": "is_false"},
]
# The conditions read as substrings, the team's own SQL, and a second timestamp column.
MORE_CRITERIA: list[dict[str, Any]] = [
    {"type": "metadata", "column": "event", "condition": "contains", "values": ["chase", "50%_"]},
    {"type": "metadata", "column": "country", "condition": "not_contains", "values": ["X"]},
    {"type": "metadata", "column": "event", "condition": "starts_with", "values": ["pur"]},
    {"type": "metadata", "column": "event", "condition": "ends_with", "values": ["ase"]},
    {"type": "metadata", "condition": "sql_filter", "values": ["amount - refund > 0"]},
    {"type": "metadata", "column": "refunded_at", "condition": "after_exposure"},
    {"type": "metadata", "column": "ts", "condition": "before_exposure"},
]


# Every condition of assignmentSourceFilters, with a quote and LIKE's wildcards in values.
EXPOSURE_FILTERS: list[dict[str, Any]] = [
    {"column": "ds", "condition": ">=", "values": ["20261101"]},
    {"column": "grp", "condition": "not_in", "values": ["it's"]},
    {"column": "grp", "condition": "contains", "values": ["10%_off", "o'k"]},
    {"column": "grp", "condition": "not_contains", "values": ["_test"]},
    {"column": "experiment", "condition": "starts_with", "values": ["check%"]},
    {"column": "experiment", "condition": "ends_with", "values": ["_flow"]},
    {"condition": "sql_filter", "values": ["ds <> '20261105' AND (user_id IS NOT NULL)"]},
]


def plan(**changes: object) -> PipelinePlan:
    fields: dict[str, object] = {
        "key": PipelinePlan.key_of("project", "checkout"),
        "source": ASSIGNMENTS,
        "experiment_value": "checkout_flow",
        "unit_type": "userID",
        "groups": ["Control", "Test"],
        "end": dt.datetime(2026, 11, 11, 6, 30),
        "metrics": [
            PipelineMetric(
                "sum", PURCHASES, "net", CRITERIA, winsorize_high=0.999, winsorize_low=0.001
            ),
            PipelineMetric("count", PURCHASES, None, [], cap=5.0),
            PipelineMetric("mean", PURCHASES, "amount", CRITERIA[:1], winsorize_high=0.99),
            PipelineMetric(
                "ratio",
                PURCHASES,
                "amount",
                CRITERIA[:1],
                numerator_aggregation="sum",
                denominator=PipelineComponent(
                    "daily_participation", PURCHASES, None, [], rollup="daily"
                ),
                denominator_bounds=Bounds(high=0.99),
            ),
            PipelineMetric("count_distinct", PURCHASES, "country", MORE_CRITERIA),
            PipelineMetric("daily_participation", PURCHASES, None, [], rollup="max"),
            PipelineMetric("first_value", PURCHASES, "amount", []),
            PipelineMetric("latest_value", PURCHASES, "amount", []),
            PipelineMetric("max", PURCHASES, "amount", []),
            PipelineMetric("min", PURCHASES, "amount", []),
            PipelineMetric("percentile", PURCHASES, "amount", CRITERIA[:1], percentile=0.9),
        ],
        "start_day": dt.date(2026, 11, 1),
        "start": dt.datetime(2026, 11, 1),
        "exposure_filters": EXPOSURE_FILTERS,
    }
    fields.update(changes)
    return PipelinePlan(**fields)  # type: ignore[arg-type]


# Warehouses without an exact percentile aggregate: winsorized metrics are refused there.
NO_EXACT_PERCENTILE = {"bigquery", "trino"}


# An incremental load: unit-day values from this day on, earlier ones kept.
RESUME = {"resume_day": dt.date(2026, 11, 9)}


# The metrics of the views' ways of computing (docs/warehouse.md §Pipeline): with a daily
# rate (every day paired with every unit), without one (each unit's change points, its values
# over its unit-day rows up to each), with sums, largest and smallest values only (each unit's
# change points, its values by window functions over its unit-day rows), and with counts and
# sums only (the rolling views summed over pairs of each unit's rows).
VIEWS: dict[str, Callable[[PipelineMetric], bool]] = {
    "": lambda metric: True,
    "-change-points": lambda metric: "rate" not in (metric.combined("x"), metric.combined("y")),
    "-windows": lambda metric: (
        {metric.combined("x"), metric.combined("y")} <= {"sum", "max", "min"}
    ),
    "-sums": lambda metric: not metric.ratio and metric.combined("x") == "sum",
}


def plan_for(name: str, views: str = "", **changes: object) -> PipelinePlan:
    metrics = [m for m in plan().metrics if not m.unit_level or VIEWS[views](m)]
    if name in NO_EXACT_PERCENTILE:
        metrics = [
            replace(m, winsorize_high=None, winsorize_low=None, denominator_bounds=Bounds())
            for m in metrics
            if m.unit_level  # a percentile metric needs an exact percentile too
        ]
    return plan(metrics=metrics, **changes)


@pytest.mark.parametrize("name", sorted(NO_EXACT_PERCENTILE))
def test_pipeline__winsorized_metric_without_exact_percentile__refused(name: str) -> None:
    with pytest.raises(UnsupportedInDialect, match="no exact percentile"):
        statements(DIALECTS[name], "lockgate_staging", plan())


@pytest.mark.parametrize("views", sorted(VIEWS))
@pytest.mark.parametrize("changes", [{}, RESUME], ids=["full", "incremental"])
@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_pipeline__every_statement__parses_in_the_warehouses_dialect(
    name: str, changes: dict[str, object], views: str
) -> None:
    literals: set[str] = set()
    for sql in statements(DIALECTS[name], "lockgate_staging", plan_for(name, views, **changes)):
        try:
            tree = sqlglot.parse_one(sql, read=SQLGLOT_NAMES.get(name, name))
        except ParseError as exc:
            pytest.fail(f"{name}: {sql}\n{exc}")
        literals |= {str(literal.this) for literal in tree.find_all(exp.Literal)}
    # a quote inside a value is escaped the warehouse's way: the warehouse reads the value
    # (the count distinct's criteria, with "50%_", are not among the windows' or sums' metrics)
    assert {"it's", "o'k", "10%_off", "check%", "_flow", "checkout_flow", "Control"} <= literals
    assert ("50%_" in literals) == (views not in ("-windows", "-sums"))


@pytest.mark.parametrize("views", sorted(VIEWS))
@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_pipeline__every_statement__equals_the_golden_file(name: str, views: str) -> None:
    """What runs in every team's warehouse: the golden files are rewritten only on purpose
    (LOCKGATE_WRITE_GOLDEN=1), after reading."""
    found = statements(DIALECTS[name], "lockgate_staging", plan_for(name, views, **RESUME))
    written = ";\n\n".join(found) + ";\n"
    path = GOLDEN / f"{name}{views}.sql"
    if os.environ.get("LOCKGATE_WRITE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(written)
    assert written == path.read_text()


def restating_plan(name: str) -> PipelinePlan:
    """A metric load's plan: the sum and the count distinct of ``plan_for`` alone, over the
    last load's analysis window."""
    full = plan_for(name, "", **RESUME)
    named = [m for m in full.metrics if m.aggregation in ("sum", "count_distinct")]
    return full.restating(named, end=dt.datetime(2026, 11, 10, 18))


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_pipeline__metric_load__restates_its_metrics_from_scratch_in_tables_of_its_own(
    name: str,
) -> None:
    """The statements of a metric load parse in the warehouse's dialect, equal their golden
    file (tests/warehouse/golden/pipeline/<warehouse>-metric.sql), name none of the
    experiment's staging tables, and keep no unit-day value of an earlier load."""
    full = plan_for(name, "", **RESUME)
    restating = restating_plan(name)
    found = statements(DIALECTS[name], "lockgate_staging", restating)
    for sql in found:
        try:
            sqlglot.parse_one(sql, read=SQLGLOT_NAMES.get(name, name))
        except ParseError as exc:
            pytest.fail(f"{name}: {sql}\n{exc}")
        assert full.key not in sql
    assert restating.key != full.key and restating.resume_day is None
    assert [m.aggregation for m in restating.metrics] == ["sum", "count_distinct"]
    assert not any(f"lg_uk_{restating.key}" in sql for sql in found)  # nothing kept
    written = ";\n\n".join(found) + ";\n"
    path = GOLDEN / f"{name}-metric.sql"
    if os.environ.get("LOCKGATE_WRITE_GOLDEN") == "1":
        path.write_text(written)
    assert written == path.read_text()


def test_pipeline__column_no_longer_answered__refused_naming_it() -> None:
    stale = StoredSource(PURCHASES.name, PURCHASES.document, ["user_id", "ts", "event"])
    metric = PipelineMetric("sum", stale, "amount", [])
    with pytest.raises(InvalidInput, match="'amount' is no longer among the columns"):
        statements(DIALECTS["duckdb"], "lockgate_staging", plan(metrics=[metric]))


def test_pipeline__unit_type_not_mapped__refused() -> None:
    with pytest.raises(InvalidInput, match="does not map unit type 'stableID'"):
        statements(DIALECTS["duckdb"], "lockgate_staging", plan(unit_type="stableID"))
