"""The web console without a browser: sign-in redirects, CSRF and origin checks, the catalog at
scale, and the vendored files. In process, on both databases."""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import insert, inspect

from lockgate.domains.gates import overrides
from lockgate.domains.gates import service as gates_service
from lockgate.domains.gates.schemas import GateCreate, OverridesIn
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.users import service as users_service
from lockgate.domains.users.permissions import ADMIN
from lockgate.faces.web.pages import STATIC_DIR
from lockgate.kit.actor import Actor, Change
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.storage.models import Gate
from tests.contract.client import ContractClient

EMAIL = "admin@acme.com"
PASSWORD = "a-long-admin-password"
HTMX_SHA256 = "a0abb04f2f45a1f89d1d4844023245537e5e6014c87b144553e0607b4cc32130"


@pytest.fixture()
def browser_like(
    app: FastAPI, project: Bootstrap, db: Database, clock: ManualClock
) -> Iterator[tuple[ContractClient, str]]:
    with db.transaction() as session:
        change = Change(project.project.id, Actor(id="test", name="test"), clock.now_ms())
        users_service.create(session, change, email=EMAIL, role=ADMIN, password=PASSWORD)
    with ContractClient(app) as client:
        yield client, _signed_in(client)


def _signed_in(client: ContractClient) -> str:
    """Sign in on ``client`` and return the session's CSRF token."""
    response = client.request(
        "POST", "/ui/login", data={"email": EMAIL, "password": PASSWORD, "next": "/ui/gates"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/ui/gates"
    page = client.request("GET", "/ui/gates").text
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def test_pages__no_session__redirect_to_sign_in_with_next(anonymous: ContractClient) -> None:
    response = anonymous.request("GET", "/ui/audit?page=2")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=%2Fui%2Faudit%3Fpage%3D2"
    assert anonymous.request("GET", "/").headers["location"] == "/ui/"


def test_sign_in__next_outside_the_console__lands_home(
    browser_like: tuple[ContractClient, str],
) -> None:
    client, _ = browser_like
    response = client.request(
        "POST", "/ui/login", data={"email": EMAIL, "password": PASSWORD, "next": "//evil.example"}
    )
    assert response.headers["location"] == "/ui/"


def test_sign_in__ten_failures__eleventh_refused_even_with_the_right_password(
    browser_like: tuple[ContractClient, str],
) -> None:
    client, _ = browser_like
    for _ in range(10):
        wrong = {"email": EMAIL, "password": "guess"}
        assert client.request("POST", "/ui/login", data=wrong).status_code == 401
    right = {"email": EMAIL, "password": PASSWORD}
    response = client.request("POST", "/ui/login", data=right)
    assert response.status_code == 429 and "Too many failed sign-ins" in response.text


@pytest.mark.parametrize(
    ("token", "headers"),
    [("", {}), ("forged", {}), (None, {"origin": "http://evil.example"})],
    ids=["missing", "wrong", "cross-origin"],
)
def test_form_post__bad_csrf_or_origin__403_and_nothing_created(
    browser_like: tuple[ContractClient, str], token: str | None, headers: dict[str, str]
) -> None:
    client, csrf = browser_like
    data = {"name": "sneaky", "csrf": csrf if token is None else token}
    response = client.request("POST", "/ui/gates", data=data, headers=headers)
    assert response.status_code == 403
    assert "sneaky" not in client.request("GET", "/ui/gates").text


def _seed_gates(db: Database, project: Bootstrap, clock: ManualClock, count: int) -> None:
    """``count`` gates named gate_0000 and on, inserted at once."""
    with db.transaction() as session:
        change = Change(project.project.id, Actor(id="seed", name="seed"), clock.now_ms())
        template = gates_service.create(session, change, GateCreate(name="gate_0000"))
        columns = {c.key: getattr(template, c.key) for c in inspect(Gate).column_attrs}
        # Copies of one gate's row, inserted at once: creating them through the service would
        # take a minute, and the catalog and the search read only this table.
        session.execute(
            insert(Gate),
            [
                {
                    **columns,
                    "id": f"gate_{n:04d}",
                    "name": f"gate_{n:04d}",
                    "created_time": columns["created_time"] + n,
                    "document": {
                        **columns["document"],
                        "id": f"gate_{n:04d}",
                        "name": f"gate_{n:04d}",
                    },
                }
                for n in range(1, count)
            ],
        )


def test_gates_catalog__1500_gates__search_finds_the_last_on_page_one(
    browser_like: tuple[ContractClient, str], db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    client, _ = browser_like
    _seed_gates(db, project, clock, 1500)
    first = client.request("GET", "/ui/gates").text
    assert first.count('<a href="/ui/gates/gate_') == 50
    assert "Page 1 of 30 (1500 in all)" in first
    found = client.request("GET", "/ui/gates", params={"q": "GATE_1499"}).text
    assert found.count('<a href="/ui/gates/gate_') == 1 and "gate_1499" in found


def test_search__1500_gates__the_first_hits_the_count_and_a_link_to_all(
    browser_like: tuple[ContractClient, str], db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    client, _ = browser_like
    _seed_gates(db, project, clock, 1500)
    page = client.request("GET", "/ui/search", params={"q": "Gate_149"}).text
    links = re.findall(r'<a href="/ui/gates/(gate_\d+)">', page)
    assert links == [f"gate_{n}" for n in range(1490, 1498)]
    assert "Feature gates (10)" in page
    assert 'href="/ui/gates?q=Gate_149"' in page
    fragment = client.request(
        "GET", "/ui/search", params={"q": "gate_1499"}, headers={"HX-Request": "true"}
    ).text
    assert "<html" not in fragment
    assert re.findall(r'<a href="/ui/gates/(gate_\d+)">', fragment) == ["gate_1499"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "x" * 20_000}, "Nothing is named like"),
        ({"q": "100%_"}, "Nothing is named like"),
    ],
    ids=["long", "like-wildcards"],
)
def test_search__hostile_text__bounded_and_taken_literally(
    browser_like: tuple[ContractClient, str], params: dict[str, str], message: str
) -> None:
    client, _ = browser_like
    response = client.request("GET", "/ui/search", params=params)
    assert response.status_code == 200 and message in response.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"id": "u1", "user": "[1]"}, "must be a JSON object"),
        ({"id": "u1", "user": '{"a": '}, "not valid JSON"),
        ({"id": "u1", "user": " " * 9000}, "limited to 8000 characters"),
        ({"id": "u1", "type": "no_such_type"}, "Unknown unit type"),
        ({"id": "u1", "environment": "moon"}, "Unknown environment"),
    ],
    ids=["not-object", "bad-json", "too-long", "unknown-type", "unknown-environment"],
)
def test_user_lookup__bad_input__422_naming_the_problem(
    browser_like: tuple[ContractClient, str], params: dict[str, str], message: str
) -> None:
    client, _ = browser_like
    response = client.request("GET", "/ui/users", params=params)
    assert response.status_code == 422 and message in response.text
    assert 'id="lookup-gates"' not in response.text


