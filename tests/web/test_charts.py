"""The console's figures against the data behind them, in process on both databases: the checks
and exposures sparklines of the gates and experiments catalogs (one grouped query per page),
an event's value breakdown, and a metric's daily value chart. Everything is logged through the
SDK endpoint ``/v1/rgstr``, as an application would."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event as sqlalchemy_event

from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.db import Database
from tests.contract.client import ContractClient
from tests.metrics.support import DAY0_MS, DAY_MS, event
from tests.web.test_pages import browser_like  # noqa: F401 - a fixture, used by name

Browser = tuple[ContractClient, str]
NOW_MS = 1_780_000_000_000  # the clock fixture: 2026-05-28, 14 days are 05-15 to 05-28
TODAY = DAY0_MS + 1_000
API = {"STATSIG-API-VERSION": "20240601"}


def _rgstr(client: ContractClient, project: Bootstrap, events: list[dict[str, Any]]) -> None:
    response = client.request(
        "POST",
        "/v1/rgstr",
        json={"events": events, "statsigMetadata": {"sdkType": "py-server"}},
        headers={"STATSIG-API-KEY": project.server_key},
    )
    assert response.status_code < 300, response.text
    assert "rejected" not in response.json()


def _exposure(kind: str, entity: str, user: str, time_ms: int, passed: bool) -> dict[str, Any]:
    metadata = (
        {"gate": entity, "gateValue": "true" if passed else "false", "ruleID": "default"}
        if kind == "gate"
        else {"config": entity, "ruleID": "control", "rulePassed": "true"}
    )
    return {
        "eventName": f"statsig::{kind}_exposure",
        "user": {"userID": user},
        "time": time_ms,
        "metadata": metadata,
    }


def _console(client: ContractClient, project: Bootstrap, method: str, url: str, **kw: Any) -> Any:
    headers = {"STATSIG-API-KEY": project.console_key, **API}
    response = client.request(method, f"/console/v1{url}", headers=headers, **kw)
    assert response.status_code < 300, response.text
    return response.json()


def _sparklines(page: str) -> dict[str, list[int]]:
    """Per row's first link text, the daily totals its checks sparkline carries."""
    found = {}
    for row in re.findall(r"<tr>(.*?)</tr>", page, re.S):
        name = re.search(r"<a href=\"[^\"]+\">([^<]+)</a>", row)
        spark = re.search(r'<svg class="spark checks"[^>]*data-days="([\d,]+)"', row)
        if name and spark:
            found[html.unescape(name.group(1))] = [int(n) for n in spark.group(1).split(",")]
    return found


def _spark_label(page: str) -> list[str]:
    return [
        html.unescape(label)
        for label in re.findall(r'<svg class="spark checks"[^>]*aria-label="([^"]+)"', page)
    ]


