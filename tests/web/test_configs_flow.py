"""Flow F7: a dynamic config with a schema. Bad JSON and values off the schema are refused with
the position or the path, and change nothing; a valid value reaches the API and the SDK."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.web.conftest import Console

# Pages do not depend on the database much: the PostgreSQL suite runs a smoke set of browser
# tests (tests/web/conftest.py), not this module.
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


def test_config_rules_editor__schema_inferred_value_refused_then_rule_edited__sdk_serves_it(
    console: Console,
) -> None:
    console.sign_in()
    page = console.page
    console.expected_statuses.add(422)
    console.go("/ui/dynamic_configs")
    page.locator("summary", has_text="Create config").click()
    page.get_by_label("Name").fill("promo")
    page.get_by_role("button", name="Create", exact=True).click()
    console.check()
    # A default value, and a schema inferred from it.
    page.get_by_label("Default value (JSON)").fill('{"title": "Hi", "cta": "Go"}')
    page.get_by_role("button", name="Save default value").click()
    page.get_by_role("button", name="Infer from default value").click()
    expect(page.get_by_role("status")).to_contain_text("Inferred from the default value")
    console.check()
    page.get_by_role("button", name="Save schema").click()
    console.check()
    # A rule whose value breaks the schema is refused next to its field, keeping what was typed.
    page.locator("summary", has_text="Add rule").click()
    page.get_by_label("Criteria").select_option("email")
    page.get_by_role("button", name="Choose criteria").click()
    console.check()
    page.get_by_label("Rule name").fill("Staff")
    page.get_by_label("Operator").select_option(label="ends with any of")
    page.get_by_label("Values (comma separated)").fill("@acme.com")
    page.get_by_label("Pass percentage", exact=True).fill("100")
    page.get_by_label("Return value (JSON)").fill('{"title": "Hi team"}')
    page.get_by_role("button", name="Save rule").click()
    value_field = page.get_by_label("Return value (JSON)")
    expect(page.get_by_role("alert")).to_contain_text("does not match the schema")
    expect(value_field).to_have_attribute("aria-invalid", "true")
    expect(value_field).to_have_value('{"title": "Hi team"}')
    console.check()
    with console.served.console() as api:
        assert api.get("/dynamic_configs/promo").json()["data"]["rules"] == []
    # Fixed, it saves as an IF band; then its value is changed in place.
    value_field.fill('{"title": "Hi team", "cta": "Dogfood"}')
    page.get_by_role("button", name="Save rule").click()
    console.check()
    expect(page.locator(".sentence")).to_have_text("email ends with any of @acme.com → 100% pass")
    page.get_by_label("Return value of Staff (JSON)").fill('{"title": "Hi all", "cta": "Shop"}')
    page.get_by_role("button", name="Save return value of Staff").click()
    console.check()
    wanted = {"title": "Hi all", "cta": "Shop"}
    with console.served.console() as api:
        [rule] = api.get("/dynamic_configs/promo").json()["data"]["rules"]
    assert rule["returnValue"] == wanted
    for email, value in (("ann@acme.com", wanted), ("bob@else.com", {"title": "Hi", "cta": "Go"})):
        served = httpx.post(
            f"{console.served.url}/v1/get_config",
            headers={"STATSIG-API-KEY": console.served.project.server_key},
            json={"configName": "promo", "user": {"userID": email, "email": email}},
        ).json()
        assert served["value"] == value
