"""People settings in Chromium: a custom role created on the roles page and given to a member,
a team created with that member and a unit ID type, every page passing axe, the Console API
reading back what the pages show."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.web.conftest import READER_EMAIL, Console
from tests.web.test_settings_flows import _api, _done, _submit

# Pages do not depend on the database much: the PostgreSQL suite runs a smoke set of browser
# tests (tests/web/conftest.py), not this module.
pytestmark = pytest.mark.sqlite_only


def test_people__custom_role_assigned_then_team_created__api_agrees(console: Console) -> None:
    console.sign_in()
    page = console.page
    # A custom role, on the roles page
    console.go("/ui/settings/roles")
    nav = page.get_by_role("navigation", name="Settings")
    expect(nav.get_by_role("link", name="Roles")).to_have_attribute("aria-current", "page")
    page.locator("summary", has_text="Create role").click()
    page.get_by_label("Role name").fill("Reviewer")
    creating = page.get_by_role("group", name="Permissions of the new role")
    creating.get_by_label("approve_reviews").check()
    creating.get_by_label("create_teams").check()
    _submit(console, "Create role")
    _done(console, "Created.")
    held = _api(console, "/roles/Reviewer")["permissions"]
    assert [k for k, v in held.items() if v] == ["create_teams", "approve_reviews"]
    expect(page.get_by_role("row").filter(has_text="Reviewer")).to_contain_text("Custom")
    # Given to the reader, on the members page
    nav.get_by_role("link", name="Members").click()
    console.check()
    page.get_by_label(f"Role of {READER_EMAIL}", exact=True).select_option("Reviewer")
    _submit(console, f"Save role of {READER_EMAIL}")
    _done(console, "Saved.")
    users = {u["email"]: u["role"] for u in _api(console, "/users")}
    assert users[READER_EMAIL] == "Reviewer"
    # A team with the reader in it, on the teams page
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Teams").click()
    console.check()
    page.locator("summary", has_text="Create team").click()
    page.get_by_label("Team name").fill("Checkout")
    page.get_by_label("Members (emails").fill(READER_EMAIL)
    page.get_by_label("Who may approve reviews").select_option("team_only")
    page.get_by_label("Require reviews on the team's entities").check()
    _submit(console, "Create team")
    _done(console, "Created.")
    (team,) = _api(console, "/users/teams")
    assert team["name"] == "Checkout" and team["reviewApproval"] == "team_only"
    assert [m["email"] for m in team["members"]] == [READER_EMAIL]
    assert team["requireReviews"] is True
    # Its own page edits it
    page.get_by_role("link", name="Checkout").click()
    console.check()
    page.get_by_label("Team description").fill("Checkout squad")
    _submit(console, "Save team")
    _done(console, "Saved.")
    assert _api(console, f"/users/teams/{team['id']}")["description"] == "Checkout squad"
    # A unit ID type, on its page
    console.go("/ui/settings/unit_id_types")
    page.locator("summary", has_text="Create unit ID type").click()
    page.get_by_label("Unit ID type name").fill("companyID")
    _submit(console, "Create unit ID type")
    _done(console, "Created.")
    assert _api(console, "/unit_id_types") == [{"name": "companyID"}]
    # The user lookup offers it as a unit type
    console.go("/ui/users")
    page.get_by_label("Unit ID").fill("acme")
    page.get_by_label("Unit type").select_option("companyID")
    page.get_by_role("button", name="Look up").click()
    console.check()
    expect(page.get_by_role("heading", name="Properties seen")).to_be_visible()
