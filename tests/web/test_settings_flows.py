"""Settings flows in Chromium: environments, members and roles, project switches, tags and
target apps. Each change is made by label and role, every page passes axe, and after each
change the Console API reads back what the page shows."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.web.conftest import READER_EMAIL, READER_PASSWORD, Console

# Pages do not depend on the database much: the PostgreSQL suite runs a smoke set of browser
# tests (tests/web/conftest.py), not this module.
pytestmark = pytest.mark.sqlite_only


def _api(console: Console, path: str) -> Any:
    with console.served.console() as api:
        response = api.get(path)
    response.raise_for_status()
    return response.json()["data"]


def _env_names(console: Console) -> list[str]:
    return [e["name"] for e in _api(console, "/environments")["environments"]]


def _submit(console: Console, name: str) -> None:
    console.page.get_by_role("button", name=name).click()
    console.check()


def _done(console: Console, text: str) -> None:
    expect(console.page.get_by_role("status")).to_have_text(text)


def test_settings_environments__create_order_rename_delete__api_agrees(
    console: Console,
) -> None:
    console.sign_in()
    page = console.page
    console.go("/ui/settings/environments")
    nav = page.get_by_role("navigation", name="Settings")
    expect(nav.get_by_role("link", name="Environments")).to_have_attribute("aria-current", "page")
    # Production has no delete and its name cannot be edited.
    production = page.get_by_role("row").filter(has_text="production")
    expect(production.get_by_text("Production stays")).to_be_visible()
    # Create
    page.locator("summary", has_text="Create environment").click()
    page.get_by_label("Environment name").fill("qa")
    page.get_by_label("Changes require review").check()
    _submit(console, "Create environment")
    _done(console, "Created.")
    assert _env_names(console) == ["development", "staging", "production", "qa"]
    qa = next(e for e in _api(console, "/environments")["environments"] if e["name"] == "qa")
    assert qa["requiresReview"] is True and qa["isProduction"] is False
    # Order
    _submit(console, "Move qa up")
    _done(console, "Moved.")
    assert _env_names(console) == ["development", "staging", "qa", "production"]
    expect(page.get_by_role("row").nth(3)).to_contain_text("qa")
    # Rename
    row = page.get_by_role("row").filter(has_text="qa")
    row.get_by_text("Edit…").click()
    row.get_by_label("Name of qa").fill("preprod")
    _submit(console, "Save qa")
    _done(console, "Saved.")
    assert _env_names(console) == ["development", "staging", "preprod", "production"]
    # A bad rename is refused with the reason, nothing changed
    row = page.get_by_role("row").filter(has_text="preprod")
    row.get_by_text("Edit…").click()
    row.get_by_label("Name of preprod").fill("Staging")
    console.expected_statuses.add(422)
    _submit(console, "Save preprod")
    expect(page.get_by_role("alert")).to_contain_text("'Staging' appears more than once")
    assert _env_names(console) == ["development", "staging", "preprod", "production"]
    # Delete
    console.go("/ui/settings/environments")
    row = page.get_by_role("row").filter(has_text="preprod")
    row.get_by_text("Delete…").click()
    _submit(console, "Confirm delete preprod")
    _done(console, "Deleted.")
    assert _env_names(console) == ["development", "staging", "production"]
    console.go("/ui/audit")
    expect(page.get_by_role("main")).to_contain_text("Edited Environments")


def test_settings_members__add_change_role_remove__api_agrees(console: Console) -> None:
    console.sign_in()
    page = console.page
    # The roles and what they allow, on their own page
    console.go("/ui/settings/roles")
    roles = page.get_by_role("table")
    expect(roles.get_by_role("row").filter(has_text="Read Only")).to_contain_text("reads only")
    console.go("/ui/settings/members")
    # Add a member: the first password is shown once and signs in
    page.locator("summary", has_text="Add member").click()
    page.get_by_label("Email", exact=True).fill("nia@acme.com")
    page.get_by_label("First name").fill("Nia")
    page.get_by_label("Role", exact=True).select_option("Read Only")
    _submit(console, "Add member")
    password = page.get_by_label("First password of nia@acme.com").input_value()
    users = {u["email"]: u for u in _api(console, "/users")}
    assert users["nia@acme.com"]["role"] == "Read Only"
    signed = httpx.post(
        f"{console.served.url}/ui/login",
        data={"email": "nia@acme.com", "password": password},
    )
    assert signed.status_code == 303
    console.go("/ui/settings/members")
    assert password not in page.content()
    # Change the role
    page.get_by_label("Role of nia@acme.com", exact=True).select_option("Member")
    _submit(console, "Save role of nia@acme.com")
    _done(console, "Saved.")
    assert {u["email"]: u["role"] for u in _api(console, "/users")}["nia@acme.com"] == "Member"
    expect(page.get_by_label("Role of nia@acme.com", exact=True)).to_have_value("Member")
    # Remove
    row = page.get_by_role("row").filter(has_text="nia@acme.com")
    row.get_by_text("Remove…").click()
    _submit(console, "Confirm remove nia@acme.com")
    _done(console, "Removed.")
    assert "nia@acme.com" not in {u["email"] for u in _api(console, "/users")}
    expect(page.get_by_role("main")).not_to_contain_text("nia@acme.com")


def test_settings_project__reviews_and_name__api_agrees(console: Console) -> None:
    console.sign_in()
    page = console.page
    console.go("/ui/settings/project")
    page.get_by_label("Require reviews for gates, configs, segments and experiments").check()
    _submit(console, "Save review settings")
    _done(console, "Saved.")
    assert _api(console, "/settings/reviews")["is_config_review_required"] is True
    expect(
        page.get_by_label("Require reviews for gates, configs, segments and experiments")
    ).to_be_checked()
    page.get_by_label("Project name").fill("Checkout")
    page.get_by_label("Visibility").select_option("CLOSED")
    page.get_by_label("Default role of new members").select_option("Read Only")
    _submit(console, "Save project settings")
    _done(console, "Saved.")
    assert _api(console, "/settings/project")["name"] == "Checkout"
    assert _api(console, "/settings/project")["visibility"] == "CLOSED"
    assert _api(console, "/settings/roles")["default_project_role"] == "Read Only"
    expect(page.get_by_label("Project name")).to_have_value("Checkout")


def test_settings_tags__create_edit_delete__api_agrees(console: Console) -> None:
    console.sign_in()
    page = console.page
    console.go("/ui/settings/tags")
    page.locator("summary", has_text="Create tag").click()
    page.get_by_label("Tag name").fill("Beta")
    page.get_by_label("Tag description").fill("early access")
    _submit(console, "Create tag")
    _done(console, "Created.")
    assert [(t["name"], t["description"]) for t in _api(console, "/tags")] == [
        ("Beta", "early access")
    ]
    row = page.get_by_role("row").filter(has_text="Beta")
    row.get_by_text("Edit…").click()
    row.get_by_label("Name of tag Beta").fill("Gamma")
    _submit(console, "Save tag Beta")
    _done(console, "Saved.")
    assert [t["name"] for t in _api(console, "/tags")] == ["Gamma"]
    row = page.get_by_role("row").filter(has_text="Gamma")
    row.get_by_text("Delete…").click()
    _submit(console, "Confirm delete tag Gamma")
    _done(console, "Deleted.")
    assert _api(console, "/tags") == []
    expect(page.get_by_role("main")).to_contain_text("No tags yet.")


def test_settings_target_apps__create_assign_edit_delete__api_agrees(console: Console) -> None:
    with console.served.console() as api:
        created = api.post("/gates", json={"name": "new_checkout", "description": ""})
        assert created.status_code in (200, 201)
    console.sign_in()
    page = console.page
    console.go("/ui/settings/target_apps")
    page.locator("summary", has_text="Create target app").click()
    page.get_by_label("Target app name").fill("ios")
    _submit(console, "Create target app")
    _done(console, "Created.")
    apps = _api(console, "/target_app")
    assert [a["name"] for a in apps] == ["ios"]
    app_id = apps[0]["id"]
    page.locator("summary", has_text="Assign a gate").click()
    page.get_by_label("Target app for the gate").select_option(label="ios")
    page.get_by_label("ID of the gate").fill("new_checkout")
    _submit(console, "Assign gate")
    _done(console, "Assigned.")
    # Entities carry the app's id (docs/console.md, Target apps), which a rename keeps.
    assert _api(console, "/gates/new_checkout")["targetApps"] == [app_id]
    row = page.get_by_role("row").filter(has_text="ios")
    row.get_by_text("Edit…").click()
    row.get_by_label("Name of target app ios").fill("ipad")
    _submit(console, "Save target app ios")
    _done(console, "Saved.")
    assert [a["name"] for a in _api(console, "/target_app")] == ["ipad"]
    assert _api(console, "/gates/new_checkout")["targetApps"] == [app_id]
    row = page.get_by_role("row").filter(has_text="ipad")
    row.get_by_text("Delete…").click()
    _submit(console, "Confirm delete target app ipad")
    _done(console, "Deleted.")
    assert _api(console, "/target_app") == []
    assert not _api(console, "/gates/new_checkout").get("targetApps")


def test_settings__read_only_member__every_change_disabled_with_the_reason(
    console: Console,
) -> None:
    console.sign_in(READER_EMAIL, READER_PASSWORD)
    page = console.page
    for path, button in [
        ("/ui/settings/environments", "Create environment"),
        ("/ui/settings/members", "Add member"),
        ("/ui/settings/project", "Save project settings"),
        ("/ui/settings/tags", "Create tag"),
        ("/ui/settings/target_apps", "Create target app"),
        ("/ui/settings/keys", "Create key"),
    ]:
        console.go(path)
        closed = page.locator("summary", has_text=button)
        if closed.count():
            closed.click()
        control = page.get_by_role("button", name=button)
        expect(control).to_be_disabled()
        expect(control).to_have_attribute("title", _reason(path))
        if path != "/ui/settings/keys":
            expect(page.get_by_role("main")).to_contain_text("Your role (Read Only)")


def _reason(path: str) -> str:
    """The reason a Read Only member sees on a page's controls."""
    if path in ("/ui/settings/tags",):
        return "Your role (Read Only) lacks the create_configs permission"
    if path == "/ui/settings/target_apps":
        return "Your role (Read Only) lacks the edit_or_delete_configs permission"
    if path == "/ui/settings/members":
        return "Your role (Read Only) lacks the invitation_access permission"
    if path == "/ui/settings/keys":
        return "Only Owners and Admins manage keys"
    return "Only Owners and Admins change this"
