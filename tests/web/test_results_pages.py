"""The results, metrics and events pages without a browser, on both databases: the figures'
arithmetic, refused settings, the page without JavaScript (the metric detail opened by a query
parameter), the events table's trend, CSRF on metric creation, and the vendored Chart.js."""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.users import service as users_service
from lockgate.domains.users.permissions import ADMIN, READ_ONLY
from lockgate.faces.web import figures
from lockgate.faces.web.pages import STATIC_DIR
from lockgate.kit.actor import Actor, Change
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.storage.models import CustomEvent, Exposure
from tests.contract.client import ContractClient

EMAIL = "analyst@acme.com"
PASSWORD = "an-analyst-password"
CHART_SHA256 = "87364cc2b2a76a6684929e7d6b80b18a897794db38400caff1fcf1791c6925d2"
DAY = 86_400_000


@pytest.fixture()
def api(app: FastAPI, project: Bootstrap) -> Iterator[ContractClient]:
    with ContractClient(app, project.console_key) as client:
        yield client


@pytest.fixture()
def web(
    app: FastAPI, project: Bootstrap, db: Database, clock: ManualClock
) -> Iterator[tuple[ContractClient, str]]:
    """A signed-in browser-like client and its CSRF token."""
    with db.transaction() as session:
        change = Change(project.project.id, Actor(id="test", name="test"), clock.now_ms())
        users_service.create(session, change, email=EMAIL, role=ADMIN, password=PASSWORD)
    with ContractClient(app) as client:
        signed = client.request("POST", "/ui/login", data={"email": EMAIL, "password": PASSWORD})
        assert signed.status_code == 303
        match = re.search(r'name="csrf" value="([^"]+)"', client.request("GET", "/ui/").text)
        assert match is not None
        yield client, match.group(1)


@pytest.mark.parametrize(
    ("change", "half", "sig"),
    [(5.0, 4.99, "pos"), (5.0, 5.0, "none"), (-5.0, 5.0, "none"), (-5.0, 4.99, "neg")],
)
def test_significance__interval_touching_zero__not_significant(
    change: float, half: float, sig: str
) -> None:
    assert figures.significance(change, half) == sig


def test_percent_text__signs_and_two_decimals() -> None:
    assert figures.percent_text(12.345, 3.2) == "+12.35% ±3.20%"
    assert figures.percent_text(-0.5, 0.25) == "-0.50% ±0.25%"


def test_bar__shared_axis__zero_inside_and_ends_ordered() -> None:
    axis = figures.axis_for([(10.0, 2.0), (-4.0, 1.0)])
    assert axis.low < -5.0 and axis.high > 12.0
    drawn = figures.bar(axis, 10.0, 2.0, metric="m", group="Test", confidence=95)
    assert drawn.zero < drawn.lower < drawn.point < drawn.upper <= figures.BAR_WIDTH
    assert drawn.sig == "pos" and "+10.00% ±2.00%" in drawn.label
    assert "95% interval +8.00% to +12.00%" in drawn.label


def test_sparkline__scaled_into_the_box_oldest_left() -> None:
    points = [tuple(map(float, p.split(","))) for p in figures.sparkline([0, 5, 10]).split()]
    assert [x for x, _ in points] == [0.0, 56.0, 112.0]
    assert points[0][1] > points[1][1] > points[2][1] >= 0


def test_vendored_chartjs__committed_file__matches_its_pinned_hash() -> None:
    content = (STATIC_DIR / "vendor" / "chart-4.6.1.umd.min.js").read_bytes()
    assert hashlib.sha256(content).hexdigest() == CHART_SHA256


def _experiment_with_results(
    api: ContractClient, app: FastAPI, db: Database, project: Bootstrap, clock: ManualClock
) -> dict[str, Any]:
    created = api.post(
        "/console/v1/experiments",
        json={
            "name": "banner_test",
            "groups": [
                {"name": "Control", "size": 50, "parameterValues": {}},
                {"name": "Test", "size": 50, "parameterValues": {}},
            ],
            "primaryMetrics": [{"name": "buy", "type": "event_count"}],
        },
    )
    assert created.status_code == 201, created.text
    experiment: dict[str, Any] = created.json()["data"]
    assert api.put(f"/console/v1/experiments/{experiment['id']}/start", json={}).is_success
    control, test = (g["id"] for g in experiment["groups"])
    now = clock.now_ms()
    with db.transaction() as session:
        for i in range(200):
            group, exposed = (control if i % 2 else test), now - DAY - i * 1000
            session.add(
                Exposure(
                    project_id=project.project.id,
                    kind="config",
                    name=experiment["id"],
                    rule_id=group,
                    user_id=f"u{i}",
                    time=exposed,
                    received_time=exposed,
                )
            )
            for k in range(i % 3 + (1 if group == test else 0)):
                session.add(
                    CustomEvent(
                        project_id=project.project.id,
                        event_name="buy",
                        user_id=f"u{i}",
                        time=exposed + 10 + k,
                        received_time=exposed + 10 + k,
                    )
                )
    assert api.post(f"/console/v1/experiments/{experiment['id']}/load_pulse", json={}).is_success
    assert app.state.pulse_runner.run_pending() == 1
    return experiment


