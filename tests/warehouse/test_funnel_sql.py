"""The SQL of warehouse-native funnel and retention metrics in every warehouse's dialect: every
statement of a load of them parses in that warehouse's own dialect (sqlglot), the compile-only
warehouses included, and their unit-day values' queries, of a full and of an incremental load,
equal their golden files (tests/warehouse/golden/funnels/<warehouse>.sql)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from lockgate.domains.warehouse import pipeline
from lockgate.domains.warehouse.dialects import DIALECTS
from lockgate.domains.warehouse.funnels import Funnel, Retention, Step
from lockgate.domains.warehouse.pipeline import PipelineMetric, PipelinePlan, statements
from lockgate.domains.warehouse.usage import StoredSource
from tests.warehouse.test_pipeline_sql import MAPPING, PURCHASES, RESUME, SQLGLOT_NAMES, plan

pytestmark = pytest.mark.database_free

GOLDEN = Path(__file__).parent / "golden" / "funnels"
VISITS = StoredSource(
    "visits",
    {
        "name": "visits",
        "sql": "SELECT * FROM analytics.visits WHERE ds >= {statsig_start_date}",
        "timestampColumn": "visited_at",
        "idTypeMapping": MAPPING,
    },
    ["user_id", "visited_at", "page"],
)


def event(*names: str) -> list[dict[str, Any]]:
    return [{"type": "metadata", "column": "event", "condition": "in", "values": list(names)}]


VIEW, BUY = Step(PURCHASES, event("view")), Step(PURCHASES, event("purchase", "it's"))
HOME = Step(VISITS, [{"type": "metadata", "column": "page", "condition": "=", "values": ["/"]}])
SHAPES: list[Funnel | Retention] = [
    Funnel([VIEW, HOME, BUY]),
    Funnel([VIEW, BUY], strict=True, window_days=2),
    Funnel([HOME, BUY], exposure_first=True, window_days=3, from_exposure=True),
    Funnel([VIEW, BUY], window_days=4, from_exposure=True),
    Funnel(
        [replace(VIEW, session_column="event"), replace(HOME, session_column="page")],
        strict=True,
        window_days=1,
    ),
    Retention(HOME, HOME, end_days=14, length_days=7),
    Retention(HOME, BUY, end_days=7, length_days=7),
    Funnel([VIEW, HOME, BUY], time_to_convert=True, window_days=2, from_exposure=True),
    Funnel([BUY], exposure_first=True, time_to_convert=True),
    Funnel([VIEW, BUY], strict=True, allowance_ms=1500),
]


def funnel_plan(**changes: object) -> PipelinePlan:
    metrics = [
        PipelineMetric(
            "funnel" if isinstance(shape, Funnel) else "retention",
            PURCHASES,
            None,
            [],
            shape=shape,
        )
        for shape in SHAPES
    ]
    return replace(plan(**changes), metrics=metrics)


@pytest.mark.parametrize("changes", [{}, RESUME], ids=["full", "incremental"])
@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_funnels__every_statement__parses_in_the_warehouses_dialect(
    name: str, changes: dict[str, object]
) -> None:
    literals: set[str] = set()
    found = statements(DIALECTS[name], "lockgate_staging", funnel_plan(**changes))
    for sql in found:
        tree = sqlglot.parse_one(sql, read=SQLGLOT_NAMES.get(name, name))
        literals |= {str(literal.this) for literal in tree.find_all(exp.Literal)}
    assert {"it's", "view", "/"} <= literals
    # the team's SQL of both sources is embedded as is, and each source's freshness is read
    assert any("analytics.visits" in sql for sql in found)
    assert sum("MIN(" in sql and "analytics.visits" in sql for sql in found) >= 2


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_funnels__unit_day_queries__equal_the_golden_file(name: str) -> None:
    """What runs in every team's warehouse: rewritten only on purpose
    (LOCKGATE_WRITE_GOLDEN=1), after reading."""
    queries = []
    for changes in ({}, RESUME):
        # the statement builder itself: the shapes' queries alone, not the whole load's
        sql = pipeline._Sql(DIALECTS[name], "lockgate_staging", funnel_plan(**changes))
        queries += [shape.unit_days(sql) for shape in SHAPES]
    written = ";\n\n".join(queries) + ";\n"
    path = GOLDEN / f"{name}.sql"
    if os.environ.get("LOCKGATE_WRITE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(written)
    assert written == path.read_text()
    for query in queries:
        sqlglot.parse_one(query, read=SQLGLOT_NAMES.get(name, name))


def test_funnels__strict_ordering_and_windows__in_the_sql() -> None:
    sql = pipeline._Sql(DIALECTS["duckdb"], "lockgate_staging", funnel_plan())
    plain, strict, exposed, from_exposure = (shape.unit_days(sql) for shape in SHAPES[:4])
    assert "r.lg_ts >= p.lg_t" in plain and "r.lg_ts > p.lg_t" not in plain
    assert "r.lg_ts > p.lg_t" in strict and "INTERVAL 2 DAY" in strict
    assert "INTERVAL" not in plain
    assert "lg_first_ts AS lg_t" in exposed and "INTERVAL 3 DAY" in exposed
    assert "MIN(r.lg_fts) AS lg_a" in from_exposure
    assert "lg_s" not in plain
    by_session = SHAPES[4].unit_days(sql)
    assert "r.lg_u = p.lg_u AND r.lg_s = p.lg_s" in by_session
    assert 'CAST(m."page" AS VARCHAR) AS lg_s' in by_session
    to_convert = SHAPES[-2].unit_days(sql)
    assert "date_diff('second', lg_st, lg_t) AS lg_nv" in to_convert
    assert "p.lg_st AS lg_st" in to_convert and "lg_st" not in plain
    assert "r.lg_ts > (p.lg_t - INTERVAL 1500 MILLISECOND)" in SHAPES[-1].unit_days(sql)