def test_user_lookup__custom_unit_and_environment__evaluated_user_carries_them(
    browser_like: tuple[ContractClient, str],
) -> None:
    client, _ = browser_like
    params = {"id": "s-1", "type": "stableID", "environment": "staging", "user": '{"a": 1}'}
    page = client.request("GET", "/ui/users", params=params).text
    match = re.search(r'<code id="evaluated-user">([^<]+)</code>', page)
    assert match is not None
    assert json.loads(html.unescape(match.group(1))) == {
        "a": 1,
        "customIDs": {"stableID": "s-1"},
        "statsigEnvironment": {"tier": "staging"},
    }
    assert "Looked up by stableID." in page


def test_vendored_htmx__committed_file__matches_its_pinned_hash() -> None:
    content = (STATIC_DIR / "vendor" / "htmx-4.0.1.min.js").read_bytes()
    assert hashlib.sha256(content).hexdigest() == HTMX_SHA256


def _why(page: str, gate: str) -> tuple[str, str]:
    """The value and the why of ``gate``'s row in a user lookup page."""
    match = re.search(
        rf'<tr data-name="{gate}">.*?data-value="(\w+)".*?</td><td class="mono"[^>]*>[^<]*</td>'
        r"<td>([^<]*)</td>",
        page,
        re.S,
    )
    assert match is not None, gate
    return match.group(1), html.unescape(match.group(2))


def test_user_lookup__each_way_a_gate_decides__said_in_words(
    browser_like: tuple[ContractClient, str], db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    client, _ = browser_like
    employees = {
        "name": "Employees",
        "passPercentage": 0,
        "conditions": [{"type": "email", "operator": "str_contains_any", "targetValue": ["@a"]}],
    }
    with db.transaction() as session:
        change = Change(project.project.id, Actor(id="seed", name="seed"), clock.now_ms())
        for name in ("by_rule", "by_override", "by_default", "launched", "disabled"):
            body = GateCreate.model_validate({"name": name, "rules": [employees]})
            gates_service.create(session, change, body)
        overrides.change_overrides(
            session,
            change,
            "by_override",
            OverridesIn.model_validate({"passingUserIDs": ["u1"]}),
            "replace",
        )
        gates_service.launch(session, change, "launched")
        gates_service.disable(session, change, "disabled")
    page = client.request("GET", "/ui/users", params={"id": "u1", "user": '{"email": "x@a"}'}).text
    assert _why(page, "by_rule") == ("false", "rule Employees, outside its 0% pass")
    assert _why(page, "by_override") == ("true", "ID override")
    assert _why(page, "launched") == ("true", "launched: rules not evaluated")
    assert _why(page, "disabled") == ("false", "disabled: rules not evaluated")
    other = client.request("GET", "/ui/users", params={"id": "u2"}).text
    assert _why(other, "by_default") == ("false", "default: no rule matched")
