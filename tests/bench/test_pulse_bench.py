"""The Pulse benchmark (``bench/pulse.py``) at a tiny size: it still runs, and every engine it
compares still computes the same per-group sums (``run`` asserts that before printing)."""

from __future__ import annotations

import importlib.util
import os

from bench import pulse

TEST_DB = os.environ.get("LOCKGATE_TEST_DB", "sqlite")
PG_URL = os.environ.get(
    "LOCKGATE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
HAS_DUCKDB = all(importlib.util.find_spec(m) is not None for m in ("duckdb", "pyarrow"))


def test_pulse_bench__two_thousand_units__every_engine_agrees_and_is_reported() -> None:
    lines: list[str] = []
    on_postgresql = TEST_DB == "postgresql"

    results = pulse.run(2_000, postgres_url=PG_URL if on_postgresql else None, echo=lines.append)

    expected = ["SQLite"]
    if HAS_DUCKDB:
        expected.insert(0, "DuckDB")
    if on_postgresql:
        expected.append("PostgreSQL")
    assert [r.engine for r in results] == expected
    first = results[0].group_sums
    assert sum(first.units.values()) == 2_000 - first.crossovers
    assert all(groups["Control"]["sx"] > 0 for groups in first.sums.values())
    assert all(cap is not None and cap > 0 for cap in first.caps.values())
    report = "\n".join(lines)
    assert set(first.capped) == set(first.sums)  # both metrics winsorized, capped sums compared
    assert "same units, crossovers, per-group sums, winsorization caps, tails and capped sums" in (
        report
    )
    if HAS_DUCKDB:
        assert f"within {pulse.TARGET_RATIO:.0f}x of DuckDB" in report
        pipelines = ["WHN DuckDB", pulse.TURBO_ENGINE]
        if on_postgresql:
            pipelines.append("WHN PostgreSQL")
        agreed = next(line for line in lines if "as the hand-written query on:" in line)
        assert agreed.endswith(
            f"on: {', '.join(pipelines)} (rel. tolerance 1e-9; the pipeline stores no tails)"
        )
    days = (pulse.END_MS - 1) // pulse.DAY_MS - pulse.T0 // pulse.DAY_MS + 1  # exposure to end
    for engine in expected[1:] if HAS_DUCKDB else expected:
        assert f"daily views on {engine}: a full reload's {days} days" in report
        incremental = next(line for line in lines if f"incremental on {engine}:" in line)
        assert incremental.count("an incremental load recomputing") == 2
        assert incremental.count("same sums") == 2


def test_pulse_bench__whn_only__the_pipeline_on_duckdb_against_the_query_alone() -> None:
    if not HAS_DUCKDB:  # the bench extras are part of the dev install
        raise AssertionError("DuckDB and pyarrow are needed: pip install -e '.[dev,bench]'")
    lines: list[str] = []

    results = pulse.run(2_000, postgres_url=None, echo=lines.append, whn_only=True)

    assert [r.engine for r in results] == ["DuckDB"]
    report = "\n".join(lines)
    assert "SQLite" not in report and "PostgreSQL pipeline" not in report
    agreed = next(line for line in lines if "as the hand-written query on:" in line)
    assert agreed.endswith(
        "on: WHN DuckDB, WHN DuckDB turbo (rel. tolerance 1e-9; the pipeline stores no tails)"
    )
    # the standard load and the turbo one, each against the target
    for engine in ("WHN DuckDB", pulse.TURBO_ENGINE):
        verdict = next(line for line in lines if line.startswith(f"  {engine} pipeline within"))
        assert f"within {pulse.WAREHOUSE_TARGET_RATIO:.0f}x of the hand-written query" in verdict
        assert ", CPU " in verdict
    # turbo is judged on rounds each run right after the hand-written query
    turbo = next(
        line for line in lines if line.startswith(f"  {pulse.TURBO_ENGINE} pipeline within")
    )
    assert f"over {pulse.PAIRED_ROUNDS} rounds each right after the query" in turbo
    assert "turbo mode" in report
