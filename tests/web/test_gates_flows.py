"""Flows F1 to F6 of the web console: sign in, create a gate with a rule, Test Gate, overrides,
launch and re-enable, history with preview and restore, and the gate page without scripts.
Each change is read back through the Console API and, where it decides evaluation, through
``/v1/check_gate``."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.conftest import (
    OWNER_EMAIL,
    READER_EMAIL,
    READER_PASSWORD,
    Console,
    Served,
    save_screenshot,
)

GATE = "new_checkout"

# Pages do not depend on the database much: F1 and F2 run in both suites, the other flows in
# the SQLite suite alone.


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


@pytest.mark.sqlite_only
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


def _version_count(console: Console) -> int:
    with console.served.console() as api:
        answer = api.get(f"/gates/{GATE}/versions").json()
    total: int = answer["pagination"]["totalItems"]
    return total


@pytest.mark.sqlite_only
def test_f4_overrides__dialog_adds_and_removes__count_focus_and_api_agree(
    console: Console,
) -> None:
    console.sign_in()
    _create_gate_with_rule(console)
    page = console.page
    dialog = page.get_by_role("dialog", name=f"Overrides of {GATE}")
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Manage overrides (0)").click()
    expect(dialog).to_be_visible()
    console.check()
    dialog.get_by_label("Fail list (user IDs, one a line)").fill("u1")
    dialog.get_by_role("button", name="Save overrides").click()
    console.check()
    opener = page.get_by_role("button", name="Manage overrides (1)")
    # Closing the dialog, by its button or by Escape, gives focus back to what opened it.
    opener.click()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    opener.click()
    dialog.get_by_label("Pass list (user IDs, one a line)").fill("u2")
    dialog.get_by_label("Fail list (user IDs, one a line)").fill("")
    dialog.get_by_role("button", name="Save overrides").click()
    console.check()
    expect(page.get_by_role("button", name="Manage overrides (1)")).to_be_visible()
    with console.served.console() as api:
        stored = api.get(f"/gates/{GATE}/overrides").json()["data"]
    assert stored["passingUserIDs"] == ["u2"] and stored["failingUserIDs"] == []
    assert console.served.check_gate(GATE, {"userID": "u2", "email": "u2@x.org"})["value"] is True


@pytest.mark.sqlite_only
def test_f5_launch_then_reenable__dialog_cancel_status_api_and_sdk_agree(
    console: Console,
) -> None:
    console.sign_in()
    _create_gate_with_rule(console)
    page = console.page
    versions = _version_count(console)
    opener = page.get_by_role("button", name="Launch…")
    dialog = page.get_by_role("dialog", name=f"Launch {GATE}?")
    # Cancel: the dialog said what launching does, and nothing changed.
    opener.click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("always returns true")
    console.check()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    expect(page.locator("#status")).to_have_text("In Progress")
    assert _version_count(console) == versions
    with console.served.console() as api:
        assert api.get(f"/gates/{GATE}").json()["data"]["status"] == "In Progress"
    # Confirm: launched for everyone.
    opener.click()
    dialog.get_by_role("button", name="Confirm launch").click()
    console.check()
    expect(page.locator("#status")).to_have_text("Launched")
    assert _version_count(console) == versions + 1
    with console.served.console() as api:
        assert api.get(f"/gates/{GATE}").json()["data"]["status"] == "Launched"
    assert console.served.check_gate(GATE, {"userID": "x", "email": "x@else.org"})["value"] is True
    page.get_by_role("button", name="Re-enable rules").click()
    console.check()
    expect(page.locator("#status")).to_have_text("In Progress")
    with console.served.console() as api:
        assert api.get(f"/gates/{GATE}").json()["data"]["status"] == "In Progress"
    assert console.served.check_gate(GATE, {"userID": "x", "email": "x@else.org"})["value"] is False
    save_screenshot(page, "gate.png")
    page.get_by_text("Add rule").click()
    page.get_by_label("Criteria").select_option("country")
    page.get_by_role("button", name="Choose criteria").click()
    save_screenshot(page, "rules-editor.png", page.get_by_role("region", name="Rules"))


@pytest.mark.sqlite_only
def test_f6_history__split_change_described_and_previewed__restore_brings_rules_back(
    console: Console,
) -> None:
    console.sign_in()
    _create_gate_with_rule(console)
    page = console.page
    with console.served.console() as api:
        before = api.get(f"/gates/{GATE}").json()["data"]["rules"]
    versions_before = _version_count(console)
    page.get_by_label("Pass percentage of Employees").fill("50")
    page.get_by_role("button", name="Save split").click()
    console.check()
    newest = page.get_by_role("row").filter(has=page.get_by_text(f"#{versions_before + 1}"))
    expect(newest).to_contain_text("Rule Employees: pass 100% to 50%")
    # Preview: the version's old and new values side by side.
    page.get_by_role("button", name=f"Preview version {versions_before + 1}").click()
    preview = page.get_by_role("dialog", name=f"Version {versions_before + 1} of {GATE}")
    expect(preview).to_be_visible()
    console.check()
    expect(preview.get_by_role("columnheader")).to_have_text(
        ["What", f"Before (#{versions_before})", f"After (#{versions_before + 1})"]
    )
    changed = preview.get_by_role("row").filter(has=page.get_by_role("rowheader"))
    expect(changed.get_by_role("rowheader")).to_have_text(["Rule Employees"])
    expect(changed.get_by_role("cell")).to_have_text(
        [
            "email contains any of @acme.com → 100% pass",
            "email contains any of @acme.com → 50% pass",
        ]
    )
    page.keyboard.press("Escape")
    expect(preview).to_be_hidden()
    page.get_by_role("button", name=f"Restore version {versions_before}").click()
    console.check()
    with console.served.console() as api:
        after = api.get(f"/gates/{GATE}").json()["data"]["rules"]
    assert [r["passPercentage"] for r in after] == [r["passPercentage"] for r in before] == [100]
    assert _version_count(console) == versions_before + 2


@pytest.mark.sqlite_only
def test_gate_page__without_javascript__dialogs_open_as_pages_and_still_work(
    browser: Browser, served: Served
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    with served.console() as api:
        assert api.post("/gates", json={"name": GATE}).status_code == 201
    page.goto(f"{served.url}/ui/login")
    page.get_by_label("Email").fill(OWNER_EMAIL)
    page.get_by_label("Password").fill(served.owner_password)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{served.url}/ui/gates/{GATE}")
    # Without scripts an opener is a link to the page with its dialog open.
    page.get_by_role("link", name="Manage overrides (0)").click()
    dialog = page.get_by_role("dialog", name=f"Overrides of {GATE}")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Pass list (user IDs, one a line)").fill("u9")
    dialog.get_by_role("button", name="Save overrides").click()
    expect(page.get_by_role("link", name="Manage overrides (1)")).to_be_visible()
    page.get_by_role("link", name="Launch…").click()
    launch = page.get_by_role("dialog", name=f"Launch {GATE}?")
    expect(launch).to_contain_text("always returns true")
    launch.get_by_role("button", name="Cancel").click()  # a dialog form: no script needed
    expect(launch).to_be_hidden()
    page.get_by_role("link", name="Launch…").click()
    launch.get_by_role("button", name="Confirm launch").click()
    expect(page.locator("#status")).to_have_text("Launched")
    # The header search is a plain GET form.
    page.get_by_label("Search the project (Ctrl+K)").fill("checkout")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/ui/search\?q=checkout$"))
    expect(page.get_by_role("link", name=GATE)).to_be_visible()
    with served.console() as api:
        assert api.get(f"/gates/{GATE}/overrides").json()["data"]["passingUserIDs"] == ["u9"]
        assert api.get(f"/gates/{GATE}").json()["data"]["status"] == "Launched"
    context.close()


@pytest.mark.sqlite_only
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
