"""The filters in a browser: the gates catalog filtered by a status chip and sorted by a column
header, every view a link; the audit log filtered by user and action. Labels and roles only,
axe on every page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.web.conftest import OWNER_EMAIL, Console

# Pages do not depend on the database much: the PostgreSQL suite runs a smoke set of browser
# tests (tests/web/conftest.py), not this module.
pytestmark = pytest.mark.sqlite_only


def _gate_names(console: Console) -> list[str]:
    rows = console.page.get_by_role("table").get_by_role("row")
    return [rows.nth(i).get_by_role("link").inner_text() for i in range(1, rows.count())]


def test_gates_catalog__status_chip_and_name_sort__lists_and_links_the_view(
    console: Console,
) -> None:
    # Given gates made by the Console API (two launched) and one by the owner in the console
    with console.served.console() as api:
        for name in ("kilo_gate", "juliet_gate", "lima_gate", "india_gate"):
            assert api.post("/gates", json={"name": name}).status_code == 201
        for name in ("lima_gate", "juliet_gate"):
            assert api.put(f"/gates/{name}/launch").status_code == 200
    console.sign_in()
    page = console.page
    console.go("/ui/gates")
    page.get_by_text("Create gate").click()
    page.get_by_label("Name", exact=True).fill("hotel_gate")
    page.get_by_role("button", name="Create", exact=True).click()
    console.check()
    console.go("/ui/gates")
    assert len(_gate_names(console)) == 5
    # When the catalog is filtered by the Launched status
    page.get_by_label("Status", exact=True).select_option("Launched")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/ui/gates\?.*\bstatus=Launched"))
    console.check()
    # Then only the launched gates are listed, and the filter shows as a removable chip
    assert _gate_names(console) == ["juliet_gate", "lima_gate"]
    chips = page.get_by_role("list", name="Active filters")
    expect(chips.get_by_role("link", name="Remove filter Status: Launched")).to_be_visible()
    # When the Name column is sorted, twice: ascending, then descending, keeping the filter
    page.get_by_role("link", name="Name", exact=True).click()
    console.check()
    expect(page.get_by_role("columnheader", name="Name")).to_have_attribute(
        "aria-sort", "ascending"
    )
    assert _gate_names(console) == ["juliet_gate", "lima_gate"]
    page.get_by_role("link", name="Name", exact=True).click()
    console.check()
    expect(page).to_have_url(re.compile(r"status=Launched&sort=-name"))
    assert _gate_names(console) == ["lima_gate", "juliet_gate"]
    # Then the view is a link: loaded afresh it lists the same, and removing the chip keeps
    # the sort and lists every gate
    console.go("/ui/gates?status=Launched&sort=-name")
    assert _gate_names(console) == ["lima_gate", "juliet_gate"]
    page.get_by_role("link", name="Remove filter Status: Launched").click()
    console.check()
    assert _gate_names(console) == [
        "lima_gate",
        "kilo_gate",
        "juliet_gate",
        "india_gate",
        "hotel_gate",
    ]


def test_audit_page__filtered_by_user_and_action__lists_their_entries(console: Console) -> None:
    # Given gate changes by the Console API and by the owner in the console
    with console.served.console() as api:
        assert api.post("/gates", json={"name": "by_api"}).status_code == 201
        assert api.put("/gates/by_api/launch").status_code == 200
    console.sign_in()
    page = console.page
    console.go("/ui/gates")
    page.get_by_text("Create gate").click()
    page.get_by_label("Name", exact=True).fill("by_owner")
    page.get_by_role("button", name="Create", exact=True).click()
    console.check()
    # When the audit log is filtered by the owner and the gate_create action
    console.go("/ui/audit")
    page.get_by_label("User (name or email)").fill(OWNER_EMAIL)
    page.get_by_label("Action", exact=True).select_option("gate_create")
    page.get_by_role("button", name="Filter").click()
    console.check()
    # Then only the owner's gate creation is listed
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("by_owner")
    expect(rows.nth(1)).to_contain_text("gate_create")
    expect(page.get_by_role("main")).not_to_contain_text("by_api")
    # And an action the owner did not take lists nothing, said in words
    page.get_by_label("Action", exact=True).select_option("gate_update")
    page.get_by_role("button", name="Filter").click()
    console.check()
    expect(page.get_by_role("main")).to_contain_text("No changes match these filters.")
