"""Flow F7: a dynamic config with a schema. Bad JSON and values off the schema are refused with
the position or the path, and change nothing; a valid value reaches the API and the SDK."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.web.conftest import Console

# The browser tests serve their own SQLite data directory: run once, in the SQLite suite.
pytestmark = pytest.mark.sqlite_only

SCHEMA = (
    '{"type": "object", "properties": {"title": {"type": "string"}, "cta": {"type": "string"}},'
    ' "required": ["title", "cta"]}'
)


def test_f7_config_schema__bad_values_refused__valid_value_served(console: Console) -> None:
    console.sign_in()
    page = console.page
    console.expected_statuses.add(422)
    console.go("/ui/dynamic_configs")
    page.locator("summary", has_text="Create config").click()
    page.get_by_label("Name").fill("banner")
    page.get_by_role("button", name="Create", exact=True).click()
    console.check()
    # The schema needs a default that satisfies it first.
    page.get_by_label("Default value (JSON)").fill('{"title": "Hi", "cta": "Go"}')
    page.get_by_role("button", name="Save default value").click()
    page.get_by_label("JSON Schema (empty for none)").fill(SCHEMA)
    page.get_by_role("button", name="Save schema").click()
    console.check()
    with console.served.console() as api:
        stored_before = api.get("/dynamic_configs/banner").json()["data"]
    # Invalid JSON: the error names the position; nothing changes.
    page.get_by_label("Default value (JSON)").fill('{"title": "Hi",')
    page.get_by_role("button", name="Save default value").click()
    expect(page.get_by_role("alert")).to_contain_text("line 1, column")
    console.check()
    # A value without cta: the error names /cta or the missing property; nothing changes.
    page.get_by_label("Default value (JSON)").fill('{"title": "Hi"}')
    page.get_by_role("button", name="Save default value").click()
    expect(page.get_by_role("alert")).to_contain_text("cta")
    console.check()
    with console.served.console() as api:
        assert api.get("/dynamic_configs/banner").json()["data"] == stored_before
    # A valid value saves and is served.
    page.get_by_label("Default value (JSON)").fill('{"title": "Sale", "cta": "Shop now"}')
    page.get_by_role("button", name="Save default value").click()
    console.check()
    wanted = {"title": "Sale", "cta": "Shop now"}
    with console.served.console() as api:
        assert api.get("/dynamic_configs/banner").json()["data"]["defaultValue"] == wanted
    served = httpx.post(
        f"{console.served.url}/v1/get_config",
        headers={"STATSIG-API-KEY": console.served.project.server_key},
        json={"configName": "banner", "user": {"userID": "u"}},
    ).json()
    assert served["value"] == wanted
