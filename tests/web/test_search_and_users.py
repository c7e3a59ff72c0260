"""Search (Ctrl+K) across entity kinds, and the user lookup, in the browser: what the lookup
shows for a user equals what ``/v1/check_gate`` and ``/v1/get_config`` answer for that user."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Console, Served

# Browser tests: the PostgreSQL suite runs a smoke set (tests/web/conftest.py), not these.
pytestmark = pytest.mark.sqlite_only

GATE = "new_checkout"
CONFIG = "checkout_banner"
EXPERIMENT = "checkout_flow"
EMPLOYEES = {
    "name": "Employees",
    "passPercentage": 100,
    "conditions": [{"type": "email", "operator": "str_contains_any", "targetValue": ["@acme.com"]}],
}


def _sdk(served: Served, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
    response = served.http.post(
        f"{served.url}{path}", headers={"STATSIG-API-KEY": served.project.server_key}, json=body
    )
    assert response.status_code in (200, 202), response.text
    answer: dict[str, Any] = response.json()
    return answer


def _seed(served: Served) -> None:
    """A gate, a config with a rule, a segment, a layer and an experiment, all about checkout."""
    with served.console() as api:
        for path, body in (
            ("/gates", {"name": GATE, "rules": [EMPLOYEES]}),
            (
                "/dynamic_configs",
                {
                    "name": CONFIG,
                    "defaultValue": {"color": "grey"},
                    "rules": [{**EMPLOYEES, "returnValue": {"color": "green"}}],
                },
            ),
            ("/segments", {"name": "checkout_users", "type": "id_list", "idType": "userID"}),
            ("/layers", {"name": "checkout_layer", "idType": "userID"}),
            (
                "/experiments",
                {
                    "name": EXPERIMENT,
                    "idType": "userID",
                    "groups": [
                        {"name": "Control", "size": 50, "parameterValues": {"cta": "Buy"}},
                        {"name": "Test", "size": 50, "parameterValues": {"cta": "Buy now"}},
                    ],
                },
            ),
        ):
            response = api.post(path, json=body)
            assert response.status_code == 201, response.text
        assert api.put(f"/experiments/{EXPERIMENT}/start").status_code == 200


def test_search__ctrl_k_then_typing__hits_of_every_kind_link_to_their_pages(
    console: Console,
) -> None:
    _seed(console.served)
    console.sign_in()
    page = console.page
    box = page.get_by_label("Search the project (Ctrl+K)")
    expect(box).not_to_be_focused()
    page.keyboard.press("Control+k")
    expect(box).to_be_focused()
    page.keyboard.type("CHECKOUT")
    hits = page.locator("#top-hits")
    expect(hits.get_by_role("link", name=GATE)).to_have_attribute("href", f"/ui/gates/{GATE}")
    expect(hits.get_by_role("link", name=CONFIG)).to_have_attribute(
        "href", f"/ui/dynamic_configs/{CONFIG}"
    )
    expect(hits.get_by_role("heading")).to_have_text(
        [
            "Feature gates (1)",
            "Dynamic configs (1)",
            "Segments (1)",
            "Experiments (1)",
            "Layers (1)",
        ]
    )
    console.check()
    # Enter submits the form: the same hits on a page of their own.
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/ui/search\?q=CHECKOUT$"))
    console.check()
    main = page.get_by_role("main")
    for name in (GATE, CONFIG, "checkout_users", "checkout_layer", EXPERIMENT):
        expect(main.get_by_role("link", name=name, exact=True)).to_be_visible()
    main.get_by_role("link", name=GATE).click()
    console.check()
    expect(page.get_by_role("heading", level=1)).to_have_text(GATE)
    console.go("/ui/search?q=nothing_like_this")
    expect(page.get_by_role("main")).to_contain_text("Nothing is named like “nothing_like_this”.")


def _lookup(console: Console, unit_id: str, user: str) -> None:
    page = console.page
    console.go("/ui/users")
    page.get_by_label("Unit ID").fill(unit_id)
    page.get_by_label("User (JSON", exact=False).fill(user)
    page.get_by_role("button", name="Look up").click()
    console.check()


@pytest.mark.parametrize(
    ("unit_id", "email", "passes"),
    [("u1", "u1@acme.com", True), ("u2", "u2@other.com", False)],
    ids=["employee", "other"],
)
def test_user_lookup__every_entity__agrees_with_check_gate_and_get_config(
    console: Console, unit_id: str, email: str, passes: bool
) -> None:
    served = console.served
    _seed(served)
    user = {"userID": unit_id, "email": email}
    gate = _sdk(served, "/v1/check_gate", {"gateName": GATE, "user": user})
    config = _sdk(served, "/v1/get_config", {"configName": CONFIG, "user": user})
    experiment = _sdk(served, "/v1/get_config", {"configName": EXPERIMENT, "user": user})
    now = int(time.time() * 1000)
    event = {"eventName": "purchase", "user": user, "time": now, "value": 12}
    _sdk(served, "/v1/rgstr", {"events": [event]})
    console.sign_in()
    _lookup(console, unit_id, json.dumps({"email": email}))
    page = console.page
    expect(page.get_by_role("heading", level=1)).to_have_text(f"User {unit_id}")
    assert json.loads(page.locator("#evaluated-user").inner_text()) == user
    # Gates: value and deciding rule as /v1/check_gate says, and why in words.
    assert gate["value"] is passes
    row = page.locator("#lookup-gates").get_by_role("row").filter(has_text=GATE)
    expect(row.get_by_role("cell").nth(0)).to_have_text("PASS" if passes else "FAIL")
    expect(row.locator("[data-rule]")).to_have_attribute("data-rule", str(gate["rule_id"]))
    expect(row).to_contain_text("rule Employees" if passes else "default: no rule matched")
    expect(row).to_contain_text("Recognized")
    # Configs and experiments: the value and the rule as /v1/get_config says.
    for table, answer in (("#lookup-configs", config), ("#lookup-experiments", experiment)):
        row = page.locator(table).get_by_role("row").filter(has_text=str(answer["name"]))
        shown = row.locator("[data-value]").get_attribute("data-value")
        assert shown is not None and json.loads(shown) == answer["value"]
        expect(row.locator("[data-rule]")).to_have_attribute("data-rule", str(answer["rule_id"]))
    assert config["value"] == {"color": "green" if passes else "grey"}
    if experiment["group_name"]:
        exp_row = page.locator("#lookup-experiments").get_by_role("row").filter(has_text=EXPERIMENT)
        expect(exp_row).to_contain_text(str(experiment["group_name"]))
    # The unit's exposures (logged by those very calls) and its events.
    exposures = page.locator("#lookup-exposures")
    expect(exposures.get_by_role("row").filter(has_text=f"gate {GATE}")).to_have_count(1)
    expect(exposures.get_by_role("row").filter(has_text=f"config {CONFIG}")).to_have_count(1)
    events = page.locator("#lookup-events")
    expect(events.get_by_role("row").filter(has_text="purchase")).to_contain_text("12")


def test_user_lookup__bad_json__error_announced_and_nothing_evaluated(console: Console) -> None:
    console.expected_statuses.add(422)
    console.sign_in()
    _lookup(console, "u1", '{"email": ')
    page = console.page
    expect(page.get_by_role("alert")).to_contain_text("not valid JSON")
    expect(page.locator("#lookup-gates")).to_have_count(0)