@pytest.fixture()
def statements(db: Database) -> Iterator[list[str]]:
    """Every SQL statement sent while the test runs."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(str(args[2]))

    sqlalchemy_event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sqlalchemy_event.remove(db.engine, "before_cursor_execute", record)


def _exposure_reads(sent: list[str]) -> list[str]:
    return [s for s in sent if re.search(r"FROM exposures\b(?!_incoming)", s)]


def test_gates_catalog__checks_logged_through_rgstr__sparklines_count_them_in_one_query(
    browser_like: Browser,  # noqa: F811
    project: Bootstrap,
    statements: list[str],
) -> None:
    client, _ = browser_like
    for name in ("checkout", "search", "quiet"):
        _console(client, project, "POST", "/gates", json={"name": name})
    _rgstr(
        client,
        project,
        [
            *[_exposure("gate", "checkout", f"u{i}", TODAY + i, i % 3 != 0) for i in range(5)],
            _exposure("gate", "checkout", "u1", TODAY - 3 * DAY_MS, True),
            _exposure("gate", "checkout", "u1", TODAY - 13 * DAY_MS, False),
            # Fourteen days ago and later than now: outside the fourteen days shown.
            _exposure("gate", "checkout", "u1", TODAY - 14 * DAY_MS, True),
            _exposure("gate", "checkout", "u1", TODAY + DAY_MS, True),
            _exposure("gate", "search", "u2", TODAY - DAY_MS, False),
            # A config of the same name is not a gate check.
            _exposure("config", "search", "u2", TODAY, True),
        ],
    )

    statements.clear()
    page = client.request("GET", "/ui/gates").text

    sparks = _sparklines(page)
    assert sparks["checkout"] == [1, *[0] * 9, 1, 0, 0, 5]
    assert sparks["search"] == [*[0] * 12, 1, 0]
    assert sparks["quiet"] == [0] * 14
    assert sorted(_spark_label(page)) == [
        "Checks over 14 days: 0",
        "Checks over 14 days: 1",
        "Checks over 14 days: 7",
    ]
    assert len(_exposure_reads(statements)) == 1

    gate_page = client.request("GET", "/ui/gates/checkout").text
    assert _spark_label(gate_page) == ["Checks over 14 days: 7"]
    # Passed and failed checks are stacked, oldest day first: 13 days ago one failed, 3 days
    # ago one passed, today 3 passed (u1, u2, u4) under 2 failed, scaled to today's 5.
    passed = re.search(r'data-passed="([\d,]+)"', gate_page)
    assert passed is not None and passed.group(1) == ",".join(["0"] * 10 + ["1", "0", "0", "3"])
    paths = dict(re.findall(r'<path class="(passed|failed)" d="([^"]+)"', gate_page))
    assert paths == {
        "passed": "M80 24h7v-4.4h-7zM104 24h7v-13.2h-7z",
        "failed": "M0 24h7v-4.4h-7zM104 10.8h7v-8.8h-7z",
    }


def test_gates_catalog__full_page__still_one_exposure_query(
    browser_like: Browser,  # noqa: F811
    project: Bootstrap,
    statements: list[str],
) -> None:
    client, _ = browser_like
    for n in range(60):
        _console(client, project, "POST", "/gates", json={"name": f"gate_{n:02d}"})
    _rgstr(
        client, project, [_exposure("gate", f"gate_{n:02d}", "u", TODAY, True) for n in range(60)]
    )

    statements.clear()
    page = client.request("GET", "/ui/gates").text

    assert len(_sparklines(page)) == 50
    assert all(days[-1] == 1 for days in _sparklines(page).values())
    assert len(_exposure_reads(statements)) == 1


def test_experiments_catalog__exposures_logged_through_rgstr__sparkline_counts_them(
    browser_like: Browser,  # noqa: F811
    project: Bootstrap,
    statements: list[str],
) -> None:
    client, _ = browser_like
    for name in ("onboarding", "pricing"):
        _console(client, project, "POST", "/experiments", json={"name": name})
    _rgstr(
        client,
        project,
        [
            *[_exposure("config", "onboarding", f"u{i}", TODAY + i, True) for i in range(4)],
            _exposure("config", "onboarding", "u9", TODAY - 2 * DAY_MS, True),
            # A gate of the same name is not an experiment exposure.
            _exposure("gate", "pricing", "u1", TODAY, True),
        ],
    )

    statements.clear()
    page = client.request("GET", "/ui/experiments").text

    sparks = _sparklines(page)
    assert sparks["onboarding"] == [*[0] * 11, 1, 0, 4]
    assert sparks["pricing"] == [0] * 14
    assert "Exposures over 14 days: 5" in _spark_label(page)
    assert len(_exposure_reads(statements)) == 1


def _breakdown(page: str) -> dict[str, list[tuple[str, int, str]]]:
    """Per breakdown table (``""`` for the value, else the metadata key): its rows."""
    tables = re.findall(r'<table class="breakdown" data-key="([^"]*)">(.*?)</table>', page, re.S)
    return {
        html.unescape(key): [
            (html.unescape(value), int(count), share)
            for value, count, share in re.findall(
                r'<tr><td class="mono">([^<]*)</td><td class="num count">(\d+)</td>'
                r'<td class="num share">([^<]*)</td></tr>',
                body,
            )
        ]
        for key, body in tables
    }


def test_event_page__values_and_metadata_logged__breakdown_counts_and_shares(
    browser_like: Browser,  # noqa: F811
    project: Bootstrap,
) -> None:
    client, _ = browser_like
    plans = ["pro", "pro", "pro", "free", "free", None, "pro", "team"]
    _rgstr(
        client,
        project,
        [
            event(
                "checkout",
                f"u{i}",
                TODAY + i,
                plan,
                {"country": "US" if i % 2 else "CA", **({"coupon": "X"} if i == 0 else {})},
            )
            for i, plan in enumerate(plans)
        ]
        + [event("other", "u1", TODAY, "pro", {"country": "FR"})],
    )

    page = client.request("GET", "/ui/events/checkout").text

    assert _breakdown(page) == {
        "": [
            ("pro", 4, "50.0%"),
            ("free", 2, "25.0%"),
            ("(no value)", 1, "12.5%"),
            ("team", 1, "12.5%"),
        ],
        "country": [("CA", 4, "50.0%"), ("US", 4, "50.0%")],
        "coupon": [("X", 1, "12.5%")],
    }
    assert "among the 8 events" in page


def _value_table(page: str) -> dict[str, dict[str, float]]:
    """Per day of the metric page's value table, per unit row, its value."""
    rows = re.findall(r'<tr data-day="([^"]+)">(.*?)</tr>', page, re.S)
    return {
        day: {
            unit: float(value)
            for unit, value in re.findall(r'data-unit="([^"]+)">([^<]*)</td>', body)
        }
        for day, body in rows
    }


