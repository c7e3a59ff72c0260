"""Flows F9 and F11 of the web console: set up and start an experiment in a layer, then make a
decision; plus the layer and holdout pages and a read-only member's view. Each change is read
back through the Console API and through the SDK API (``/v1/get_layer``, ``/v1/get_config``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.web.conftest import READER_EMAIL, READER_PASSWORD, Console, Served

EXPERIMENT = "checkout_button"
LAYER = "checkout_layer"
USERS = [f"user-{n}" for n in range(40)]

# Pages do not depend on the database much: the PostgreSQL suite runs a smoke set of browser
# tests (tests/web/conftest.py), not this module.
pytestmark = pytest.mark.sqlite_only


def _sdk(served: Served, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = served.http.post(
        f"{served.url}{path}", headers={"STATSIG-API-KEY": served.project.server_key}, json=body
    )
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


def _layer_value(served: Served, user_id: str) -> dict[str, Any]:
    return _sdk(served, "/v1/get_layer", {"layerName": LAYER, "user": {"userID": user_id}})


def _seed(served: Served) -> None:
    """A layer with the ``button_color`` parameter, and a logged ``purchase`` event so the
    metrics catalog offers ``purchase (event_count)``."""
    with served.console() as api:
        created = api.post(
            "/layers",
            json={
                "name": LAYER,
                "idType": "userID",
                "parameters": [{"name": "button_color", "type": "string", "defaultValue": "grey"}],
            },
        )
        assert created.status_code == 201, created.text
    logged = httpx.post(
        f"{served.url}/v1/rgstr",
        headers={"STATSIG-API-KEY": served.project.server_key},
        json={"events": [{"eventName": "purchase", "user": {"userID": "u0"}, "time": 1}]},
    )
    assert logged.status_code in (200, 202), logged.text


def _started_through_the_api(served: Served) -> None:
    with served.console() as api:
        body = {
            "name": EXPERIMENT,
            "layerID": LAYER,
            "groups": [
                {"name": "Control", "size": 50, "parameterValues": {"button_color": "grey"}},
                {"name": "Test", "size": 50, "parameterValues": {"button_color": "green"}},
            ],
            "allocation": 100,
            "primaryMetrics": [{"name": "purchase", "type": "event_count"}],
        }
        assert api.post("/experiments", json=body).status_code == 201
        assert api.put(f"/experiments/{EXPERIMENT}/start").status_code == 200


def test_f9_set_up_and_start__api_sdk_diagnostics_and_layer_agree(console: Console) -> None:
    _seed(console.served)
    console.sign_in()
    page = console.page
    # Create with a name and a hypothesis.
    console.go("/ui/experiments")
    page.get_by_text("Create experiment").click()
    page.get_by_label("Name", exact=True).fill(EXPERIMENT)
    page.get_by_label("Hypothesis").fill("A green button sells more")
    page.get_by_role("button", name="Create", exact=True).click()
    console.check()
    expect(page).to_have_title(f"Experiment {EXPERIMENT} · Lockgate")
    expect(page.locator("#status")).to_have_text("Setup")
    # Start waits for a primary metric, and says so.
    start = page.get_by_role("button", name="Start")
    expect(start).to_be_disabled()
    expect(start).to_have_accessible_description(
        "Add a primary metric before starting: results are judged by it."
    )
    # Layer, groups at 50/50, the parameter, allocation, then the primary metric.
    page.get_by_label("Layer").select_option(label=LAYER)
    page.get_by_role("button", name="Save layer").click()
    console.check()
    for index, name in ((1, "Control"), (2, "Test")):
        page.get_by_label(f"Name of group {index}").fill(name)
        page.get_by_label(f"Size of group {index} (%)").fill("50")
    page.get_by_role("button", name="Save groups").click()
    console.check()
    page.get_by_text("Add parameter").click()
    page.get_by_label("Parameter name").fill("button_color")
    page.get_by_label("Type").select_option(label="Text")
    page.get_by_label("Value for Control").fill("grey")
    page.get_by_label("Value for Test").fill("green")
    page.get_by_role("button", name="Save parameter").click()
    console.check()
    page.get_by_label("Allocation (% of users)").fill("100")
    page.get_by_role("button", name="Save allocation").click()
    console.check()
    page.get_by_label("Add primary metric").select_option(label="purchase (event_count)")
    page.get_by_role("button", name="Add primary").click()
    console.check()
    expect(page.get_by_role("list").filter(has_text="purchase (event_count)")).to_be_visible()
    page.get_by_role("button", name="Start").click()
    console.check()
    expect(page.locator("#status")).to_have_text("Active")
    # The Console API agrees.
    with console.served.console() as api:
        stored = api.get(f"/experiments/{EXPERIMENT}").json()["data"]
    assert stored["status"] == "active" and stored["layerID"] == LAYER
    assert stored["hypothesis"] == "A green button sells more"
    assert [(g["name"], g["size"], g["parameterValues"]) for g in stored["groups"]] == [
        ("Control", 50, {"button_color": "grey"}),
        ("Test", 50, {"button_color": "green"}),
    ]
    assert stored["primaryMetrics"] == [{"name": "purchase", "type": "event_count"}]
    # Diagnostics lists every health check the API computes, each waiting for data.
    page.get_by_role("link", name="Diagnostics").click()
    console.check()
    with console.served.console() as api:
        checks = api.get(f"/experiments/{EXPERIMENT}").json()["data"]["healthChecks"]
    assert len(checks) >= 2 and {c["status"] for c in checks} == {"WAITING"}
    listed = page.get_by_role("list", name="Experiment health checks").get_by_role("listitem")
    expect(listed).to_have_count(len(checks))
    for check in checks:
        expect(listed.filter(has_text=check["name"])).to_contain_text("Waiting")
    # The SDK API gives each user their group's parameter, through the layer and the experiment.
    seen = set()
    for user_id in USERS:
        layer = _layer_value(console.served, user_id)
        config = _sdk(
            console.served,
            "/v1/get_config",
            {"configName": EXPERIMENT, "user": {"userID": user_id}},
        )
        assert layer["allocatedExperimentName"] == EXPERIMENT
        assert layer["value"]["button_color"] == config["value"]["button_color"]
        seen.add(layer["value"]["button_color"])
    assert seen == {"grey", "green"}
    # The layer's allocation bar gives this experiment its share.
    console.go(f"/ui/layers/{LAYER}")
    expect(page).to_have_title(f"Layer {LAYER} · Lockgate")
    expect(page.get_by_role("img")).to_have_accessible_name(
        f"100% allocated to {EXPERIMENT} 0% available"
    )
    expect(page.locator("#allocation-text")).to_contain_text(f"100% allocated to {EXPERIMENT}")


def test_f11_make_decision__ships_test__frozen_layer_defaults_and_sdk_agree(
    console: Console,
) -> None:
    _seed(console.served)
    _started_through_the_api(console.served)
    console.sign_in()
    page = console.page
    console.go(f"/ui/experiments/{EXPERIMENT}")
    # Cancel leaves the experiment running.
    page.get_by_role("link", name="Make decision…").click()
    console.check()
    dialog = page.get_by_role("dialog", name="Make decision")
    expect(dialog).to_be_visible()
    dialog.get_by_role("link", name="Cancel").click()
    console.check()
    expect(page.get_by_role("dialog")).to_have_count(0)
    with console.served.console() as api:
        assert api.get(f"/experiments/{EXPERIMENT}").json()["data"]["status"] == "active"
    # Ship Test.
    page.get_by_role("link", name="Make decision…").click()
    dialog = page.get_by_role("dialog", name="Make decision")
    dialog.get_by_role("radio", name="Test").check()
    dialog.get_by_label("Reason for the decision").fill("Green won")
    dialog.get_by_role("button", name="Confirm decision").click()
    console.check()
    expect(page.locator("#status")).to_have_text("Decision made")
    expect(page.locator("#decision")).to_contain_text("Decision made: shipped Test")
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    expect(page.locator("#results-frozen")).to_have_text(f"Results frozen on {today}")
    expect(page.get_by_role("link", name="See the results")).to_have_attribute(
        "href", f"/ui/experiments/{EXPERIMENT}/results"
    )
    with console.served.console() as api:
        stored = api.get(f"/experiments/{EXPERIMENT}").json()["data"]
        layer = api.get(f"/layers/{LAYER}").json()["data"]
    test_group = next(g for g in stored["groups"] if g["name"] == "Test")
    assert stored["status"] == "decision_made" and stored["launchedGroupID"] == test_group["id"]
    assert layer["parameters"] == [
        {"name": "button_color", "type": "string", "defaultValue": "green"}
    ]
    # The layer page shows the new default; a new user gets it from the SDK API.
    console.go(f"/ui/layers/{LAYER}")
    expect(page.locator("[data-parameter=button_color]")).to_have_text('"green"')
    expect(page.locator("#allocation-text")).to_contain_text("100% available")
    for user_id in ("brand-new-user", *USERS[:10]):
        assert _layer_value(console.served, user_id)["value"] == {"button_color": "green"}


def test_layers_and_holdouts__catalogs_and_pages_show_what_the_api_holds(
    console: Console,
) -> None:
    _seed(console.served)
    _started_through_the_api(console.served)
    with console.served.console() as api:
        assert api.post("/holdouts", json={"name": "global_holdout"}).status_code == 200
        patched = api.patch(
            "/holdouts/global_holdout",
            json={"passPercentage": 5, "experimentIDs": [EXPERIMENT], "layerIDs": [LAYER]},
        )
        assert patched.status_code == 200, patched.text
        overrides = {
            "conditionalOverrides": [],
            "idOverrides": [{"groupName": "Test", "ids": ["qa-1"], "experimentName": EXPERIMENT}],
        }
        assert api.post(f"/layers/{LAYER}/overrides", json=overrides).status_code == 200
    console.sign_in()
    page = console.page
    # A layer created in the console, with a parameter.
    console.go("/ui/layers")
    page.get_by_text("Create layer").click()
    page.get_by_label("Name", exact=True).fill("pricing_layer")
    page.get_by_label("ID type").fill("userID")
    page.get_by_role("button", name="Create", exact=True).click()
    console.check()
    page.get_by_text("Add or change a parameter").click()
    page.get_by_label("Parameter name").fill("discount")
    page.get_by_label("Type").select_option(label="Number")
    page.get_by_label("Default value").fill("10")
    page.get_by_role("button", name="Save parameter").click()
    console.check()
    expect(page.locator("[data-parameter=discount]")).to_have_text("10")
    with console.served.console() as api:
        created = api.get("/layers/pricing_layer").json()["data"]
    assert created["idType"] == "userID"
    assert created["parameters"] == [{"name": "discount", "type": "number", "defaultValue": 10}]
    # The seeded layer, with its experiment and override.
    console.go("/ui/layers")
    page.get_by_role("link", name=LAYER).click()
    console.check()
    expect(page.get_by_role("button", name="Manage overrides (1)")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(f"qa-1 → {EXPERIMENT}: Test")
    # The overrides dialog: another user sent to the Control group, read back through the API.
    page.get_by_role("button", name="Manage overrides (1)").click()
    dialog = page.get_by_role("dialog", name=f"Overrides of {LAYER}")
    expect(dialog).to_be_visible()
    console.check()
    dialog.get_by_label("User IDs (one a line)").fill("qa-2")
    dialog.get_by_label("Experiment and group").select_option(label=f"{EXPERIMENT}: Control")
    dialog.get_by_role("button", name="Add overrides").click()
    console.check()
    expect(page.get_by_role("button", name="Manage overrides (2)")).to_be_visible()
    with console.served.console() as api:
        stored = api.get(f"/layers/{LAYER}/overrides").json()["data"]["idOverrides"]
    assert [(o["groupName"], o["ids"]) for o in stored] == [
        ("Test", ["qa-1"]),
        ("Control", ["qa-2"]),
    ]
    expect(page.get_by_role("row").filter(has_text="button_color")).to_contain_text('"grey"')
    console.go("/ui/holdouts")
    expect(page.get_by_role("row").filter(has_text="global_holdout")).to_contain_text("5%")
    page.get_by_role("link", name="global_holdout").click()
    console.check()
    expect(page).to_have_title("Holdout global_holdout · Lockgate")
    main = page.get_by_role("main")
    expect(main).to_contain_text("Everyone")
    expect(main).to_contain_text("5% of the population")
    expect(page.get_by_role("heading", name="Experiments (1)")).to_be_visible()
    expect(page.get_by_role("heading", name="Layers (1)")).to_be_visible()
    expect(page.get_by_role("heading", name="Gates (0)")).to_be_visible()
    page.get_by_role("link", name=EXPERIMENT).click()
    console.check()
    page.get_by_role("link", name="JSON").click()
    console.check()
    expect(page.locator("pre")).to_contain_text('"holdoutIDs"')


def test_experiment_page__read_only_member__disabled_with_reason_and_forged_post_refused(
    console: Console,
) -> None:
    _seed(console.served)
    _started_through_the_api(console.served)
    console.sign_in(READER_EMAIL, READER_PASSWORD)
    page = console.page
    console.go(f"/ui/experiments/{EXPERIMENT}")
    save = page.get_by_role("button", name="Save hypothesis")
    expect(save).to_be_disabled()
    expect(save).to_have_attribute("title", "Your role cannot edit experiments")
    page.get_by_text("Abandon…").click()
    expect(page.get_by_role("button", name="Confirm abandon")).to_be_disabled()
    console.expected_statuses.add(403)
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    response = page.request.post(
        f"{console.served.url}/ui/experiments/{EXPERIMENT}/abandon", form={"csrf": csrf or ""}
    )
    assert response.status == 403
    with console.served.console() as api:
        assert api.get(f"/experiments/{EXPERIMENT}").json()["data"]["status"] == "active"


def test_f10_overrides_dialog__id_override_added__api_sdk_and_exposure_stream_agree(
    console: Console,
) -> None:
    _seed(console.served)
    _started_through_the_api(console.served)
    console.sign_in()
    page = console.page
    console.go(f"/ui/experiments/{EXPERIMENT}")
    # The dialog opens as a modal from its button, with nothing overridden yet.
    page.get_by_role("button", name="Manage overrides (0)").click()
    dialog = page.get_by_role("dialog", name=f"Overrides of {EXPERIMENT}")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("table", name="ID overrides")).to_contain_text("No ID overrides.")
    console.check()
    dialog.get_by_label("Unit IDs (userID, one a line)").fill("qa-1\nqa-2")
    dialog.get_by_label("Group for these IDs").select_option(label="Test")
    dialog.get_by_role("button", name="Add ID override").click()
    console.check()
    # Back on the page with the dialog open again, listing the override.
    dialog = page.get_by_role("dialog", name=f"Overrides of {EXPERIMENT}")
    expect(dialog.get_by_role("table", name="ID overrides")).to_contain_text("qa-1, qa-2")
    expect(page.get_by_role("button", name="Manage overrides (2)")).to_be_visible()
    with console.served.console() as api:
        stored = api.get(f"/experiments/{EXPERIMENT}/overrides").json()["data"]
        experiment = api.get(f"/experiments/{EXPERIMENT}").json()["data"]
    test_group = next(g["id"] for g in experiment["groups"] if g["name"] == "Test")
    assert [(o["groupID"], o["ids"]) for o in stored["userIDOverrides"]] == [
        (test_group, ["qa-1", "qa-2"])
    ]
    # The SDK API puts the overridden users in Test, and logs their exposures.
    for user_id in ("qa-1", "qa-2"):
        config = _sdk(
            console.served,
            "/v1/get_config",
            {"configName": EXPERIMENT, "user": {"userID": user_id}},
        )
        assert config["group_name"] == "Test" and config["value"] == {"button_color": "green"}
    dialog.get_by_role("button", name="Close").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    # The diagnostics tab's exposure stream shows them, polling; paused, it asks for nothing.
    page.get_by_role("link", name="Diagnostics").click()
    console.check()
    stream = page.get_by_role("table", name="Newest 2 exposures")
    expect(stream.get_by_role("row").filter(has_text="qa-1")).to_contain_text("Test")
    pause = page.get_by_role("button", name="Pause")
    expect(pause).to_have_attribute("aria-pressed", "false")
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url))
    pause.click()
    expect(pause).to_have_attribute("aria-pressed", "true")
    _sdk(console.served, "/v1/get_config", {"configName": EXPERIMENT, "user": {"userID": "qa-3"}})
    page.wait_for_timeout(6_000)  # longer than one poll interval
    assert [url for url in polls if url.endswith("/exposure_stream")] == []
    expect(page.get_by_role("table", name="Newest 2 exposures")).to_be_visible()
    pause.click()
    expect(page.get_by_role("table", name="Newest 3 exposures")).to_contain_text(
        "qa-3", timeout=15_000
    )
    console.check()
