"""The console's figures in a browser: the log stream's Pause button stops its polls and Resume
starts them again, and the pages with the new figures (catalog sparklines, the gate header, an
event's value breakdown, a metric's value chart) pass axe."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Request, expect

from tests.web.conftest import Console, Served

# Pages do not depend on the database much: the PostgreSQL suite runs a smoke set of browser
# tests (tests/web/conftest.py), not this module.
pytestmark = pytest.mark.sqlite_only

POLL_MS = 5_000
# A poll period and a half: a running stream polls at least once in it.
QUIET_WINDOW_MS = 7_500
BARRIER = "/health"


def _log(served: Served, events: list[dict[str, object]]) -> None:
    response = served.http.post(
        f"{served.url}/v1/rgstr",
        headers={"STATSIG-API-KEY": served.project.server_key},
        json={"events": events, "statsigMetadata": {"sdkType": "test"}},
    )
    assert response.status_code < 300, response.text


def _is_poll(request: Request) -> bool:
    return "/ui/event_stream" in request.url


def test_log_stream__pause_then_resume__polls_stop_then_start_again(console: Console) -> None:
    served, page = console.served, console.page
    now = int(time.time() * 1000)
    _log(served, [{"eventName": "checkout", "user": {"userID": "u1"}, "time": now}])
    # The tab's timers run on a clock the test moves on: a poll period passes at once, not in
    # five seconds of waiting (between moves the clock runs as the real one does).
    page.clock.install()
    console.sign_in()
    console.go("/ui/events")
    pause = page.get_by_role("button", name="Pause")
    expect(pause).to_have_attribute("aria-pressed", "false")

    # The stream polls while running.
    with page.expect_request(_is_poll):
        page.clock.run_for(POLL_MS)

    pause.click()
    expect(pause).to_have_attribute("aria-pressed", "true")
    console.check()
    # Paused: no poll leaves the page in a poll period and a half, and an event logged
    # meanwhile does not appear.
    _log(served, [{"eventName": "checkout", "user": {"userID": "while-paused"}, "time": now}])
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url))
    page.clock.run_for(QUIET_WINDOW_MS)
    # (a request the page sends after the window's timers ran is seen after any they sent)
    with page.expect_request(lambda request: request.url.endswith(BARRIER)):
        page.evaluate(f"fetch({BARRIER!r})")
    assert sent and sent[-1].endswith(BARRIER)
    assert not [url for url in sent if "/ui/event_stream" in url], sent
    expect(page.locator("#log-stream")).not_to_contain_text("while-paused")

    # Resumed: the next poll brings the event logged while paused.
    pause.click()
    expect(pause).to_have_attribute("aria-pressed", "false")
    with page.expect_request(_is_poll):
        page.clock.run_for(POLL_MS)
    expect(page.locator("#log-stream")).to_contain_text("while-paused")


def test_figures__pages_with_sparklines_breakdown_and_value_chart__pass_axe(
    console: Console,
) -> None:
    served, page = console.served, console.page
    now = int(time.time() * 1000)
    with served.console() as api:
        assert api.post("/gates", json={"name": "checkout_gate"}).status_code == 201
        assert api.post("/experiments", json={"name": "checkout_flow"}).status_code == 201
        metric = {
            "name": "revenue",
            "type": "sum",
            "metricEvents": [{"name": "buy", "type": "value"}],
        }
        assert api.post("/metrics", json=metric).status_code == 201
    _log(
        served,
        [
            {
                "eventName": "statsig::gate_exposure",
                "user": {"userID": "u1"},
                "time": now,
                "metadata": {"gate": "checkout_gate", "gateValue": "true", "ruleID": "default"},
            },
            {
                "eventName": "buy",
                "user": {"userID": "u1"},
                "time": now,
                "value": 12,
                "metadata": {"plan": "pro"},
            },
        ],
    )
    console.sign_in()

    console.go("/ui/gates")
    expect(page.get_by_role("img", name="Checks over 14 days: 1")).to_be_visible()
    console.go("/ui/gates/checkout_gate")
    expect(page.get_by_role("img", name="Checks over 14 days: 1")).to_be_visible()
    console.go("/ui/experiments")
    expect(page.get_by_role("img", name="Exposures over 14 days: 0")).to_be_visible()
    console.go("/ui/events/buy")
    expect(page.get_by_role("table", name="Metadata plan")).to_contain_text("100.0%")
    console.go("/ui/metrics/revenue::sum")
    chart = page.get_by_role("img", name="revenue: value per day over 14 days", exact=False)
    expect(chart).to_be_visible()
    # Chart.js drew the table's numbers.
    drawn = page.evaluate(
        "() => Chart.getChart('value-chart').data.datasets.map(d => d.data.at(-1))"
    )
    assert drawn == [12, 12]
