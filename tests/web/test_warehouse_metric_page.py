"""A warehouse-native metric's page in a browser: after a reload loaded its daily values from
the team's warehouse (a DuckDB file), the chart and the table show each loaded day's value,
and a dash on the days not loaded (today, which a reload never loads)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from playwright.sync_api import expect

from tests.web.conftest import Console

pytestmark = pytest.mark.sqlite_only

METRIC = "Revenue::user_warehouse"
NOT_LOADED = "\u2013"  # the table's dash on a day without a loaded value
PER_UNIT_DAY = [("u1", 1, 12.5), ("u2", 1, 7.5), ("u1", 3, 4.0)]  # user, days ago, amount


def test_metric_page__warehouse_native_metric_reloaded__charts_its_loaded_values(
    console: Console,
) -> None:
    served, page = console.served, console.page
    today = dt.datetime.now(dt.UTC).date()
    served.warehouse_files_dir.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(served.warehouse_files_dir / "shop.duckdb")) as team:
        team.execute("CREATE TABLE events (user_id VARCHAR, ts TIMESTAMP, amount DOUBLE)")
        for user, days_ago, amount in PER_UNIT_DAY:
            at = dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(10))
            team.execute("INSERT INTO events VALUES (?, ?, ?)", [user, at, amount])
    with served.console() as api:
        connection = {"duckdb": {"path": "shop.duckdb", "stagingSchema": "lockgate_staging"}}
        assert api.patch("/wh_connections", json=connection).status_code == 200
        source = {
            "name": "purchases",
            "sql": "SELECT * FROM events",
            "timestampColumn": "ts",
            "idTypeMapping": [{"statsigUnitID": "userID", "column": "user_id"}],
        }
        assert api.post("/metrics/metric_source", json=source).status_code == 201
        metric = {
            "name": "Revenue",
            "type": "user_warehouse",
            "warehouseNative": {
                "metricSourceName": "purchases",
                "aggregation": "sum",
                "valueColumn": "amount",
            },
        }
        assert api.post("/metrics", json=metric).status_code == 201
        console.sign_in()
        # Before a reload: nothing loaded, no chart
        console.go(f"/ui/metrics/{METRIC}")
        expect(page.locator("#no-values")).to_have_text(
            "No daily values are loaded for these days yet."
        )
        expect(page.locator("#value-chart")).to_have_count(0)

        assert api.post(f"/metrics/{METRIC}/reload").status_code == 200
    assert served.app.state.pulse_runner.run_pending() == 1

    console.go(f"/ui/metrics/{METRIC}")
    expect(page.locator("#values-help")).to_contain_text("last reload loaded it")
    chart = page.get_by_role("img", name="Revenue: value per day over 14 days", exact=False)
    expect(chart).to_be_visible()
    day = {n: (today - dt.timedelta(days=n)).isoformat() for n in (0, 1, 2, 3)}
    rows = page.locator("#values tbody tr")
    expect(rows).to_have_count(14)
    expected = {day[0]: NOT_LOADED, day[1]: "20", day[2]: "0", day[3]: "4"}
    for label, shown in expected.items():
        cell = page.locator(f'#values tr[data-day="{label}"] td[data-unit="userID"]')
        expect(cell).to_have_text(shown)
    # Chart.js drew the same values, today as a gap
    drawn = page.evaluate(
        "() => Chart.getChart('value-chart').data.datasets.map(d => [d.label, d.data.slice(-4)])"
    )
    assert drawn == [["userID", [4, 0, 20, None]]]