def _chart(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="value-chart-data">(.*?)</script>', page)
    assert found is not None
    data: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return data


@pytest.mark.parametrize(
    ("body", "today", "yesterday"),
    [
        (
            {"name": "Revenue", "type": "sum", "metricEvents": [{"name": "buy", "type": "value"}]},
            {"overall": 17.5, "userID": 17.5},
            {"overall": 4.0, "userID": 4.0},
        ),
        (
            {"name": "Buyers", "type": "event_user", "metricEvents": [{"name": "buy"}]},
            {"userID": 2.0},
            {"userID": 1.0},
        ),
    ],
)
def test_metric_page__events_logged__value_chart_equals_the_daily_values(
    browser_like: Browser,  # noqa: F811
    project: Bootstrap,
    body: dict[str, Any],
    today: dict[str, float],
    yesterday: dict[str, float],
) -> None:
    client, _ = browser_like
    _rgstr(
        client,
        project,
        [
            event("buy", "u1", TODAY, 10),
            event("buy", "u1", TODAY + 1, 2.5),
            event("buy", "u2", TODAY + 2, 5),
            event("buy", "u3", TODAY - DAY_MS, 4),
            event("buy", "u3", TODAY - 20 * DAY_MS, 100),
        ],
    )
    metric = _console(client, project, "POST", "/metrics", json=body)["data"]

    page = client.request("GET", f"/ui/metrics/{metric['id']}").text

    table = _value_table(page)
    assert len(table) == 14
    assert table["2026-05-28"] == today
    assert table["2026-05-27"] == yesterday
    assert all(
        v == 0 for day, values in table.items() if day < "2026-05-27" for v in values.values()
    )
    # Each day is the value GET /console/v1/metrics/values gives for it.
    for day in ("2026-05-27", "2026-05-28", "2026-05-20"):
        direct = _console(
            client, project, "GET", "/metrics", params={"id": metric["id"], "date": day}
        )
        assert {r["unit_type"]: float(r["value"]) for r in direct["data"]} == table[day]
    # The chart draws the table's numbers.
    chart = _chart(page)
    assert chart["data"]["labels"] == list(table)
    assert {d["label"]: d["data"] for d in chart["data"]["datasets"]} == {
        unit: [table[day][unit] for day in table] for unit in today
    }


@pytest.mark.parametrize(
    ("path", "refresh"),
    [
        ("/ui/events", "/ui/events#log-stream-h"),
        ("/ui/events?nonprod=1", "/ui/events?nonprod=1#log-stream-h"),
        ("/ui/events/checkout", "/ui/events/checkout#log-stream-h"),
    ],
)
def test_log_stream__without_scripts__refresh_link_and_pause_left_hidden(
    browser_like: Browser,  # noqa: F811
    path: str,
    refresh: str,
) -> None:
    client, _ = browser_like

    page = client.request("GET", path).text

    link = re.search(r'<a href="([^"]+)">Refresh now</a>', page)
    assert link is not None and link.group(1) == html.escape(refresh)
    pause = re.search(r"<button [^>]*data-pauses=\"log-stream\"[^>]*>Pause</button>", page)
    assert pause is not None
    assert 'aria-pressed="false"' in pause.group(0) and " hidden" in pause.group(0)
