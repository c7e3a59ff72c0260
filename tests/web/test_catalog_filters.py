"""The catalogs' filters and sorting, and the audit log's filters, without a browser: each page
lists what the Console API's list answers for the same filters, in the same order (or sorted
as asked); a value outside a closed vocabulary (status, sort, action, date) is refused with a
precise 422, an unknown value of an open one (tag, owner, user, name) matches nothing. In
process, on both databases."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from lockgate.kit.clock import ManualClock
from tests.contract.client import ContractClient
from tests.web.signed import PASSWORD, Signed

API = "/console/v1"
ROW_LINK = re.compile(r'<tr><td><a href="/ui/{kind}/([^"]+)">')


def _ids(page: str, kind: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [html.unescape(i) for i in re.findall(ROW_LINK.pattern.format(kind=kind), body)]


def _api_list(api: ContractClient, path: str, **params: Any) -> list[dict[str, Any]]:
    response = api.get(f"{API}{path}", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


@pytest.fixture()
def gates(admin: Signed, api: ContractClient, clock: ManualClock) -> None:
    """Six gates: four by the Console key (two ID types, two tags), two by the admin in the
    web console; one launched, one disabled, one archived; each modified at its own time."""
    for tag in ("beta", "core"):
        api.post(f"{API}/tags", json={"name": tag, "description": ""})
    for name, id_type, tags in (
        ("delta_gate", "userID", ["beta"]),
        ("alpha_gate", "stableID", ["core"]),
        ("echo_gate", "userID", ["beta", "core"]),
        ("bravo_gate", "stableID", []),
    ):
        body = {"name": name, "idType": id_type, "tags": tags}
        assert api.post(f"{API}/gates", json=body).status_code == 201
        clock.advance(1_000)
    for name in ("charlie_gate", "foxtrot_gate"):
        assert admin.post("/ui/gates", {"name": name}).status_code == 303
        clock.advance(1_000)
    assert api.put(f"{API}/gates/echo_gate/launch").status_code == 200
    clock.advance(1_000)
    assert api.put(f"{API}/gates/alpha_gate/disable").status_code == 200
    clock.advance(1_000)
    archive = api.put(f"{API}/gates/bravo_gate/archive", json={"reason": "done"})
    assert archive.status_code == 200, archive.text


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"idType": "userID"},
        {"tags": "core"},
        {"creatorName": "admin@acme.com"},
        {"idType": "stableID", "tags": "core"},
        {"tags": "nobody_uses_this"},
    ],
)
def test_gates_catalog__filters__list_what_the_console_api_lists(
    gates: None, admin: Signed, api: ContractClient, params: dict[str, str]
) -> None:
    # Given the same filters on the Console API's list
    expected = [g["id"] for g in _api_list(api, "/gates", **params)]
    # When the catalog is asked for them
    page = admin.get("/ui/gates", **params)
    # Then it lists the same gates in the same order
    assert page.status_code == 200
    assert _ids(page.text, "gates") == expected
    if params == {"tags": "nobody_uses_this"}:
        assert expected == [] and "No gates match these filters." in page.text


def test_gates_catalog__owner_of_web_gates__is_the_signed_in_member(
    gates: None, admin: Signed
) -> None:
    page = admin.get("/ui/gates", creatorName="admin@acme.com")
    assert _ids(page.text, "gates") == ["charlie_gate", "foxtrot_gate"]


@pytest.mark.parametrize("status", ["In Progress", "Launched", "Disabled", "Archived"])
def test_gates_catalog__status_chip__lists_the_gates_of_that_status(
    gates: None, admin: Signed, api: ContractClient, status: str
) -> None:
    expected = [g["id"] for g in _api_list(api, "/gates") if g["status"] == status]
    page = admin.get("/ui/gates", status=status)
    assert expected and _ids(page.text, "gates") == expected
    # The active filter shows as a chip that links to the catalog without it.
    assert f'aria-label="Remove filter Status: {status}"' in page.text


@pytest.mark.parametrize(
    ("sort", "key", "descending"),
    [
        ("name", "name", False),
        ("-name", "name", True),
        ("modified", "lastModifiedTime", False),
        ("-modified", "lastModifiedTime", True),
        ("created", "createdTime", False),
    ],
)
def test_gates_catalog__sort__orders_the_console_api_list(
    gates: None, admin: Signed, api: ContractClient, sort: str, key: str, descending: bool
) -> None:
    every = _api_list(api, "/gates")
    expected = [g["id"] for g in sorted(every, key=lambda g: (g[key], g["id"]), reverse=descending)]
    page = admin.get("/ui/gates", sort=sort)
    assert _ids(page.text, "gates") == expected
    # Filtering keeps the order, and the sorted column says so.
    filtered = admin.get("/ui/gates", sort=sort, idType="userID")
    user_ids = {g["id"] for g in _api_list(api, "/gates", idType="userID")}
    assert _ids(filtered.text, "gates") == [i for i in expected if i in user_ids]
    if sort.lstrip("-") in ("name", "modified"):
        direction = "descending" if descending else "ascending"
        assert f'aria-sort="{direction}"' in page.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"status": "Paused"}, "status: 'Paused' is not one of In Progress, Launched"),
        ({"sort": "checks"}, "sort: 'checks' is not one of created, -created, name"),
    ],
)
def test_gates_catalog__value_outside_a_vocabulary__precise_422(
    gates: None, admin: Signed, params: dict[str, str], message: str
) -> None:
    page = admin.get("/ui/gates", **params)
    assert page.status_code == 422
    assert message in html.unescape(page.text)


@pytest.fixture()
def experiments(admin: Signed, api: ContractClient, clock: ManualClock) -> None:
    """Three experiments: two by the Console key (one in a layer, tagged), one by the admin,
    started and run for three days."""
    api.post(f"{API}/tags", json={"name": "growth", "description": ""})
    assert (
        api.post(f"{API}/layers", json={"name": "checkout_layer", "idType": "userID"}).status_code
        == 201
    )
    body = {"name": "layered_exp", "layerID": "checkout_layer", "tags": ["growth"]}
    assert api.post(f"{API}/experiments", json=body).status_code == 201
    assert api.post(f"{API}/experiments", json={"name": "plain_exp"}).status_code == 201
    assert admin.post("/ui/experiments", {"name": "web_exp"}).status_code == 303


@pytest.mark.parametrize(
    "params",
    [
        {"layerID": "checkout_layer"},
        {"tags": "growth"},
        {"creatorName": "admin@acme.com"},
        {"status": "setup"},
        {"status": "active"},
    ],
)
def test_experiments_catalog__filters__list_what_the_console_api_lists(
    experiments: None, admin: Signed, api: ContractClient, params: dict[str, str]
) -> None:
    expected = [e["id"] for e in _api_list(api, "/experiments", **params)]
    page = admin.get("/ui/experiments", **params)
    assert page.status_code == 200
    assert _ids(page.text, "experiments") == expected


def test_experiments_catalog__duration__days_running_against_target(
    experiments: None, admin: Signed, api: ContractClient, clock: ManualClock
) -> None:
    started = api.put(f"{API}/experiments/plain_exp/start")
    assert started.status_code == 200, started.text
    clock.advance(3 * 86_400_000 + 60_000)
    # Three days on, the session has expired: sign in again.
    again = {"email": "admin@acme.com", "password": PASSWORD}
    assert admin.client.request("POST", "/ui/login", data=again).status_code == 303
    page = admin.get("/ui/experiments", status="active").text
    assert '<th scope="col">Duration</th>' in page
    assert "<td>3 of 14 days</td>" in page
    assert "<td>Target 14 days</td>" in admin.get("/ui/experiments", status="setup").text


def test_experiments_catalog__unknown_status__precise_422(experiments: None, admin: Signed) -> None:
    page = admin.get("/ui/experiments", status="running")
    assert page.status_code == 422
    assert "status: 'running' is not one of setup, active" in html.unescape(page.text)


def test_configs_and_segments_catalogs__tag_filter__lists_the_tagged(
    admin: Signed, api: ContractClient
) -> None:
    api.post(f"{API}/tags", json={"name": "promo", "description": ""})
    for name, tags in (("banner", ["promo"]), ("footer", [])):
        assert (
            api.post(f"{API}/dynamic_configs", json={"name": name, "tags": tags}).status_code == 201
        )
        segment = {"name": f"{name}_users", "type": "id_list", "tags": tags}
        assert api.post(f"{API}/segments", json=segment).status_code == 201
    configs = [c["id"] for c in _api_list(api, "/dynamic_configs", tags="promo")]
    assert configs == ["banner"]
    assert _ids(admin.get("/ui/dynamic_configs", tags="promo").text, "dynamic_configs") == configs
    segments = [s["id"] for s in _api_list(api, "/segments") if "promo" in s.get("tags", [])]
    assert segments == ["banner_users"]
    assert _ids(admin.get("/ui/segments", tags="promo").text, "segments") == segments


def _audit_rows(page: str) -> list[tuple[str, str, str]]:
    """(who, action, change) of each row of the audit page."""
    cells = re.findall(
        r"<tr><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", page
    )
    return [(html.unescape(w), a, html.unescape(t)) for w, a, t in cells]


@pytest.mark.parametrize(
    "params",
    [
        {"actionType": "gate_create"},
        {"user": "admin@acme.com"},
        {"user": "admin@acme.com", "actionType": "gate_create"},
        {"entityType": "tag"},
        {"name": "ECHO"},
        {"startDate": "2026-05-28", "endDate": "2026-05-28"},
        {"user": "nobody@acme.com"},
    ],
)
def test_audit_page__filters__list_what_the_console_api_lists(
    gates: None, admin: Signed, api: ContractClient, params: dict[str, str]
) -> None:
    # Given the API's audit log, filtered by what GET /audit_logs takes and, for the web
    # console's own filters, by the fields each entry shows
    api_params = {k: v for k, v in params.items() if k in ("actionType", "startDate", "endDate")}
    entries = _api_list(api, "/audit_logs", **api_params)
    if "user" in params:
        entries = [e for e in entries if params["user"] in (e["updatedBy"], e["modifierEmail"])]
    if "name" in params:
        entries = [e for e in entries if params["name"].lower() in e["name"].lower()]
    if "entityType" in params:
        tags = {t["name"] for t in _api_list(api, "/tags")}
        entries = [e for e in entries if e["name"] in tags]
    expected = [
        (e["updatedBy"], e["actionType"], f"{e['name']}: {e['changeLog']}") for e in entries
    ]
    # When the audit page is asked for the same filters, then it lists the same entries
    page = admin.get("/ui/audit", **params)
    assert page.status_code == 200
    assert _audit_rows(page.text) == expected
    if params == {"user": "nobody@acme.com"}:
        assert "No changes match these filters." in page.text
    else:
        assert expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"actionType": "gate_explode"}, "actionType: unknown action type 'gate_explode'"),
        ({"startDate": "28/05/2026"}, "startDate: expected a date in the form YYYY-MM-DD"),
    ],
)
def test_audit_page__bad_action_or_date__precise_422(
    gates: None, admin: Signed, params: dict[str, str], message: str
) -> None:
    page = admin.get("/ui/audit", **params)
    assert page.status_code == 422
    assert message in html.unescape(page.text)
    assert _audit_rows(page.text) == []
