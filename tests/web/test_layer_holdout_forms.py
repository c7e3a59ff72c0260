"""The layer and holdout pages' changes without a browser: removing a layer parameter, layer
overrides, holdout settings, covered entities and metrics, and holdout results. Each change is
read back through the Console API (and refused with the API's own message where the API refuses
it); bad input is a 422 that changes nothing; a read-only member's forged posts are 403s. In
process, on both databases."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from lockgate.faces.web import figures
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.storage.models import CustomEvent, Exposure
from tests.contract.client import ContractClient
from tests.web.signed import Signed

LAYER = "/ui/layers/shop"
HOLDOUT = "/ui/holdouts/web_holdout"
DAY = 86_400_000


def _data(api: ContractClient, path: str) -> Any:
    return api.get(f"/console/v1{path}").json()["data"]


@pytest.fixture()
def layer(api: ContractClient) -> None:
    """Layer ``shop`` with parameters ``color`` (set by experiment ``in_shop``) and ``size``."""
    created = api.post(
        "/console/v1/layers",
        json={
            "name": "shop",
            "idType": "userID",
            "parameters": [
                {"name": "color", "type": "string", "defaultValue": "grey"},
                {"name": "size", "type": "number", "defaultValue": 1},
            ],
        },
    )
    assert created.status_code == 201, created.text
    experiment = {
        "name": "in_shop",
        "layerID": "shop",
        "groups": [
            {"name": "Control", "size": 50, "parameterValues": {"color": "grey"}},
            {"name": "Test", "size": 50, "parameterValues": {"color": "green"}},
        ],
    }
    assert api.post("/console/v1/experiments", json=experiment).status_code == 201


def _target(experiment: str, group: str) -> str:
    return json.dumps([experiment, group])


def _audit(api: ContractClient, entity: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = api.get("/console/v1/audit_logs", params={"id": entity}).json()[
        "data"
    ]
    return entries


# --- layer parameters -------------------------------------------------------------------------


@pytest.mark.usefixtures("layer")
def test_remove_parameter__unused__gone_in_the_api_and_audited(
    admin: Signed, api: ContractClient
) -> None:
    response = admin.post(f"{LAYER}/parameters/remove", {"name": "size"})
    assert response.status_code == 303 and response.headers["location"] == LAYER
    assert _data(api, "/layers/shop")["parameters"] == [
        {"name": "color", "type": "string", "defaultValue": "grey"}
    ]
    assert _audit(api, "shop")[0]["actionType"] == "layer_update"
    assert "Remove parameter color" in admin.get(LAYER).text


@pytest.mark.usefixtures("layer")
def test_remove_parameter__used_by_an_experiment__refused_with_the_api_message(
    admin: Signed, api: ContractClient
) -> None:
    before = _data(api, "/layers/shop")
    refused = api.patch(
        "/console/v1/layers/shop",
        json={"parameters": [{"name": "size", "type": "number", "defaultValue": 1}]},
    )
    assert refused.status_code == 400
    # The API's message, without the envelope's "Invalid request." prefix.
    message = refused.json()["message"].removeprefix("Invalid request. ")
    assert "used by experiment 'in_shop', group 'Control'" in message
    response = admin.post(f"{LAYER}/parameters/remove", {"name": "color"})
    assert response.status_code == 422 and 'role="alert"' in response.text
    assert message.replace("'", "&#39;") in response.text
    assert _data(api, "/layers/shop") == before


@pytest.mark.usefixtures("layer")
def test_remove_parameter__unknown_name__422_naming_it_and_unchanged(
    admin: Signed, api: ContractClient
) -> None:
    before = _data(api, "/layers/shop")
    response = admin.post(f"{LAYER}/parameters/remove", {"name": "weight"})
    assert response.status_code == 422
    assert "Layer &#39;shop&#39; has no parameter &#39;weight&#39;." in response.text
    assert _data(api, "/layers/shop") == before


# --- layer overrides --------------------------------------------------------------------------


@pytest.mark.usefixtures("layer")
def test_layer_overrides__add_then_remove__api_reads_what_the_page_wrote(
    admin: Signed, api: ContractClient
) -> None:
    page = admin.get(LAYER, dialog="overrides").text
    assert '<dialog id="overrides-dialog" aria-labelledby="overrides-dialog-h" open>' in page
    assert "in_shop: Test" in page
    added = admin.post(
        f"{LAYER}/overrides", {"ids": "u1\n u2 \n\nu1", "target": _target("in_shop", "Test")}
    )
    assert added.status_code == 303
    stored = _data(api, "/layers/shop/overrides")
    assert stored["idOverrides"] == [
        {
            "groupName": "Test",
            "ids": ["u1", "u2"],
            "idType": "userID",
            "environment": None,
            "experimentName": "in_shop",
        }
    ]
    assert _audit(api, "shop")[0]["actionType"] == "layer_overrides_update"
    assert "Manage overrides (2)" in admin.get(LAYER).text
    removed = admin.post(
        f"{LAYER}/overrides/remove",
        {"kind": "ids", "ids": "u1", "target": _target("in_shop", "Test")},
    )
    assert removed.status_code == 303
    assert _data(api, "/layers/shop/overrides")["idOverrides"][0]["ids"] == ["u2"]


@pytest.mark.usefixtures("layer")
def test_layer_overrides__conditional_one__removed_alone(
    admin: Signed, api: ContractClient
) -> None:
    assert api.post("/console/v1/gates", json={"name": "staff"}).status_code == 201
    body = {
        "conditionalOverrides": [
            {"type": "gate", "name": "staff", "experimentName": "in_shop", "groupName": "Test"}
        ],
        "idOverrides": [{"ids": ["u9"], "experimentName": "in_shop", "groupName": "Control"}],
    }
    assert api.post("/console/v1/layers/shop/overrides", json=body).status_code == 200
    removed = admin.post(
        f"{LAYER}/overrides/remove",
        {"kind": "gate", "condition": "staff", "target": _target("in_shop", "Test")},
    )
    assert removed.status_code == 303
    stored = _data(api, "/layers/shop/overrides")
    assert stored["conditionalOverrides"] == []
    assert stored["idOverrides"][0]["ids"] == ["u9"]


@pytest.mark.usefixtures("layer")
@pytest.mark.parametrize("kind", ["gate", "segment"])
def test_layer_overrides__conditional_added_on_the_page__api_reads_it_and_sdk_follows(
    admin: Signed, api: ContractClient, app: FastAPI, project: Bootstrap, kind: str
) -> None:
    # Given a gate (or segment) that staff pass
    rule = {
        "name": "Staff",
        "passPercentage": 100,
        "conditions": [
            {"type": "email", "operator": "str_ends_with_any", "targetValue": ["@acme.com"]}
        ],
    }
    path = "/console/v1/gates" if kind == "gate" else "/console/v1/segments"
    extra = {} if kind == "gate" else {"type": "rule_based"}
    assert api.post(path, json={"name": "staff", "rules": [rule], **extra}).status_code == 201
    page = admin.get(LAYER, dialog="overrides").text
    assert 'action="/ui/layers/shop/overrides/conditional"' in page

    # When an override sends them to in_shop's Test group from the overrides dialog
    added = admin.post(
        f"{LAYER}/overrides/conditional",
        {"kind": kind, "condition": " staff ", "target": _target("in_shop", "Test")},
    )

    # Then the Console API reads it, the change is audited, and the page lists it
    assert added.status_code == 303
    stored = _data(api, "/layers/shop/overrides")
    assert stored["conditionalOverrides"] == [
        {"type": kind, "name": "staff", "experimentName": "in_shop", "groupName": "Test"}
    ]
    assert _audit(api, "shop")[0]["actionType"] == "layer_overrides_update"
    assert f"Users passing {kind} staff → in_shop: Test" in admin.get(LAYER).text
    # and the SDK gives a staff member the Test group's parameter values
    with ContractClient(app, key=project.server_key) as sdk:
        served = sdk.post(
            "/v1/get_layer",
            json={"layerName": "shop", "user": {"userID": "ann", "email": "ann@acme.com"}},
        )
        assert served.status_code == 200, served.text
        assert served.json()["value"]["color"] == "green"


@pytest.mark.usefixtures("layer")
@pytest.mark.parametrize(
    ("action", "data", "fragment"),
    [
        ("overrides", {"ids": "", "target": _target("in_shop", "Test")}, "at least one user ID"),
        ("overrides", {"ids": "u1", "target": "in_shop"}, "Choose an experiment of this layer"),
        (
            "overrides",
            {"ids": "u1", "target": _target("elsewhere", "Test")},
            "&#39;elsewhere&#39; is not an experiment of this layer",
        ),
        (
            "overrides",
            {"ids": "u1", "target": _target("in_shop", "Treatment")},
            "&#39;Treatment&#39; is not a group of experiment &#39;in_shop&#39;",
        ),
        (
            "overrides/remove",
            {"kind": "ids", "ids": "u7", "target": _target("in_shop", "Test")},
            "No override sends u7 to in_shop: Test.",
        ),
        (
            "overrides/remove",
            {"kind": "ids", "ids": "", "target": _target("in_shop", "Test")},
            "No override sends these IDs to in_shop: Test.",
        ),
        (
            "overrides/remove",
            {"kind": "gate", "condition": "staff", "target": _target("in_shop", "Test")},
            "No override sends gate staff to in_shop.",
        ),
        (
            "overrides/remove",
            {"kind": "everything", "target": _target("in_shop", "Test")},
            "Unknown override kind &#39;everything&#39;.",
        ),
        (
            "overrides/conditional",
            {"kind": "everyone", "condition": "staff", "target": _target("in_shop", "Test")},
            "Unknown override kind &#39;everyone&#39;: choose a gate or a segment.",
        ),
        (
            "overrides/conditional",
            {"kind": "gate", "condition": " ", "target": _target("in_shop", "Test")},
            "Name the gate whose users the override sends.",
        ),
        (
            "overrides/conditional",
            {"kind": "segment", "condition": "staff", "target": _target("in_shop", "Test")},
            "segment &#39;staff&#39; does not exist",
        ),
        (
            "overrides/conditional",
            {"kind": "gate", "condition": "no_such_gate", "target": _target("in_shop", "Test")},
            "gate &#39;no_such_gate&#39; does not exist",
        ),
    ],
)
def test_layer_overrides__bad_input__422_and_overrides_unchanged(
    admin: Signed, api: ContractClient, action: str, data: dict[str, str], fragment: str
) -> None:
    body = {"idOverrides": [{"ids": ["u1"], "experimentName": "in_shop", "groupName": "Test"}]}
    assert api.post("/console/v1/layers/shop/overrides", json=body).status_code == 200
    before = _data(api, "/layers/shop")
    overrides = _data(api, "/layers/shop/overrides")
    response = admin.post(f"{LAYER}/{action}", data)
    assert response.status_code == 422
    assert 'role="alert"' in response.text and fragment in response.text
    assert _data(api, "/layers/shop/overrides") == overrides
    assert _data(api, "/layers/shop") == before


# --- holdouts ---------------------------------------------------------------------------------


@pytest.fixture()
def holdout(api: ContractClient) -> None:
    """Holdout ``web_holdout``, gate ``staff`` and experiment ``banner`` to cover."""
    assert api.post("/console/v1/holdouts", json={"name": "web_holdout"}).status_code == 200
    assert api.post("/console/v1/gates", json={"name": "staff"}).status_code == 201
    assert api.post("/console/v1/experiments", json={"name": "banner"}).status_code == 201


@pytest.mark.usefixtures("holdout")
def test_holdout_settings__saved__api_reads_them_and_audit_names_the_member(
    admin: Signed, api: ContractClient
) -> None:
    form = {
        "description": " Q3 long-term ",
        "percentage": "2.5",
        "gate": "staff",
        "global": "on",
        "enabled": "on",
    }
    response = admin.post(f"{HOLDOUT}/settings", form)
    assert response.status_code == 303 and response.headers["location"] == HOLDOUT
    stored = _data(api, "/holdouts/web_holdout")
    assert stored["description"] == "Q3 long-term"
    assert stored["passPercentage"] == 2.5
    assert stored["targetingGateID"] == "staff"
    assert stored["isGlobal"] is True and stored["isEnabled"] is True
    entry = _audit(api, "web_holdout")[0]
    assert entry["actionType"] == "holdout_update"
    assert "admin@acme.com" in json.dumps(entry)
    page = admin.get(HOLDOUT).text
    assert "2.5% of the population" in page and "Users passing gate" in page
    # Unchecked boxes are not sent: the holdout becomes selected and disabled, everyone again.
    cleared = admin.post(f"{HOLDOUT}/settings", {"description": "", "percentage": "0"})
    assert cleared.status_code == 303
    stored = _data(api, "/holdouts/web_holdout")
    assert (stored["isGlobal"], stored["isEnabled"], stored["targetingGateID"]) == (
        False,
        False,
        None,
    )


@pytest.mark.usefixtures("holdout")
@pytest.mark.parametrize(
    ("form", "fragment"),
    [
        ({"percentage": "11"}, "passPercentage: Input should be less than or equal to 10"),
        ({"percentage": "-1"}, "passPercentage: Input should be greater than or equal to 0"),
        ({"percentage": "ten"}, "must be a number from 0 to 10, got &#39;ten&#39;"),
        ({"percentage": "nan"}, "must be a number from 0 to 10, got &#39;nan&#39;"),
        ({"percentage": "1", "gate": "nope"}, "no gate with id &#39;nope&#39; exists"),
        ({"percentage": "1", "description": "x" * 1001}, "description: String should have at"),
    ],
)
def test_holdout_settings__bad_input__422_and_holdout_unchanged(
    admin: Signed, api: ContractClient, form: dict[str, str], fragment: str
) -> None:
    before = _data(api, "/holdouts/web_holdout")
    response = admin.post(f"{HOLDOUT}/settings", {"enabled": "on", **form})
    assert response.status_code == 422
    assert 'role="alert"' in response.text and fragment in response.text
    assert _data(api, "/holdouts/web_holdout") == before


@pytest.mark.usefixtures("holdout", "layer")
def test_holdout_covers__add_each_kind_then_remove__api_agrees(
    admin: Signed, api: ContractClient
) -> None:
    for kind, entity in (("gate", "staff"), ("experiment", "banner"), ("layer", "shop")):
        response = admin.post(f"{HOLDOUT}/covers", {"kind": kind, "entity": entity})
        assert response.status_code == 303, response.text
    stored = _data(api, "/holdouts/web_holdout")
    assert (stored["gateIDs"], stored["experimentIDs"], stored["layerIDs"]) == (
        ["staff"],
        ["banner"],
        ["shop"],
    )
    page = admin.get(HOLDOUT).text
    assert "Gates (1)" in page and 'aria-label="Remove layer shop"' in page
    removed = admin.post(f"{HOLDOUT}/covers", {"kind": "gate", "entity": "staff", "op": "remove"})
    assert removed.status_code == 303
    assert _data(api, "/holdouts/web_holdout")["gateIDs"] == []
    assert _data(api, "/holdouts/web_holdout")["layerIDs"] == ["shop"]


@pytest.mark.usefixtures("holdout")
@pytest.mark.parametrize(
    ("form", "fragment"),
    [
        (
            {"kind": "gate", "entity": "ghost"},
            "no gate with id &#39;ghost&#39; exists in this project",
        ),
        ({"kind": "segment", "entity": "staff"}, "Unknown kind &#39;segment&#39;"),
        ({"kind": "gate", "entity": " "}, "Give the id of the gate to add."),
        ({"kind": "gate", "entity": "covered"}, "already covers gate &#39;covered&#39;"),
        (
            {"kind": "experiment", "entity": "banner", "op": "remove"},
            "does not cover experiment &#39;banner&#39;",
        ),
        ({"kind": "gate", "entity": "staff", "op": "swap"}, "Choose Add or Remove."),
    ],
)
def test_holdout_covers__bad_input__422_and_holdout_unchanged(
    admin: Signed, api: ContractClient, form: dict[str, str], fragment: str
) -> None:
    assert api.post("/console/v1/gates", json={"name": "covered"}).status_code == 201
    patched = api.patch("/console/v1/holdouts/web_holdout", json={"gateIDs": ["covered"]})
    assert patched.status_code == 200
    before = _data(api, "/holdouts/web_holdout")
    response = admin.post(f"{HOLDOUT}/covers", form)
    assert response.status_code == 422
    assert 'role="alert"' in response.text and fragment in response.text
    assert _data(api, "/holdouts/web_holdout") == before


@pytest.mark.usefixtures("holdout")
def test_holdout_metrics__add_remove_and_bad_metric__api_agrees(
    admin: Signed, api: ContractClient
) -> None:
    metric = {"name": "buy_value", "type": "sum", "metricEvents": [{"name": "buy"}]}
    assert api.post("/console/v1/metrics", json=metric).status_code == 201
    added = admin.post(f"{HOLDOUT}/metrics", {"metric": "buy_value::sum"})
    assert added.status_code == 303
    stored = _data(api, "/holdouts/web_holdout")["monitoringMetrics"]
    assert stored == [{"name": "buy_value", "type": "sum"}]
    refused = admin.post(f"{HOLDOUT}/metrics", {"metric": "ghost::sum"})
    assert refused.status_code == 422 and "There is no metric ghost (sum)." in refused.text
    removed = admin.post(f"{HOLDOUT}/metrics", {"metric": "buy_value::sum", "op": "remove"})
    assert removed.status_code == 303
    assert _data(api, "/holdouts/web_holdout")["monitoringMetrics"] == []


@pytest.mark.usefixtures("holdout")
def test_holdout_change__reviews_required__applied_as_the_api_does_with_the_header(
    admin: Signed, api: ContractClient
) -> None:
    """Holdouts are not a reviewed kind: the Console API applies their changes even when it is
    asked to respect review settings, and so does the page."""
    settings = {
        "is_config_review_required": True,
        "is_metric_review_required": False,
        "is_metric_review_required_on_verified_only": False,
    }
    assert api.post("/console/v1/settings/reviews", json=settings).status_code == 200
    through_api = api.patch(
        "/console/v1/holdouts/web_holdout",
        json={"description": "by api"},
        headers={"x-respect-review-settings": "true"},
    )
    assert through_api.json()["message"] == "Holdout updated successfully."
    response = admin.post(f"{HOLDOUT}/settings", {"description": "by page", "percentage": "1"})
    assert response.status_code == 303 and "submitted=review" not in response.headers["location"]
    assert _data(api, "/holdouts/web_holdout")["description"] == "by page"


@pytest.mark.usefixtures("holdout", "layer")
def test_forged_posts__read_only_member__403_and_nothing_changed(
    reader: Signed, api: ContractClient
) -> None:
    layer_before = _data(api, "/layers/shop")
    overrides_before = _data(api, "/layers/shop/overrides")
    holdout_before = _data(api, "/holdouts/web_holdout")
    page = reader.get(HOLDOUT).text
    assert 'disabled title="Your role cannot edit holdouts"' in page
    assert 'disabled title="Your role cannot edit layers"' in reader.get(LAYER).text
    forged = [
        (f"{LAYER}/parameters/remove", {"name": "size"}),
        (f"{LAYER}/overrides", {"ids": "u1", "target": _target("in_shop", "Test")}),
        (f"{LAYER}/overrides/remove", {"kind": "ids", "ids": "u1", "target": "[]"}),
        (
            f"{LAYER}/overrides/conditional",
            {"kind": "gate", "condition": "staff", "target": _target("in_shop", "Test")},
        ),
        (f"{HOLDOUT}/settings", {"description": "sneaky", "percentage": "10"}),
        (f"{HOLDOUT}/covers", {"kind": "gate", "entity": "staff"}),
        (f"{HOLDOUT}/metrics", {"metric": "buy::event_count"}),
        (f"{HOLDOUT}/load_pulse", {}),
    ]
    for path, data in forged:
        assert reader.post(path, data).status_code == 403, path
    assert _data(api, "/layers/shop") == layer_before
    assert _data(api, "/layers/shop/overrides") == overrides_before
    assert _data(api, "/holdouts/web_holdout") == holdout_before
    assert 'disabled title="Your role cannot load Pulse results">Load results' in page
    assert "No loads yet" in reader.get(HOLDOUT).text


def test_unknown_holdout_or_layer__posts_404(admin: Signed) -> None:
    assert admin.post("/ui/holdouts/nope/settings", {"percentage": "1"}).status_code == 404
    assert admin.post("/ui/holdouts/nope/covers", {"kind": "gate"}).status_code == 404
    assert admin.post("/ui/layers/nope/parameters/remove", {"name": "x"}).status_code == 404
    assert admin.post("/ui/layers/nope/overrides", {"ids": "u1"}).status_code == 404


# --- holdout results --------------------------------------------------------------------------


def _holdout_results(
    api: ContractClient, app: FastAPI, db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    """Exposures of gate ``staff`` carrying the holdout's trace: even users held out, odd ones
    not; not-held-out users buy once more. Then the daily Pulse schedule runs."""
    patched = api.patch(
        "/console/v1/holdouts/web_holdout",
        json={
            "passPercentage": 10,
            "gateIDs": ["staff"],
            "monitoringMetrics": [{"name": "buy", "type": "event_count"}],
        },
    )
    assert patched.status_code == 200, patched.text
    now = clock.now_ms()
    with db.transaction() as session:
        for i in range(200):
            held, exposed = i % 2 == 0, now - DAY - i * 1000
            session.add(
                Exposure(
                    project_id=project.project.id,
                    kind="gate",
                    name="staff",
                    rule_id="default",
                    value="false" if held else "true",
                    user_id=f"u{i}",
                    time=exposed,
                    received_time=exposed,
                    secondary_exposures=[
                        {
                            "gate": "web_holdout",
                            "gateValue": "true" if held else "false",
                            "ruleID": "population",
                        }
                    ],
                )
            )
            for k in range(i % 3 + (0 if held else 1)):
                session.add(
                    CustomEvent(
                        project_id=project.project.id,
                        event_name="buy",
                        user_id=f"u{i}",
                        time=exposed + 10 + k,
                        received_time=exposed + 10 + k,
                    )
                )
    assert app.state.pulse_runner.run_pending() == 1


@pytest.mark.usefixtures("holdout")
def test_holdout_results__scorecard_shows_what_the_api_answers(
    admin: Signed,
    api: ContractClient,
    app: FastAPI,
    db: Database,
    project: Bootstrap,
    clock: ManualClock,
) -> None:
    assert "No Pulse results yet" in admin.get(HOLDOUT).text
    _holdout_results(api, app, db, project, clock)
    page = admin.get(HOLDOUT, ci="90", cuped="0", metric="buy::event_count")
    assert page.status_code == 200, page.text
    answer = api.get(
        "/console/v1/holdouts/web_holdout/pulse_results",
        params={"confidence": "90", "cuped": "false"},
    ).json()["data"]
    (metric,) = answer["monitoringMetrics"]
    assert (metric["controlUnits"], metric["testUnits"]) == (100, 100)
    text = figures.percent_text(metric["percentChange"], metric["percentConfidenceIntervalDelta"])
    assert f">{text}</td>" in page.text
    assert '<table class="scorecard">' in page.text and "<h3>Monitoring metrics</h3>" in page.text
    assert "Not held out relative to Held out (the control)" in page.text
    assert '<option value="90" selected>' in page.text
    # The metric's detail is open in the markup, with the units of each side.
    assert '<dialog id="detail-1" aria-labelledby="detail-1-h" open>' in page.text
    assert "Held out (Control)" in page.text and '<td class="num">100</td>' in page.text


@pytest.mark.usefixtures("holdout")
@pytest.mark.parametrize(
    ("params", "needle"),
    [({"ci": "97"}, "ci: must be one of 80, 90, 95, 99"), ({"cuped": "yes"}, "cuped: must be")],
)
def test_holdout_results__bad_setting__400_naming_it(
    admin: Signed, params: dict[str, str], needle: str
) -> None:
    page = admin.get(HOLDOUT, **params)
    assert page.status_code == 400 and needle in page.text


def _loads(page: str) -> list[tuple[str, str]]:
    """The status and progress of each load the page lists, newest first."""
    return re.findall(r'<tr data-status="([a-z]+)">.*?data-progress="(\d+)"', page)


@pytest.mark.usefixtures("holdout")
def test_holdout_load__load_results__queued_then_run_with_status_and_progress(
    admin: Signed,
    api: ContractClient,
    app: FastAPI,
    db: Database,
    project: Bootstrap,
    clock: ManualClock,
) -> None:
    # Given a holdout whose results the daily schedule has loaded once
    _holdout_results(api, app, db, project, clock)
    assert _loads(admin.get(HOLDOUT).text) == [("succeeded", "100")]

    # When Load results is pressed
    queued = admin.post(f"{HOLDOUT}/load_pulse", {})

    # Then a full load is queued in the member's name, listed before the daily one
    assert queued.status_code == 303
    assert queued.headers["location"] == f"{HOLDOUT}#loads-h"
    page = admin.get(HOLDOUT).text
    assert _loads(page) == [("queued", "0"), ("succeeded", "100")]
    assert "<td>admin@acme.com</td><td>full</td>" in page
    assert "Refresh the status" in page
    # and when the Pulse runner takes it, it succeeds and the scorecard stays the API's answer
    assert app.state.pulse_runner.run_pending() == 1
    page = admin.get(HOLDOUT, cuped="0").text
    assert _loads(page) == [("succeeded", "100"), ("succeeded", "100")]
    assert "Refresh the status" not in page
    answer = api.get(
        "/console/v1/holdouts/web_holdout/pulse_results", params={"cuped": "false"}
    ).json()["data"]
    (metric,) = answer["monitoringMetrics"]
    text = figures.percent_text(metric["percentChange"], metric["percentConfidenceIntervalDelta"])
    assert f">{text}</td>" in page


def test_holdout_load__unknown_holdout__404_and_nothing_queued(admin: Signed, app: FastAPI) -> None:
    assert admin.post("/ui/holdouts/nope/load_pulse", {}).status_code == 404
    assert app.state.pulse_runner.run_pending() == 0
