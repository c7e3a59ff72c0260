"""The web results-page benchmark (``bench/web_results.py``) at a tiny size: it still seeds,
loads Pulse, renders a scorecard of 20 metrics for 3 test groups (``run`` asserts the row count)
and reports both figures."""

from __future__ import annotations

import pytest

from bench import web_results

# The benchmark builds its own SQLite database, whatever the suite's database is.
pytestmark = pytest.mark.sqlite_only


def test_web_bench__tiny_experiment__page_and_baseline_reported() -> None:
    lines: list[str] = []

    timings = web_results.run(units_per_group=20, rounds=2, echo=lines.append)

    assert timings.api_ms > 0 and timings.page_ms > 0
    assert lines[0].startswith("web results page: 20 metrics, 3 test groups, 3 days, 80 units")
    assert lines[1].startswith("baseline GET pulse_results (one test group):")
    assert lines[2].startswith("GET /ui/experiments/{id}/results:") and "x baseline" in lines[2]
