"""Flow F10: read an experiment's results at a glance. Exposures and events are logged through
``/v1/rgstr`` so that, against control, one metric is clearly up, one clearly down and one flat
in each of three test groups; Pulse runs; the page's exposures, scorecard, settings, views and
metric detail are read back against the Console API. A second experiment, skewed 52/48 over
100,000 units, shows the sample-ratio check failing."""

from __future__ import annotations

import os
import random
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import insert

from lockgate.domains.pulse.worker import pulse_worker
from lockgate.kit.clock import SystemClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.models import Exposure
from tests.web.conftest import Console, Served

# Pages do not depend on the database much: the PostgreSQL suite runs a smoke set of browser
# tests (tests/web/conftest.py), not this module.
pytestmark = pytest.mark.sqlite_only

DAY = 86_400_000
EPOCH = date(1970, 1, 1)
EXPERIMENT = "checkout_redesign"
UNITS_PER_GROUP = 240
SCREENSHOT = Path(__file__).parents[2] / "docs" / "screenshots" / "results.png"


def _text(change: float, half: float) -> str:
    """The scorecard's format, written out independently of the page's code."""
    return f"{change:+.2f}% ±{half:.2f}%"


def _half(text: str | None) -> float:
    """The half-width of a scorecard figure: 3.2 of ``+12.3% ±3.20%``."""
    assert text is not None
    return float(text.split("±")[1].rstrip("%"))


def _database(tmp_path: Path) -> Database:
    """A second handle on the served SQLite file, for what the test does behind the server."""
    return Database(
        Settings(
            data_dir=tmp_path,
            database_url=f"sqlite:///{tmp_path / 'lockgate.db'}",
            run_migrations_on_start=False,
        )
    )


def _run_pulse(served: Served, tmp_path: Path, experiment: str) -> None:
    with served.console() as api:
        queued = api.post(f"/experiments/{experiment}/load_pulse", json={})
        assert queued.status_code == 200, queued.text
    database = _database(tmp_path)
    try:
        assert pulse_worker(database, SystemClock(), stale_ms=600_000).run_pending() == 1
    finally:
        database.dispose()


def _experiment(served: Served, name: str, sizes: list[int], **body: Any) -> dict[str, Any]:
    names = ["Control", "Test A", "Test B", "Test C"]
    with served.console() as api:
        created = api.post(
            "/experiments",
            json={
                "name": name,
                "hypothesis": "The new checkout sells more and fails less.",
                "groups": [
                    {"name": names[i], "size": size, "parameterValues": {"v": i}}
                    for i, size in enumerate(sizes)
                ],
                **body,
            },
        )
        assert created.status_code == 201, created.text
        started = api.put(f"/experiments/{created.json()['data']['id']}/start", json={})
        assert started.status_code == 200, started.text
        return created.json()["data"]  # type: ignore[no-any-return]


def _log(served: Served, events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), 2000):
        response = served.http.post(
            f"{served.url}/v1/rgstr",
            headers={"STATSIG-API-KEY": served.project.server_key},
            json={"events": events[start : start + 2000], "statsigMetadata": {"sdkType": "test"}},
            timeout=60,
        )
        assert response.status_code < 300, response.text


def _seed(served: Served, experiment: dict[str, Any], now: int) -> None:
    """Units exposed over three UTC days (two days ago, yesterday, today). Against control,
    each test group makes one more purchase per unit (up), one error fewer (down) and exactly
    as many visits (flat); purchases before exposure feed CUPED."""
    rng = random.Random(1606)
    events: list[dict[str, Any]] = []
    for g, group in enumerate(experiment["groups"]):
        test = g > 0
        for i in range(UNITS_PER_GROUP):
            user = {"userID": f"{group['name']}-{i}"}
            exposed = now - 60_000 - (i % 3) * DAY
            events.append(
                {
                    "eventName": "statsig::config_exposure",
                    "user": user,
                    "time": exposed,
                    "metadata": {"config": experiment["id"], "ruleID": group["id"]},
                }
            )
            before = rng.randint(0, 3)
            after = before + rng.randint(0, 2) + (1 if test else 0)
            errors = rng.randint(1, 3) - (1 if test else 0)
            visits = i % 4
            counts = [("purchase", -7_200_000, before), ("purchase", 1_000, after)]
            counts += [("checkout_error", 2_000, errors), ("visit", 3_000, visits)]
            for name, offset, count in counts:
                events += [
                    {"eventName": name, "user": user, "time": exposed + offset + k}
                    for k in range(count)
                ]
    _log(served, events)


