"""The large-project benchmark (``bench/large.py``) at a tiny size: it still grows a project of
every kind through the Console API and prints each figure at each size with its ratio."""

from __future__ import annotations

import os

from bench import large

TEST_DB = os.environ.get("LOCKGATE_TEST_DB", "sqlite")
PG_URL = os.environ.get(
    "LOCKGATE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def test_large_bench__two_small_sizes__table_with_every_figure_and_ratio() -> None:
    lines: list[str] = []

    large.run([20, 40], engines=TEST_DB, postgres_url=PG_URL, echo=lines.append)

    engine = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[TEST_DB]
    assert f"large project on {engine}: one project grown through the Console API" in lines
    assert ["20", "40", "40/20"] in [line.split() for line in lines]
    entities = next(line for line in lines if line.startswith("entities"))
    # 20 gates, 4 configs, 1 experiment; then 40 gates, the 64 configs made so far (60 of
    # them measured at 20 gates), 1 segment and 2 experiments
    assert entities.split()[1:] == ["25", "107"]
    for name in ("gate create, ms", "gate rule change, ms", "config update, ms", "process RSS"):
        row = next(line for line in lines if line.startswith(name))
        values = [float(v) for v in row[28:].split()]
        assert len(values) == 3 and all(v > 0 for v in values)
    assert lines[-1].startswith("all 40 gates created in ")
