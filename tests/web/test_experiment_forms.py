"""The experiment, layer and holdout pages without a browser: each form endpoint refuses bad input
with a 422 page naming the problem and changes nothing; a read-only member's forged posts are
403s; the review rules hold changes back. In process, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from lockgate.faces.web.changes import REVIEW_NOTICE
from lockgate.faces.web.routes.experiments import ARCHIVED_REFUSAL, NEEDS_PRIMARY
from tests.contract.client import ContractClient
from tests.web.signed import Signed

EXPERIMENT = "checkout_test"


@pytest.fixture()
def experiment(api: ContractClient, app: FastAPI, project: Bootstrap) -> dict[str, Any]:
    """An experiment in setup, with a ``purchase`` event logged so its metrics exist."""
    with ContractClient(app, key=project.server_key) as sdk:
        logged = sdk.post(
            "/v1/rgstr",
            json={"events": [{"eventName": "purchase", "user": {"userID": "u1"}, "time": 1}]},
        )
        assert logged.status_code in (200, 202), logged.text
    created = api.post(
        "/console/v1/experiments", json={"name": EXPERIMENT, "hypothesis": "Green sells"}
    )
    assert created.status_code == 201, created.text
    stored: dict[str, Any] = created.json()["data"]
    return stored


def _stored(api: ContractClient, experiment_id: str = EXPERIMENT) -> dict[str, Any]:
    document: dict[str, Any] = api.get(f"/console/v1/experiments/{experiment_id}").json()["data"]
    return document


@pytest.mark.parametrize(
    ("action", "data", "fragment"),
    [
        (
            "groups",
            {"group_name": ["Control", "Test"], "group_size": ["50", "40"]},
            "add up to 100",
        ),
        (
            "groups",
            {"group_name": ["Control", "Test"], "group_size": ["50", "half"]},
            "The size of group Test must be a number from 0 to 100, got &#39;half&#39;",
        ),
        (
            "groups",
            {"group_name": ["Control"], "group_size": ["100"]},
            "Send a name and a size for each of the 2 groups",
        ),
        (
            "groups",
            {"group_name": ["Control", "control"], "group_size": ["50", "50"]},
            "used twice",
        ),
        (
            "parameters",
            {"name": "price", "type": "number", "value": ["1", "cheap"]},
            "The value for Test must be a number, got &#39;cheap&#39;",
        ),
        (
            "parameters",
            {"name": "copy", "type": "json", "value": ["{}", "{"]},
            "The value for Test is not valid JSON",
        ),
        (
            "parameters",
            {"name": "on", "type": "boolean", "value": ["true", "yes"]},
            "must be true or false",
        ),
        ("parameters", {"name": " ", "type": "string", "value": ["a", "b"]}, "needs a name"),
        ("parameters", {"name": "x", "type": "string", "value": ["a"]}, "one value for each"),
        (
            "parameters",
            {"name": "x", "type": "date", "value": ["a", "b"]},
            "Unknown parameter type",
        ),
        ("parameters/delete", {"name": "nope"}, "has no parameter &#39;nope&#39;"),
        ("allocation", {"allocation": "150"}, "allocation: must be a number from 0 to 100"),
        ("allocation", {"allocation": "lots"}, "The allocation must be a number"),
        ("targeting", {"gate": "no_such_gate"}, "gate &#39;no_such_gate&#39; does not exist"),
        ("layer", {"layer": "no_such_layer"}, "layer &#39;no_such_layer&#39; does not exist"),
        (
            "metrics",
            {"role": "primary", "metric": "refund::event_count"},
            "There is no metric refund (event_count)",
        ),
        (
            "metrics",
            {"role": "tertiary", "metric": "purchase::event_count"},
            "primary or secondary",
        ),
        ("metrics", {"role": "primary", "metric": "purchase"}, "Choose a metric from the catalog"),
        (
            "metrics",
            {"role": "primary", "metric": "purchase::event_count", "op": "remove"},
            "is not among these metrics",
        ),
        ("start", {}, NEEDS_PRIMARY),
        ("decision", {"group": "Test"}, "Experiment has not yet started"),
        ("abandon", {}, "Experiment has not yet started"),
        ("reset", {}, "Experiment has not yet started"),
    ],
)
def test_experiment_forms__bad_input__422_with_the_problem_and_nothing_changed(
    admin: Signed,
    api: ContractClient,
    experiment: dict[str, Any],
    action: str,
    data: dict[str, Any],
    fragment: str,
) -> None:
    before = _stored(api)
    response = admin.post(f"/ui/experiments/{EXPERIMENT}/{action}", data)
    assert response.status_code == 422
    assert 'role="alert"' in response.text and fragment in response.text
    assert _stored(api) == before


def test_make_decision__active_experiment_unknown_group__422_and_still_active(
    admin: Signed, api: ContractClient, experiment: dict[str, Any]
) -> None:
    assert api.put(f"/console/v1/experiments/{EXPERIMENT}/start").status_code == 200
    before = _stored(api)
    response = admin.post(f"/ui/experiments/{EXPERIMENT}/decision", {"group": "Nope"})
    assert response.status_code == 422 and "&#39;Nope&#39; is not a group" in response.text
    missing = admin.post(f"/ui/experiments/{EXPERIMENT}/decision", {"group": ""})
    assert missing.status_code == 422 and "Choose the group to ship." in missing.text
    assert _stored(api) == before


def test_setup_forms__valid_input__the_console_api_reads_it_back(
    admin: Signed, api: ContractClient, experiment: dict[str, Any]
) -> None:
    base = f"/ui/experiments/{EXPERIMENT}"
    steps: list[tuple[str, dict[str, Any]]] = [
        ("hypothesis", {"hypothesis": "Green buttons sell more"}),
        ("groups", {"group_name": ["Control", "Green"], "group_size": ["40", "60"]}),
        ("parameters", {"name": "button_color", "type": "string", "value": ["grey", "green"]}),
        ("parameters", {"name": "limits", "type": "json", "value": ["[1]", '{"a": 2}']}),
        ("allocation", {"allocation": "25.5"}),
        ("metrics", {"role": "primary", "metric": "purchase::event_count"}),
        ("metrics", {"role": "secondary", "metric": "purchase::event_user"}),
    ]
    for action, data in steps:
        response = admin.post(f"{base}/{action}", data)
        assert response.status_code == 303 and response.headers["location"] == base, action
    stored = _stored(api)
    assert stored["hypothesis"] == "Green buttons sell more"
    assert [(g["name"], g["size"]) for g in stored["groups"]] == [("Control", 40), ("Green", 60)]
    assert [g["parameterValues"] for g in stored["groups"]] == [
        {"button_color": "grey", "limits": [1]},
        {"button_color": "green", "limits": {"a": 2}},
    ]
    assert stored["allocation"] == 25.5
    assert stored["primaryMetrics"] == [{"name": "purchase", "type": "event_count"}]
    assert stored["secondaryMetrics"] == [{"name": "purchase", "type": "event_user"}]
    page = admin.get(base).text
    assert NEEDS_PRIMARY not in page
    assert admin.post(f"{base}/parameters/delete", {"name": "limits"}).status_code == 303
    assert all("limits" not in g["parameterValues"] for g in _stored(api)["groups"])


def test_experiment_page__read_only_member__controls_disabled_and_forged_posts_403(
    reader: Signed, api: ContractClient, experiment: dict[str, Any]
) -> None:
    page = reader.get(f"/ui/experiments/{EXPERIMENT}").text
    assert 'disabled title="Your role cannot edit experiments"' in page
    assert "Save hypothesis" in page and "Start" in page
    before = _stored(api)
    forged = [
        ("hypothesis", {"hypothesis": "sneaky"}),
        ("allocation", {"allocation": "10"}),
        ("start", {}),
        ("archive", {}),
        ("reset", {}),
    ]
    for action, data in forged:
        response = reader.post(f"/ui/experiments/{EXPERIMENT}/{action}", data)
        assert response.status_code == 403, action
    assert reader.post("/ui/experiments", {"name": "sneaky"}).status_code == 403
    assert reader.post("/ui/layers", {"name": "sneaky"}).status_code == 403
    assert reader.post("/ui/holdouts", {"name": "sneaky"}).status_code == 403
    assert reader.post("/ui/layers/nope/parameters", {"name": "sneaky"}).status_code == 403
    assert _stored(api) == before
    listed = api.get("/console/v1/experiments").json()["data"]
    assert [e["id"] for e in listed] == [EXPERIMENT]


def test_experiment_change__reviews_required__submitted_for_review_not_applied(
    admin: Signed, api: ContractClient, experiment: dict[str, Any]
) -> None:
    settings = {
        "is_config_review_required": True,
        "is_metric_review_required": False,
        "is_metric_review_required_on_verified_only": False,
    }
    assert api.post("/console/v1/settings/reviews", json=settings).status_code == 200
    response = admin.post(f"/ui/experiments/{EXPERIMENT}/allocation", {"allocation": "20"})
    assert response.status_code == 303
    assert response.headers["location"].endswith("?submitted=review")
    assert REVIEW_NOTICE in admin.get(response.headers["location"]).text
    assert _stored(api)["allocation"] == 100
    reviews = api.get(f"/console/v1/experiments/{EXPERIMENT}/reviews").json()["data"]
    assert len(reviews) == 1


def test_archive_then_unarchive__read_only_page_between__api_agrees(
    admin: Signed, api: ContractClient, experiment: dict[str, Any]
) -> None:
    base = f"/ui/experiments/{EXPERIMENT}"
    assert admin.post(f"{base}/archive", {"reason": "Replaced"}).status_code == 303
    assert _stored(api)["status"] == "archived"
    page = admin.get(base).text
    assert "this experiment is read-only" in page
    assert 'disabled title="Your role cannot edit experiments"' not in page
    assert page.count(f'disabled title="{ARCHIVED_REFUSAL}"') >= 5  # every setup control
    refused = admin.post(f"{base}/hypothesis", {"hypothesis": "late"})
    assert refused.status_code == 422 and "Unarchive it before editing it" in refused.text
    assert admin.post(f"{base}/unarchive", {}).status_code == 303
    assert _stored(api)["status"] == "setup" and _stored(api)["hypothesis"] == "Green sells"
    again = admin.post(f"{base}/unarchive", {})
    assert again.status_code == 422 and "Experiment is not archived" in again.text


def test_create_forms__bad_names__422_and_nothing_created(
    admin: Signed, api: ContractClient
) -> None:
    response = admin.post("/ui/experiments", {"name": "", "hypothesis": "kept"})
    assert response.status_code == 422 and 'role="alert"' in response.text
    assert 'value="kept"' in response.text
    assert admin.post("/ui/layers", {"name": "", "id_type": "userID"}).status_code == 422
    assert admin.post("/ui/holdouts", {"name": ""}).status_code == 422
    assert api.get("/console/v1/experiments").json()["data"] == []
    assert api.get("/console/v1/layers").json()["data"] == []
    assert api.get("/console/v1/holdouts").json()["data"] == []


def test_create_forms__valid__redirect_to_the_new_page_and_the_api_has_it(
    admin: Signed, api: ContractClient
) -> None:
    made = admin.post("/ui/experiments", {"name": "new_flow", "hypothesis": "Faster"})
    assert made.status_code == 303 and made.headers["location"] == "/ui/experiments/new_flow"
    assert _stored(api, "new_flow")["hypothesis"] == "Faster"
    layer = admin.post("/ui/layers", {"name": "web_layer", "id_type": "stableID"})
    assert layer.status_code == 303 and layer.headers["location"] == "/ui/layers/web_layer"
    assert api.get("/console/v1/layers/web_layer").json()["data"]["idType"] == "stableID"
    holdout = admin.post("/ui/holdouts", {"name": "web_holdout"})
    assert holdout.status_code == 303 and holdout.headers["location"] == "/ui/holdouts/web_holdout"
    page = admin.get("/ui/holdouts/web_holdout").text
    assert "0% of the population" in page and "Everyone" in page


def test_experiments_catalog__search_and_status__filter_the_rows(
    admin: Signed, api: ContractClient
) -> None:
    for name in ("alpha_banner", "beta_banner", "gamma_price"):
        assert api.post("/console/v1/experiments", json={"name": name}).status_code == 201
    assert api.put("/console/v1/experiments/beta_banner/start").status_code == 200
    found = admin.get("/ui/experiments", q="BANNER").text
    assert "alpha_banner" in found and "beta_banner" in found and "gamma_price" not in found
    active = admin.get("/ui/experiments", q="banner", status="active").text
    assert "beta_banner" in active and "alpha_banner" not in active
    assert "3 in all" in admin.get("/ui/experiments").text


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"name": "", "type": "string", "default": "a"}, "The parameter needs a name."),
        ({"name": "p", "type": "date", "default": "a"}, "Unknown parameter type &#39;date&#39;"),
        ({"name": "p", "type": "number", "default": "ten"}, "must be a number, got &#39;ten&#39;"),
        ({"name": "p", "type": "object", "default": "[1]"}, "defaultValue must be a object"),
        ({"name": "p", "type": "array", "default": "[1"}, "The default value is not valid JSON"),
        ({"name": "color", "type": "number", "default": "1"}, "used by experiment"),
    ],
)
def test_layer_parameter_form__bad_input__422_and_layer_unchanged(
    admin: Signed, api: ContractClient, data: dict[str, str], fragment: str
) -> None:
    layer = {
        "name": "shop",
        "idType": "userID",
        "parameters": [{"name": "color", "type": "string", "defaultValue": "grey"}],
    }
    assert api.post("/console/v1/layers", json=layer).status_code == 201
    experiment = {
        "name": "in_shop",
        "layerID": "shop",
        "groups": [
            {"name": "Control", "size": 50, "parameterValues": {"color": "grey"}},
            {"name": "Test", "size": 50, "parameterValues": {"color": "green"}},
        ],
    }
    assert api.post("/console/v1/experiments", json=experiment).status_code == 201
    before = api.get("/console/v1/layers/shop").json()["data"]
    response = admin.post("/ui/layers/shop/parameters", data)
    assert response.status_code == 422
    assert 'role="alert"' in response.text and fragment in response.text
    assert api.get("/console/v1/layers/shop").json()["data"] == before
    changed = admin.post("/ui/layers/shop/parameters", {"name": "color", "default": "blue"})
    assert changed.status_code == 303
    assert api.get("/console/v1/layers/shop").json()["data"]["parameters"] == [
        {"name": "color", "type": "string", "defaultValue": "blue"}
    ]


def test_unknown_entities__404_pages(admin: Signed) -> None:
    for path in ("/ui/experiments/nope", "/ui/layers/nope", "/ui/holdouts/nope"):
        assert admin.get(path).status_code == 404
    assert admin.post("/ui/experiments/nope/hypothesis", {"hypothesis": "x"}).status_code == 404