def test_results_page__without_javascript__figures_and_detail_from_the_api(
    web: tuple[ContractClient, str],
    api: ContractClient,
    app: FastAPI,
    db: Database,
    project: Bootstrap,
    clock: ManualClock,
) -> None:
    client, _ = web
    experiment = _experiment_with_results(api, app, db, project, clock)
    control, test = (g["id"] for g in experiment["groups"])
    page = client.request(
        "GET",
        f"/ui/experiments/{experiment['id']}/results",
        params={"ci": "90", "cuped": "0", "metric": "buy::event_count"},
    )
    assert page.status_code == 200, page.text
    data = api.get(
        f"/console/v1/experiments/{experiment['id']}/pulse_results",
        params={"control": control, "test": test, "confidence": "90", "cuped": "false"},
    ).json()["data"]
    (metric,) = data["primaryMetrics"]
    text = f"{metric['percentChange']:+.2f}% ±{metric['percentConfidenceIntervalDelta']:.2f}%"
    assert f">{text}</td>" in page.text
    assert '<option value="90" selected>' in page.text
    # One test group asked for: the strip says so, and the detail link keeps it.
    one = client.request(
        "GET", f"/ui/experiments/{experiment['id']}/results", params={"test": test}
    ).text
    assert f'<option value="{test}" selected>' in one and f"test={test}" in one
    # The detail dialog is open in the markup: no script needed to read it.
    assert re.search(r'<dialog id="detail-1" aria-labelledby="detail-1-h" open>', page.text)
    assert f'<td class="num">{metric["testUnits"]:,}</td>' in page.text
    # The daily view lists the days with data (two: yesterday's exposures, and today).
    daily = client.request(
        "GET", f"/ui/experiments/{experiment['id']}/results", params={"view": "daily"}
    )
    assert 'data-points="2"' in daily.text
    assert '<script type="application/json" id="chart-1-data">' in daily.text
    # With JavaScript, the cumulative page leaves the series to the dialog, which fetches it.
    plain = client.request("GET", f"/ui/experiments/{experiment['id']}/results").text
    assert 'hx-trigger="lockgate-open once"' in plain and 'table class="compact series' not in plain
    fragment = client.request(
        "GET",
        f"/ui/experiments/{experiment['id']}/results/series",
        params={"metric": "buy::event_count", "ci": "90"},
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.text.count("<tr><td>") == 2


def test_results_page__exposures_over_days__chart_and_table_equal_the_api(
    web: tuple[ContractClient, str],
    api: ContractClient,
    app: FastAPI,
    db: Database,
    project: Bootstrap,
    clock: ManualClock,
) -> None:
    # Given exposures on one day, and three more of the test group two days later
    experiment = _experiment_with_results(api, app, db, project, clock)
    test = experiment["groups"][1]["id"]
    with db.transaction() as session:
        for i in range(3):
            later = clock.now_ms() + DAY + i
            session.add(
                Exposure(
                    project_id=project.project.id,
                    kind="config",
                    name=experiment["id"],
                    rule_id=test,
                    user_id=f"late{i}",
                    time=later,
                    received_time=later,
                )
            )
    client, _ = web

    # When the results page is read
    page = client.request("GET", f"/ui/experiments/{experiment['id']}/results").text

    # Then the chart's points and the table's numbers are the Console API's, day by day
    direct = api.get(f"/console/v1/experiments/{experiment['id']}/cumulative_exposures").json()
    expected = {g["groupName"]: [r["exposures"] for r in g["results"]] for g in direct["data"]}
    dates = [r["date"] for r in direct["data"][0]["results"]]
    assert len(dates) >= 3 and expected["Test"][-1] == expected["Test"][-2] + 3
    found = re.search(
        r'<script type="application/json" id="exposures-chart-data">(.*?)</script>', page
    )
    assert found is not None
    chart = json.loads(html.unescape(found.group(1)))
    assert chart["type"] == "line" and chart["data"]["labels"] == dates
    assert {d["label"]: d["data"] for d in chart["data"]["datasets"]} == expected
    assert f'data-points="{len(dates)}"' in page
    table = re.search(r'<table id="exposures-daily".*?</table>', page, re.S)
    assert table is not None
    rows = re.findall(r'<tr data-day="([^"]+)">(.*?)</tr>', table.group(0))
    assert [day for day, _ in rows] == dates
    for i, (_, body) in enumerate(rows):
        counts = dict(re.findall(r'data-group="([^"]+)" data-count="(\d+)"', body))
        assert {k: int(v) for k, v in counts.items()} == {n: v[i] for n, v in expected.items()}


def test_results_page__no_exposures__no_chart(
    web: tuple[ContractClient, str], api: ContractClient
) -> None:
    created = api.post(
        "/console/v1/experiments",
        json={"name": "quiet", "groups": [{"name": "A", "size": 50}, {"name": "B", "size": 50}]},
    )
    assert created.status_code == 201, created.text
    client, _ = web

    page = client.request("GET", f"/ui/experiments/{created.json()['data']['id']}/results")

    assert page.status_code == 200, page.text
    assert 'id="exposures-chart"' not in page.text and "exposures-daily" not in page.text


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"ci": "97"}, "ci: must be one of 80, 90, 95, 99"),
        ({"view": "weekly"}, "view: must be one of"),
        ({"control": "nope"}, "control: &#x27;nope&#x27; is not a group"),
        ({"cuped": "maybe"}, "cuped: must be"),
    ],
)
def test_results_page__bad_setting__400_page_naming_it(
    web: tuple[ContractClient, str], api: ContractClient, params: dict[str, str], needle: str
) -> None:
    client, _ = web
    created = api.post("/console/v1/experiments", json={"name": "plain"})
    assert created.status_code == 201
    page = client.request("GET", "/ui/experiments/plain/results", params=params)
    assert page.status_code == 400 and needle in page.text


