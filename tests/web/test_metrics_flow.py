"""Flow F13: events to metric to scorecard. ``checkout`` events logged through ``/v1/rgstr``
are listed with their count and trend, the log stream shows the newest one (production only
unless asked, and refreshing itself), a metric created from the event is the Console API's (an
event count, ``event_count_custom``: ``event_count`` is the automatic metric of every event), an
experiment's metric picker offers it and picking it makes it the primary metric, and archiving
it warns that the experiment uses it."""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from tests.web.conftest import Console, Served

METRIC = "checkout_events::event_count_custom"


def _log(served: Served, events: list[dict[str, object]]) -> None:
    response = served.http.post(
        f"{served.url}/v1/rgstr",
        headers={"STATSIG-API-KEY": served.project.server_key},
        json={"events": events, "statsigMetadata": {"sdkType": "test"}},
    )
    assert response.status_code < 300, response.text


def test_f13_events_to_metric__checkout_events__listed_streamed_measured_and_archived(
    console: Console,
) -> None:
    served, page = console.served, console.page
    now = int(time.time() * 1000)
    production = [
        {"eventName": "checkout", "user": {"userID": f"u{i}"}, "time": now - 60_000 + i}
        for i in range(6)
    ]
    staging = {
        "eventName": "checkout",
        "user": {"userID": "stager", "statsigEnvironment": {"tier": "staging"}},
        "time": now - 30_000,
        "value": "from staging",
    }
    _log(served, [*production, staging])
    console.sign_in()

    # The events table lists checkout with the logged count, as GET /console/v1/events does.
    console.go("/ui/events")
    row = page.locator('#events tr[data-event="checkout"]')
    expect(row.locator("td.count")).to_have_text("7")
    with served.console() as api:
        listed = api.get("/events").json()["data"]
    assert [(e["name"], e["eventCount"]) for e in listed] == [("checkout", 7)]
    expect(row.get_by_role("link", name="Create a metric from checkout")).to_have_attribute(
        "href", "/ui/metrics?event=checkout"
    )
    trend = row.get_by_role("img")
    expect(trend).to_have_attribute("aria-label", re.compile(r"^checkout: 7 events in the last"))

    # The log stream shows the newest production event; the toggle adds the staging one.
    stream = page.locator("#log-stream")
    expect(stream.locator("tbody tr").first).to_contain_text("u5")
    expect(stream).not_to_contain_text("stager")
    page.get_by_label("Show non-production logs").check()
    expect(page).to_have_url(re.compile(r"nonprod=1"))
    console.check()
    expect(stream.locator("tbody tr").first).to_contain_text("stager")
    expect(stream.locator("tbody tr").first).to_contain_text("staging")
    # The stream polls: an event logged now appears without a reload.
    _log(served, [{"eventName": "checkout", "user": {"userID": "late"}, "time": now}])
    expect(stream.locator("tbody tr").first).to_contain_text("late", timeout=15_000)

    # Create a metric from the event: the form comes prefilled with it.
    page.get_by_role("link", name="checkout", exact=True).click()
    console.check()
    expect(page.locator("#event-count")).to_have_text("8")
    page.get_by_role("link", name="Create a metric from this event").click()
    console.check()
    expect(page.get_by_label("Event", exact=True)).to_have_value("checkout")
    page.get_by_label("Metric type").select_option("event_count_custom")
    page.get_by_label("ID type").select_option("userID")
    page.get_by_role("button", name="Create metric").click()
    console.check()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Metric checkout_events (event_count_custom)"
    )
    with served.console() as api:
        stored = api.get(f"/metrics/{METRIC}").json()["data"]
    assert stored["type"] == "event_count_custom" and stored["unitTypes"] == ["userID"]
    assert [e["name"] for e in stored["metricEvents"]] == ["checkout"]

    # The catalog's search finds it.
    console.go("/ui/metrics?q=checkout_ev")
    expect(page.locator("main tbody tr")).to_have_count(1)
    expect(page.get_by_role("link", name="checkout_events")).to_be_visible()

    # An experiment's metric picker offers it, and picking it makes it the primary metric.
    with served.console() as api:
        created = api.post("/experiments", json={"name": "checkout_flow"})
        assert created.status_code == 201, created.text
    console.go("/ui/experiments/checkout_flow")
    picker = page.get_by_label("Add primary metric")
    expect(picker.locator("option", has_text="checkout_events")).to_have_count(1)
    picker.select_option(label="checkout_events (event_count_custom)")
    page.get_by_role("button", name="Add primary", exact=True).click()
    console.check()
    with served.console() as api:
        stored = api.get("/experiments/checkout_flow").json()["data"]
    assert stored["primaryMetrics"] == [{"name": "checkout_events", "type": "event_count_custom"}]

    # The metric's page lists the experiment that scores it.
    console.go("/ui/metrics?q=checkout_ev")
    page.get_by_role("link", name="checkout_events").click()
    console.check()
    expect(page.locator("#using")).to_contain_text("checkout_flow")

    # Archiving warns that the experiment uses it, then schedules the archive.
    page.get_by_text("Archive metric…").click()
    expect(page.locator("#archive-warning")).to_contain_text("used by 1 experiment: checkout_flow")
    console.check()
    page.get_by_role("button", name="Archive", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Archive scheduled for")
    console.check()
    with served.console() as api:
        archived = api.get(f"/metrics/{METRIC}").json()["data"]
    assert archived["scheduledArchiveTime"] > now
