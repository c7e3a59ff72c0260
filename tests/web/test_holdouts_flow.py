"""The holdout page in a browser: edit a holdout's description, share, population and covered
entities, then read it back through the Console API and see it in the SDKs' answers."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Console

# Pages do not depend on the database much: the PostgreSQL suite runs a smoke set of browser
# tests (tests/web/conftest.py), not this module.
pytestmark = pytest.mark.sqlite_only

USERS = [f"user-{n}" for n in range(200)]


def test_edit_holdout__settings_and_covers__api_and_sdk_agree(console: Console) -> None:
    with console.served.console() as api:
        rule = {"name": "everyone", "passPercentage": 100, "conditions": [{"type": "public"}]}
        assert api.post("/gates", json={"name": "new_checkout", "rules": [rule]}).is_success
        assert api.post("/gates", json={"name": "employees"}).is_success
        assert api.post("/experiments", json={"name": "banner"}).is_success
        assert api.post("/holdouts", json={"name": "q3_holdout"}).is_success
        assert api.patch("/holdouts/q3_holdout", json={"experimentIDs": ["banner"]}).is_success
    served = console.served
    assert all(served.check_gate("new_checkout", {"userID": u})["value"] for u in USERS)
    console.sign_in()
    page = console.page
    console.go("/ui/holdouts/q3_holdout")
    expect(page).to_have_title("Holdout q3_holdout · Lockgate")
    # Settings: description, 10% held out, the population of a targeting gate, global.
    page.get_by_text("Edit holdout").click()
    page.get_by_label("Description").fill("Long-term effect of Q3 features")
    page.get_by_label("Held-out percentage (0 to 10)").fill("10")
    page.get_by_label("Targeting gate (its ID; empty for everyone)").fill("employees")
    page.get_by_label("Global", exact=False).check()
    page.get_by_role("button", name="Save holdout").click()
    console.check()
    main = page.get_by_role("main")
    expect(main).to_contain_text("10% of the population")
    expect(main).to_contain_text("Users passing gate employees")
    # Only users passing ``employees`` can be held out, and nobody passes it: the gate stays open.
    assert all(served.check_gate("new_checkout", {"userID": u})["value"] for u in USERS[:50])
    # A bad share is refused in an alert and changes nothing.
    page.get_by_text("Edit holdout").click()
    page.get_by_label("Targeting gate (its ID; empty for everyone)").fill("")
    page.get_by_label("Held-out percentage (0 to 10)").evaluate("input => input.max = 100")
    page.get_by_label("Held-out percentage (0 to 10)").fill("50")
    console.expected_statuses.add(422)
    page.get_by_role("button", name="Save holdout").click()
    console.check()
    expect(page.get_by_role("alert")).to_contain_text("less than or equal to 10")
    # Covers: add the gate, remove the experiment.
    page.get_by_label("Gate ID to cover").fill("new_checkout")
    page.get_by_role("button", name="Add gate").click()
    console.check()
    page.get_by_role("button", name="Remove experiment banner").click()
    console.check()
    expect(page.get_by_role("heading", name="Gates (1)")).to_be_visible()
    expect(page.get_by_role("heading", name="Experiments (0)")).to_be_visible()
    with served.console() as api:
        stored = api.get("/holdouts/q3_holdout").json()["data"]
    assert stored["description"] == "Long-term effect of Q3 features"
    assert stored["passPercentage"] == 10 and stored["targetingGateID"] == "employees"
    assert stored["isGlobal"] is True and stored["isEnabled"] is True
    assert (stored["gateIDs"], stored["experimentIDs"]) == (["new_checkout"], [])
    # Back to everyone: about a tenth of the users are held out and lose the feature.
    page.get_by_text("Edit holdout").click()
    page.get_by_label("Targeting gate (its ID; empty for everyone)").fill("")
    page.get_by_label("Held-out percentage (0 to 10)").fill("10")
    page.get_by_role("button", name="Save holdout").click()
    console.check()
    expect(main).to_contain_text("Everyone")
    served_values = [served.check_gate("new_checkout", {"userID": u})["value"] for u in USERS]
    held_out = served_values.count(False)
    assert 0 < held_out < len(USERS) // 4