def _api(served: Served, path: str, **params: str) -> Any:
    with served.console() as api:
        response = api.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()["data"]


def _scorecard(console: Console) -> dict[tuple[str, str], dict[str, str | None]]:
    """Each scorecard row's figures, by (metric id, test group id)."""
    found = {}
    for row in console.page.locator("tr.metric-row").all():
        bar = row.locator("svg.ci")
        found[(row.get_attribute("data-metric") or "", row.get_attribute("data-group") or "")] = {
            "text": row.locator("td.delta").inner_text(),
            "sig": bar.get_attribute("data-sig"),
            "name": bar.get_attribute("aria-label"),
        }
    return found


def _expected(
    served: Served, control: str, tests: list[str], *, cuped: bool, ci: str
) -> dict[tuple[str, str], dict[str, Any]]:
    expected = {}
    for test in tests:
        data = _api(
            served,
            f"/experiments/{EXPERIMENT}/pulse_results",
            control=control,
            test=test,
            cuped="true" if cuped else "false",
            confidence=ci,
        )
        for metric in data["primaryMetrics"] + data["secondaryMetrics"]:
            expected[(metric["metricID"], test)] = metric
    return expected


def _assert_matches(
    shown: dict[tuple[str, str], dict[str, str | None]],
    expected: dict[tuple[str, str], dict[str, Any]],
) -> None:
    assert shown.keys() == expected.keys()
    for key, metric in expected.items():
        change, half = metric["percentChange"], metric["percentConfidenceIntervalDelta"]
        text = _text(change, half)
        sig = "pos" if change - half > 0 else "neg" if change + half < 0 else "none"
        assert shown[key]["text"] == text, key
        assert shown[key]["sig"] == sig, key
        assert text in (shown[key]["name"] or ""), key


