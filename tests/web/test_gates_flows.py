"""Flows F1 to F6 of the web console: sign in, create a gate with a rule, Test Gate, overrides,
launch and re-enable, history and restore. Each change is read back through the Console API
and, where it decides evaluation, through ``/v1/check_gate``."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import READER_EMAIL, READER_PASSWORD, Console

GATE = "new_checkout"

# The browser tests serve their own SQLite data directory: run once, in the SQLite suite.
pytestmark = pytest.mark.sqlite_only


def _create_gate_with_rule(console: Console) -> int:
    """F2's steps, keyboard and labels only; returns how many user actions they took."""
    page = console.page
    actions = 0
    console.go("/ui/gates")
    page.get_by_text("Create gate").click()
    page.get_by_label("Name", exact=True).fill(GATE)
    page.get_by_role("button", name="Create", exact=True).click()
    actions += 3
    console.check()
    page.get_by_text("Add rule").click()
    page.get_by_label("Criteria").select_option("email")
    page.get_by_role("button", name="Choose criteria").click()
    actions += 3
    console.check()
    page.get_by_label("Rule name").fill("Employees")
    page.get_by_label("Operator").select_option(label="contains any of")
    page.get_by_label("Values (comma separated)").fill("@acme.com")
    page.get_by_label("Pass percentage", exact=True).fill("100")
    page.get_by_role("button", name="Save rule").click()
    actions += 5
    console.check()
    return actions


def _test_gate(page: Page, user: str) -> str:
    page.get_by_label("User (JSON)").fill(user)
    page.get_by_role("button", name="Test", exact=True).click()
    # The answer to this very user, not the previous one still on the page.
    verdict = page.locator("#test-verdict").and_(page.locator(f"[data-user='{user}']"))
    expect(verdict).to_be_visible()
    return verdict.inner_text()