def test_results_page__no_pulse_yet__empty_scorecard_and_waiting_health(
    web: tuple[ContractClient, str], api: ContractClient
) -> None:
    client, _ = web
    assert api.post("/console/v1/experiments", json={"name": "fresh"}).status_code == 201
    page = client.request("GET", "/ui/experiments/fresh/results").text
    assert "No Pulse results yet" in page
    assert 'data-count="0"' in page and "Exposures are balanced: <strong" in page


def test_events_page__logged_events__count_and_trend_per_day(
    web: tuple[ContractClient, str], db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    client, _ = web
    now = clock.now_ms()
    with db.transaction() as session:
        for days_ago, count in ((13, 1), (2, 3), (0, 2)):
            for k in range(count):
                at = now - days_ago * DAY - k
                session.add(
                    CustomEvent(
                        project_id=project.project.id,
                        event_name="signup",
                        user_id=f"u{k}",
                        time=at,
                        received_time=at,
                    )
                )
    page = client.request("GET", "/ui/events").text
    assert 'aria-label="signup: 6 events in the last 14 days, 2 today"' in page
    assert '<td class="num count">6</td>' in page


def test_metric_create__forged_csrf__403_and_nothing_created(
    web: tuple[ContractClient, str], api: ContractClient
) -> None:
    client, _ = web
    form = {"name": "sneaky", "type": "event_count_custom", "event": "buy", "csrf": "forged"}
    assert client.request("POST", "/ui/metrics", data=form).status_code == 403
    assert api.get("/console/v1/metrics/sneaky::event_count_custom").status_code == 404


def test_metric_create__invalid_type__422_with_the_domain_message(
    web: tuple[ContractClient, str],
) -> None:
    client, csrf = web
    form = {"name": "median_buy", "type": "median", "event": "buy", "csrf": csrf}
    page = client.request("POST", "/ui/metrics", data=form)
    assert page.status_code == 422, page.text
    assert "type: must be one of" in page.text, re.findall(r"role=.alert.>[^<]*", page.text)


def test_metric_create__read_only_member__button_disabled_and_post_refused(
    app: FastAPI, api: ContractClient, db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    with db.transaction() as session:
        change = Change(project.project.id, Actor(id="test", name="test"), clock.now_ms())
        users_service.create(
            session, change, email="ro@acme.com", role=READ_ONLY, password="a-reader-password"
        )
    with ContractClient(app) as client:
        signed = client.request(
            "POST", "/ui/login", data={"email": "ro@acme.com", "password": "a-reader-password"}
        )
        assert signed.status_code == 303
        page = client.request("GET", "/ui/metrics").text
        assert 'disabled title="Your role cannot create metrics"' in page
        match = re.search(r'name="csrf" value="([^"]+)"', page)
        assert match is not None
        form = {"name": "ro_metric", "type": "event_count_custom", "event": "buy"}
        refused = client.request("POST", "/ui/metrics", data={**form, "csrf": match.group(1)})
        assert refused.status_code == 403 and "metric_management" in refused.text
    assert api.get("/console/v1/metrics/ro_metric::event_count_custom").status_code == 404


def test_event_stream__non_production_tier__shown_only_when_asked(
    web: tuple[ContractClient, str], db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    client, _ = web
    now = clock.now_ms()
    with db.transaction() as session:
        for n, tier in enumerate([None, "production", "staging", "development"]):
            user: dict[str, Any] = {"userID": f"user_{n}"}
            if tier is not None:
                user["statsigEnvironment"] = {"tier": tier}
            session.add(
                CustomEvent(
                    project_id=project.project.id,
                    event_name="view",
                    user_id=f"user_{n}",
                    user=user,
                    time=now - 1000 + n,
                    received_time=now,
                )
            )
    production = client.request("GET", "/ui/event_stream").text
    assert re.findall(r"user_\d", production) == ["user_1", "user_0"]
    everything = client.request("GET", "/ui/event_stream", params={"nonprod": "1"}).text
    assert re.findall(r"user_\d", everything) == ["user_3", "user_2", "user_1", "user_0"]
    named = client.request("GET", "/ui/event_stream", params={"name": "other"}).text
    assert "No events logged yet." in named