def test_f10_results__up_down_flat_metrics__page_agrees_with_the_api(
    console: Console, tmp_path: Path
) -> None:
    served = console.served
    now = int(SystemClock().now_ms())
    experiment = _experiment(
        served,
        EXPERIMENT,
        [25, 25, 25, 25],
        primaryMetrics=[
            {"name": "purchase", "type": "event_count"},
            {"name": "checkout_error", "type": "event_count"},
        ],
        secondaryMetrics=[{"name": "visit", "type": "event_count"}],
    )
    control, *tests = (g["id"] for g in experiment["groups"])
    _seed(served, experiment, now)
    _run_pulse(served, tmp_path, EXPERIMENT)
    loaded_by = int(SystemClock().now_ms())
    page = console.page
    console.sign_in()
    console.go(f"/ui/experiments/{EXPERIMENT}/results")
    expect(page.get_by_role("heading", name="Hypothesis")).to_be_visible()
    expect(page.get_by_role("link", name=f"Experiment {EXPERIMENT}")).to_have_attribute(
        "href", f"/ui/experiments/{EXPERIMENT}"
    )

    # Exposures: the groups sum to the Total row, and equal cumulative_exposures.
    counts = {
        row.get_attribute("data-group"): int(
            row.locator("td").first.get_attribute("data-count") or ""
        )
        for row in page.locator("#exposures tbody tr").all()
    }
    total = int(page.locator("#exposures tfoot td").first.get_attribute("data-count") or "-1")
    assert sum(counts.values()) == total == 4 * UNITS_PER_GROUP
    cumulative = _api(served, f"/experiments/{EXPERIMENT}/cumulative_exposures")
    assert counts == {g["groupID"]: g["results"][-1]["exposures"] for g in cumulative}
    expect(page.locator("#srm")).to_contain_text("Exposures are balanced: PASSED")

    # Scorecard: a row per metric and test group, each equal to pulse_results.
    expected = _expected(served, control, tests, cuped=True, ci="95")
    shown = _scorecard(console)
    assert len(shown) == 3 * 3
    _assert_matches(shown, expected)
    sigs = {metric: shown[(metric, tests[0])]["sig"] for metric, _ in shown}
    assert sigs == {
        "purchase::event_count": "pos",
        "checkout_error::event_count": "neg",
        "visit::event_count": "none",
    }
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )

    # Settings: 99% widens every interval; CUPED off gives the API's cuped=false answer.
    page.get_by_label("Confidence interval").select_option("99")
    expect(page).to_have_url(re.compile(r"[?&]ci=99"))
    console.check()
    wide = _scorecard(console)
    _assert_matches(wide, _expected(served, control, tests, cuped=True, ci="99"))
    for key in expected:
        assert _half(wide[key]["text"]) > _half(shown[key]["text"]), key
    page.get_by_label("CUPED").select_option("0")
    expect(page).to_have_url(re.compile(r"[?&]cuped=0"))
    console.check()
    plain = _scorecard(console)
    _assert_matches(plain, _expected(served, control, tests, cuped=False, ci="99"))
    assert plain[("purchase::event_count", tests[0])] != wide[("purchase::event_count", tests[0])]
    page.reload()
    expect(page.get_by_label("Confidence interval")).to_have_value("99")
    expect(page.get_by_label("CUPED")).to_have_value("0")
    assert _scorecard(console) == plain

    # Views: daily draws a Chart.js chart with a point per day, from the first exposures' day
    # to the day the load ran (today, or tomorrow when the test crossed midnight UTC); days
    # since exposure starts at day 0.
    first_day = (now - 60_000 - 2 * DAY) // DAY
    page.get_by_label("View").select_option("daily")
    expect(page).to_have_url(re.compile(r"[?&]view=daily"))
    console.check()
    canvas = page.locator("canvas#chart-1")
    expect(canvas).to_be_visible()
    points = page.evaluate(
        "() => { const c = Chart.getChart(document.getElementById('chart-1'));"
        " return [c.data.labels, c.data.datasets.map(d => d.data.length)]; }"
    )
    shown_days = [(date.fromisoformat(label) - EPOCH).days for label in points[0]]
    days = len(shown_days)
    assert shown_days == list(range(first_day, first_day + days))
    assert now // DAY <= shown_days[-1] <= loaded_by // DAY
    assert points[1] == [days] * 3
    page.get_by_label("View").select_option("days_since_exposure")
    expect(page).to_have_url(re.compile(r"view=days_since_exposure"))
    console.check()
    chart = page.evaluate(
        "() => { const c = Chart.getChart(document.getElementById('chart-1'));"
        " return [c.data.labels, c.data.datasets.map(d => d.data)]; }"
    )
    assert chart[0] == [f"Day {n}" for n in range(days)]
    # Each point is the API's days-since-exposure answer for that day, one series per test
    # group; chart-1 charts the scorecard's first metric.
    metric_id = page.locator("tr.metric-row").first.get_attribute("data-metric")
    compared = 0
    for k in range(days):
        shown_day = sorted(round(points[k], 9) for points in chart[1] if points[k] is not None)
        answered = []
        for test in tests:
            data = _api(
                served,
                f"/experiments/{EXPERIMENT}/pulse_results",
                control=control,
                test=test,
                cuped="false",
                confidence="99",
                view="days_since_exposure",
                day=str(k),
            )
            for metric in data["primaryMetrics"] + data["secondaryMetrics"]:
                if metric["metricID"] == metric_id and metric.get("percentChange") is not None:
                    answered.append(round(metric["percentChange"], 9))
        assert shown_day == sorted(answered), (k, shown_day, answered)
        compared += len(answered)
    assert compared >= len(tests)  # day 0 at least has every test group's answer

    # Detail: Enter on a focused row opens it, with the API's units and means; Esc closes it
    # and gives focus back to the row.
    page.get_by_label("View").select_option("cumulative")
    expect(page).to_have_url(re.compile(r"view=cumulative"))
    row = page.locator(
        f'tr.metric-row[data-metric="purchase::event_count"][data-group="{tests[1]}"]'
    )
    row.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="purchase (event_count)")
    expect(dialog).to_be_visible()
    console.check()
    metric = _expected(served, control, tests, cuped=False, ci="99")
    raw = {
        r.locator("th").inner_text(): [c.inner_text() for c in r.locator("td").all()]
        for r in dialog.locator("table.raw tbody tr").all()
    }
    first = metric[("purchase::event_count", tests[0])]
    assert raw["Control (Control)"][:2] == [
        f"{first['controlUnits']:,}",
        f"{first['controlMean']:,.4g}",
    ]
    for g, test in zip(experiment["groups"][1:], tests, strict=True):
        found = metric[("purchase::event_count", test)]
        units, mean = found["testUnits"], found["testMean"]
        assert raw[g["name"]] == [f"{units:,}", f"{mean:,.4g}", f"{units * mean:,.4g}"]
    # The daily series is fetched when the dialog first opens: a row per day and test group.
    expect(dialog.locator("table.series tbody tr")).to_have_count(3 * days)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.dataset.group") == tests[1]
    assert page.evaluate("document.activeElement.dataset.metric") == "purchase::event_count"

    if os.environ.get("LOCKGATE_SCREENSHOTS") == "1":
        console.go(f"/ui/experiments/{EXPERIMENT}/results")
        page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_f10_results__skewed_52_48_over_100k_units__srm_fails_with_p_value(
    console: Console, tmp_path: Path
) -> None:
    served = console.served
    experiment = _experiment(served, "skewed_split", [50, 50])
    control, test = (g["id"] for g in experiment["groups"])
    now = int(SystemClock().now_ms())
    database = _database(tmp_path)
    try:
        # 100,000 exposures written straight to the table: logging them through /v1/rgstr
        # would take minutes and test ingestion, which the first flow already does.
        with database.transaction() as session:
            session.execute(
                insert(Exposure),
                [
                    {
                        "project_id": served.project.project.id,
                        "kind": "config",
                        "name": experiment["id"],
                        "rule_id": control if i < 52_000 else test,
                        "user_id": f"u{i}",
                        "time": now - 1000,
                        "received_time": now - 1000,
                    }
                    for i in range(100_000)
                ],
            )
    finally:
        database.dispose()
    console.sign_in()
    console.go(f"/ui/experiments/{experiment['id']}/results")
    srm = console.page.locator("#srm")
    expect(srm).to_contain_text("Exposures are balanced: FAILED")
    expect(srm).to_contain_text("sample ratio p-value")
    assert srm.locator("strong").get_attribute("class") == "status-failed"
    health = _api(served, f"/experiments/{experiment['id']}")["healthChecks"]
    balance = next(c for c in health if c["type"] == "has_balanced_exposures")
    assert balance["status"] == "FAILED"
    # chi-square of 52,000 / 48,000 against 50/50 is 160: p is about 1e-36.
    assert re.search(r"p-value \d\.\d+e-3[5-7]", srm.inner_text())

    # After a decision, the results are marked frozen on the decision's day.
    with served.console() as api:
        decided = api.put(
            f"/experiments/{experiment['id']}/make_decision",
            json={"id": control, "decisionReason": "Skewed; keep control."},
        )
        assert decided.status_code == 200, decided.text
    console.go(f"/ui/experiments/{experiment['id']}/results")
    day = _api(served, f"/experiments/{experiment['id']}")["decisionTime"] // DAY
    frozen = datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y-%m-%d")
    expect(console.page.get_by_role("status")).to_contain_text(f"Results frozen on {frozen}")