def test_f1_sign_in__wrong_then_right_password__lands_on_home(console: Console) -> None:
    page = console.page
    console.expected_statuses.add(401)
    # Given no session, a console page sends the browser to sign in, remembering where it was.
    page.goto(f"{console.served.url}/ui/gates")
    assert re.search(r"/ui/login\?next=%2Fui%2Fgates$", page.url)
    console.check()
    # When the wrong password is tried, the error is announced and no cookie is set.
    page.get_by_label("Email").fill("owner@acme.com")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")
    assert page.context.cookies() == []
    console.check()
    # Then the right password lands on the page asked for, then home, with the landmarks.
    page.get_by_label("Password").fill(console.served.owner_password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{console.served.url}/ui/gates")
    [cookie] = page.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    console.go("/ui/")
    expect(page.get_by_role("navigation", name="Console")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("owner@acme.com")
    # Sign out ends the session.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{console.served.url}/ui/login")
    assert page.context.cookies() == []


def test_f2_create_gate_and_rule__in_few_actions__api_and_sdk_agree(console: Console) -> None:
    console.sign_in()
    actions = _create_gate_with_rule(console)
    page = console.page
    assert actions <= 12
    expect(page.locator(".sentence")).to_have_text("email contains any of @acme.com → 100% pass")
    console.go("/ui/gates")
    row = page.get_by_role("row").filter(has_text=GATE)
    expect(row).to_contain_text("In Progress")
    with console.served.console() as api:
        gate = api.get(f"/gates/{GATE}").json()["data"]
        versions = api.get(f"/gates/{GATE}/versions").json()["data"]
        audit = api.get("/audit_logs").json()["data"]
    [rule] = gate["rules"]
    assert rule["passPercentage"] == 100
    assert [(c["type"], c["operator"], c["targetValue"]) for c in rule["conditions"]] == [
        ("email", "str_contains_any", ["@acme.com"])
    ]
    assert len(versions) == 2
    mine = [e for e in audit if e["name"] == GATE]
    assert len(mine) == 2 and all(e["modifierEmail"] == "owner@acme.com" for e in mine)
    passing = console.served.check_gate(GATE, {"userID": "a", "email": "a@acme.com"})
    assert passing["value"] is True and passing["rule_id"] == rule["id"]
    assert (
        console.served.check_gate(GATE, {"userID": "b", "email": "b@other.com"})["value"] is False
    )
    console.go("/ui/audit")
    expect(page.get_by_role("main")).to_contain_text(GATE)


def test_f3_test_gate__explains_rule_default_and_override(console: Console) -> None:
    console.sign_in()
    _create_gate_with_rule(console)
    page = console.page
    assert _test_gate(page, '{"userID": "a", "email": "a@acme.com"}') == "PASS — rule Employees"
    assert _test_gate(page, '{"userID": "b", "email": "b@other.com"}') == "FAIL — default"
    page.get_by_text("Manage overrides (0)").click()
    page.get_by_label("Fail list (user IDs, one a line)").fill("u1")
    page.get_by_role("button", name="Save overrides").click()
    console.check()
    user = {"userID": "u1", "email": "u1@acme.com"}
    assert _test_gate(page, '{"userID":"u1","email":"u1@acme.com"}') == "FAIL — ID override"
    assert console.served.check_gate(GATE, user)["value"] is False


def test_f4_overrides__add_and_remove__count_and_api_agree(console: Console) -> None:
    console.sign_in()
    _create_gate_with_rule(console)
    page = console.page
    page.get_by_text("Manage overrides (0)").click()
    page.get_by_label("Fail list (user IDs, one a line)").fill("u1")
    page.get_by_role("button", name="Save overrides").click()
    console.check()
    page.get_by_text("Manage overrides (1)").click()
    page.get_by_label("Pass list (user IDs, one a line)").fill("u2")
    page.get_by_label("Fail list (user IDs, one a line)").fill("")
    page.get_by_role("button", name="Save overrides").click()
    console.check()
    expect(page.get_by_text("Manage overrides (1)")).to_be_visible()
    with console.served.console() as api:
        stored = api.get(f"/gates/{GATE}/overrides").json()["data"]
    assert stored["passingUserIDs"] == ["u2"] and stored["failingUserIDs"] == []


def test_f5_launch_then_reenable__status_api_and_sdk_agree(console: Console) -> None:
    console.sign_in()
    _create_gate_with_rule(console)
    page = console.page
    page.get_by_text("Launch…").click()
    expect(page.get_by_role("main")).to_contain_text("always return true")
    page.get_by_role("button", name="Confirm launch").click()
    console.check()
    expect(page.locator("#status")).to_have_text("Launched")
    with console.served.console() as api:
        assert api.get(f"/gates/{GATE}").json()["data"]["status"] == "Launched"
    assert console.served.check_gate(GATE, {"userID": "x", "email": "x@else.org"})["value"] is True
    page.get_by_role("button", name="Re-enable rules").click()
    console.check()
    expect(page.locator("#status")).to_have_text("In Progress")
    with console.served.console() as api:
        assert api.get(f"/gates/{GATE}").json()["data"]["status"] == "In Progress"
    assert console.served.check_gate(GATE, {"userID": "x", "email": "x@else.org"})["value"] is False


def test_f6_history__split_change_described__restore_brings_rules_back(console: Console) -> None:
    console.sign_in()
    _create_gate_with_rule(console)
    page = console.page
    with console.served.console() as api:
        before = api.get(f"/gates/{GATE}").json()["data"]["rules"]
        versions_before = len(api.get(f"/gates/{GATE}/versions").json()["data"])
    page.get_by_label("Pass percentage of Employees").fill("50")
    page.get_by_role("button", name="Save split").click()
    console.check()
    newest = page.get_by_role("row").nth(1)
    expect(newest).to_contain_text("Rule Employees: pass 100% to 50%")
    page.get_by_role("button", name=f"Restore version {versions_before}").click()
    console.check()
    with console.served.console() as api:
        after = api.get(f"/gates/{GATE}").json()["data"]["rules"]
        versions_after = len(api.get(f"/gates/{GATE}/versions").json()["data"])
    assert [r["passPercentage"] for r in after] == [r["passPercentage"] for r in before] == [100]
    assert versions_after == versions_before + 2


def test_read_only_member__controls_disabled__forged_post_refused(console: Console) -> None:
    console.sign_in()
    _create_gate_with_rule(console)
    page = console.page
    page.get_by_role("button", name="Sign out").click()
    console.sign_in(READER_EMAIL, READER_PASSWORD)
    console.go(f"/ui/gates/{GATE}")
    page.get_by_text("Add rule").click()
    page.get_by_text("Manage overrides (0)").click()
    expect(page.get_by_role("button", name="Save rule")).to_be_disabled()
    expect(page.get_by_role("button", name="Save overrides")).to_be_disabled()
    # A forged post with the reader's own valid CSRF token is refused and changes nothing.
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    response = page.request.post(
        f"{console.served.url}/ui/gates/{GATE}/launch", form={"csrf": csrf or ""}
    )
    assert response.status == 403
    with console.served.console() as api:
        assert api.get(f"/gates/{GATE}").json()["data"]["status"] == "In Progress"
