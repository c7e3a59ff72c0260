"""Flow F8: an ID-list segment at scale. 10,000 IDs uploaded as CSV, ten removed, a page of
them shown, the list downloaded, and a gate rule on the segment evaluated."""

from __future__ import annotations

import pytest
from playwright.sync_api import FilePayload, expect

from tests.web.conftest import Console

# Pages do not depend on the database much: the PostgreSQL suite runs a smoke set of browser
# tests (tests/web/conftest.py), not this module.
pytestmark = pytest.mark.sqlite_only


def test_f8_id_list_segment__10000_ids__count_page_download_and_gate(console: Console) -> None:
    console.sign_in()
    page = console.page
    console.go("/ui/segments")
    page.locator("summary", has_text="Create segment").click()
    page.get_by_label("Name").fill("beta_users")
    page.get_by_role("button", name="Create", exact=True).click()
    console.check()
    expect(page.get_by_role("main")).to_contain_text("No IDs added.")
    csv = "".join(f"user_{n:05d}\n" for n in range(10_000)).encode()
    page.get_by_label("CSV file (one ID a line)").set_input_files(
        files=FilePayload(name="ids.csv", mimeType="text/csv", buffer=csv)
    )
    page.get_by_label("Bulk action").select_option("add")
    page.get_by_role("button", name="Apply").click()
    console.check()
    expect(page.get_by_role("heading", name="ID List (10,000)")).to_be_visible()
    assert page.locator("td.mono").count() <= 100
    page.get_by_label("Or type IDs (one a line)").fill(
        "\n".join(f"user_{n:05d}" for n in range(10))
    )
    page.get_by_label("Bulk action").select_option("remove")
    page.get_by_role("button", name="Apply").click()
    console.check()
    expect(page.get_by_role("heading", name="ID List (9,990)")).to_be_visible()
    download = page.request.get(f"{console.served.url}/ui/segments/beta_users/ids.csv")
    lines = download.text().splitlines()
    assert len(lines) == 9_990 and "user_00000" not in lines and "user_09999" in lines
    # A gate rule "User in segment" lets a listed user through.
    console.go("/ui/gates")
    page.locator("summary", has_text="Create gate").click()
    page.get_by_label("Name", exact=True).fill("beta_gate")
    page.get_by_role("button", name="Create", exact=True).click()
    page.get_by_text("Add rule").click()
    page.get_by_label("Criteria").select_option("passes_segment")
    page.get_by_role("button", name="Choose criteria").click()
    page.get_by_label("Rule name").fill("Beta")
    page.get_by_label("Values (comma separated)").fill("beta_users")
    page.get_by_label("Pass percentage", exact=True).fill("100")
    page.get_by_role("button", name="Save rule").click()
    console.check()
    assert console.served.check_gate("beta_gate", {"userID": "user_05000"})["value"] is True
    assert console.served.check_gate("beta_gate", {"userID": "user_00001"})["value"] is False


def test_rule_based_segment__rule_added_on_its_page__gate_on_it_follows(console: Console) -> None:
    console.sign_in()
    page = console.page
    console.go("/ui/segments")
    page.locator("summary", has_text="Create segment").click()
    page.get_by_label("Name").fill("staff")
    page.get_by_label("Type").select_option(label="Rule-based (conditions)")
    page.get_by_role("button", name="Create", exact=True).click()
    console.check()
    with console.served.console() as api:
        rule = {
            "name": "In staff",
            "passPercentage": 100,
            "conditions": [{"type": "passes_segment", "targetValue": ["staff"]}],
        }
        assert api.post("/gates", json={"name": "staff_gate", "rules": [rule]}).status_code == 201
    console.go("/ui/segments/staff")
    used_by = page.get_by_role("region", name="Used by")
    expect(used_by.get_by_role("link", name="staff_gate")).to_be_visible()
    page.locator("summary", has_text="Add rule").click()
    page.get_by_label("Criteria").select_option("email")
    page.get_by_role("button", name="Choose criteria").click()
    page.get_by_label("Rule name").fill("Staff")
    page.get_by_label("Operator").select_option(label="ends with any of")
    page.get_by_label("Values (comma separated)").fill("@acme.com")
    page.get_by_label("Pass percentage", exact=True).fill("100")
    page.get_by_role("button", name="Save rule").click()
    console.check()
    expect(page.locator(".sentence")).to_have_text("email ends with any of @acme.com → 100% pass")
    ann = {"userID": "ann", "email": "ann@acme.com"}
    assert console.served.check_gate("staff_gate", ann)["value"] is True
    assert console.served.check_gate("staff_gate", {"userID": "bob"})["value"] is False