def test_results__exposures_over_three_days__chart_draws_the_api_counts(
    console: Console, tmp_path: Path
) -> None:
    # Given units exposed over three UTC days, more of them in the test group each day
    served = console.served
    experiment = _experiment(served, "exposure_curve", [50, 50])
    control, test = (g["id"] for g in experiment["groups"])
    now = int(SystemClock().now_ms())
    database = _database(tmp_path)
    try:
        with database.transaction() as session:
            session.execute(
                insert(Exposure),
                [
                    {
                        "project_id": served.project.project.id,
                        "kind": "config",
                        "name": experiment["id"],
                        "rule_id": group,
                        "user_id": f"{group}-{day}-{i}",
                        "time": now - 1000 - day * DAY,
                        "received_time": now - 1000 - day * DAY,
                    }
                    for day in range(3)
                    for group, count in ((control, 5 + day), (test, 8 - day))
                    for i in range(count)
                ],
            )
    finally:
        database.dispose()

    # When the results page is read in a browser
    console.sign_in()
    console.go(f"/ui/experiments/{experiment['id']}/results")

    # Then the chart is drawn, a line per group and a point per day, each the API's count
    page = console.page
    chart = page.get_by_role("img", name=re.compile(r"^Cumulative exposures per group over 3 days"))
    expect(chart).to_be_visible()
    drawn = page.evaluate(
        "() => { const c = Chart.getChart(document.getElementById('exposures-chart'));"
        " return [c.data.labels, c.data.datasets.map(d => [d.label, d.data])]; }"
    )
    cumulative = _api(served, f"/experiments/{experiment['id']}/cumulative_exposures")
    assert drawn[0] == [r["date"] for r in cumulative[0]["results"]]
    assert dict(drawn[1]) == {
        g["groupName"]: [r["exposures"] for r in g["results"]] for g in cumulative
    }
    assert dict(drawn[1]) == {"Control": [7, 13, 18], "Test A": [6, 13, 21]}
    # The same numbers are in the table below it.
    table = page.get_by_role("table", name="Cumulative exposures per day (UTC)")
    last = table.locator("tbody tr").last
    expect(last.get_by_role("cell")).to_have_text(["18", "21"])
