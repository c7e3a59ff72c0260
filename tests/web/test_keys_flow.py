"""Flow F12: a key created in the console is shown once, works, and stops working once revoked;
its secret never appears again in a page."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.web.conftest import Console


def test_f12_keys__shown_once_works_then_revoked(console: Console) -> None:
    console.sign_in()
    page = console.page
    console.go("/ui/settings/keys")
    page.locator("summary", has_text="Create key").click()
    page.get_by_label("Type").select_option("SERVER")
    page.get_by_label("Description").fill("web build")
    page.get_by_role("button", name="Create key").click()
    console.check()
    secret = page.get_by_label("New key").input_value()
    assert secret.startswith("secret-")
    specs = f"{console.served.url}/v1/download_config_specs"
    assert httpx.post(specs, headers={"STATSIG-API-KEY": secret}, json={}).status_code == 200
    # Reloaded, the page lists the key without its secret.
    console.go("/ui/settings/keys")
    assert secret not in page.content()
    row = page.get_by_role("row").filter(has_text="web build")
    row.get_by_text("Revoke…").click()
    row.get_by_role("button", name="Confirm revoke").click()
    console.check()
    assert secret not in page.content()
    assert httpx.post(specs, headers={"STATSIG-API-KEY": secret}, json={}).status_code == 401
    console.go("/ui/audit")
    expect(page.get_by_role("main")).to_contain_text("Created SERVER key")
    expect(page.get_by_role("main")).to_contain_text("Deactivated key")
    assert secret not in page.content()
