"""The experiment page's overrides dialog, significance settings, target duration, exposure
stream and the home page's experiments needing attention, without a browser: each change is read
back through the Console API (and the SDK API for overrides), bad values are refused with the
problem named and nothing changed, a read-only member's forged posts are 403s. In process, on
both databases."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.clock import ManualClock
from tests.contract.client import ContractClient
from tests.web import test_experiment_forms as forms
from tests.web.signed import Signed, sign_in
from tests.web.test_experiment_forms import EXPERIMENT

# The experiment page's fixture: an experiment in setup (the signed-in admin and read-only
# member and the Console API come from tests/web/conftest.py).
experiment = forms.experiment

BASE = f"/ui/experiments/{EXPERIMENT}"
DAY_MS = 86_400_000


def _stored(api: ContractClient) -> dict[str, Any]:
    return forms._stored(api)


def _overrides(api: ContractClient) -> dict[str, Any]:
    answer: dict[str, Any] = api.get(f"/console/v1/experiments/{EXPERIMENT}/overrides").json()
    return answer["data"]  # type: ignore[no-any-return]


def _group(experiment: dict[str, Any], name: str) -> str:
    return str(next(g["id"] for g in experiment["groups"] if g["name"] == name))


def _get_config(app: FastAPI, project: Bootstrap, user_id: str) -> dict[str, Any]:
    with ContractClient(app, key=project.server_key) as sdk:
        response = sdk.post(
            "/v1/get_config", json={"configName": EXPERIMENT, "user": {"userID": user_id}}
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


def test_overrides__add_ids_and_gate_then_remove__api_and_sdk_agree(
    admin: Signed,
    api: ContractClient,
    experiment: dict[str, Any],
    app: FastAPI,
    project: Bootstrap,
) -> None:
    # Given a running experiment and a gate
    assert api.put(f"/console/v1/experiments/{EXPERIMENT}/start").status_code == 200
    assert api.post("/console/v1/gates", json={"name": "staff"}).status_code == 201
    test = _group(experiment, "Test")
    # When IDs and a gate are forced into Test through the dialog's forms
    added = admin.post(
        f"{BASE}/overrides", {"kind": "ids", "group": test, "ids": "qa-1\n qa-2 \n\nqa-1"}
    )
    assert added.status_code == 303 and added.headers["location"] == f"{BASE}?dialog=overrides"
    gated = admin.post(f"{BASE}/overrides", {"kind": "gate", "group": test, "target": "staff"})
    assert gated.status_code == 303
    # Then the Console API shows them, the SDK gives an overridden user Test, the page lists them
    stored = _overrides(api)
    assert [(o["groupID"], o["ids"]) for o in stored["userIDOverrides"]] == [
        (test, ["qa-1", "qa-2"])
    ]
    assert [(o["type"], o["id"], o["groupID"]) for o in stored["overrides"]] == [
        ("gate", "staff", test)
    ]
    assert _get_config(app, project, "qa-1")["group_name"] == "Test"
    page = admin.get(BASE, dialog="overrides").text
    assert "Manage overrides (3)" in page and "qa-1, qa-2" in page
    assert '<dialog id="overrides-dialog" aria-labelledby="overrides-dialog-h" open>' in page
    # When one ID and the gate are removed
    removed = admin.post(f"{BASE}/overrides/delete", {"kind": "ids", "group": test, "ids": "qa-1"})
    assert removed.status_code == 303
    ungated = admin.post(
        f"{BASE}/overrides/delete", {"kind": "gate", "group": test, "target": "staff"}
    )
    assert ungated.status_code == 303
    # Then only qa-2 is left, and qa-1 is bucketed like anyone again
    stored = _overrides(api)
    assert [o["ids"] for o in stored["userIDOverrides"]] == [["qa-2"]]
    assert stored["overrides"] == []
    assert "id_override" not in str(_get_config(app, project, "qa-1")["rule_id"])
    assert "id_override" in str(_get_config(app, project, "qa-2")["rule_id"])
    audit = api.get("/console/v1/audit_logs", params={"id": EXPERIMENT}).json()["data"]
    assert sum(1 for row in audit if row["actionType"] == "experiment_overrides_update") == 4


@pytest.mark.parametrize(
    ("path", "data", "fragment"),
    [
        ("overrides", {"kind": "ids", "group": "Test", "ids": " \n "}, "at least one unit ID"),
        ("overrides", {"kind": "ids", "group": "", "ids": "a"}, "Choose the group"),
        (
            "overrides",
            {"kind": "ids", "group": "Nope", "ids": "a"},
            "&#39;Nope&#39; is not a group of this experiment",
        ),
        (
            "overrides",
            {"kind": "gate", "group": "Test", "target": "no_gate"},
            "gate &#39;no_gate&#39; does not exist",
        ),
        ("overrides", {"kind": "segment", "group": "Test", "target": " "}, "Name the segment"),
        ("overrides", {"kind": "rule", "group": "Test"}, "Choose an ID, gate or segment"),
        (
            "overrides/delete",
            {"kind": "ids", "group": "Test", "ids": "ghost"},
            "has no override of ghost",
        ),
        (
            "significance",
            {"confidence": "97", "analytics": "frequentist"},
            "The confidence level must be one of 80%, 90%, 95%, 98%, 99%, got &#39;97&#39;",
        ),
        (
            "significance",
            {"confidence": "95", "analytics": "magic"},
            "The analysis must be one of",
        ),
        (
            "significance",
            {"confidence": "95", "analytics": "frequentist", "switch": ["peeking"]},
            "Unknown significance setting &#39;peeking&#39;",
        ),
        (
            "target",
            {"duration": "two weeks"},
            "The target duration (days) must be a whole number, got &#39;two weeks&#39;",
        ),
        ("target", {"duration": "1"}, "The target duration (days) must be from 2 to"),
        ("target", {"duration": "14", "exposures": "-5"}, "The target exposures must be from 2"),
        ("target", {"duration": "2.5"}, "must be a whole number, got &#39;2.5&#39;"),
    ],
)
def test_settings_forms__bad_values__422_with_the_problem_and_nothing_changed(
    admin: Signed,
    api: ContractClient,
    experiment: dict[str, Any],
    path: str,
    data: dict[str, Any],
    fragment: str,
) -> None:
    before = _stored(api)
    response = admin.post(f"{BASE}/{path}", data)
    assert response.status_code == 422
    assert 'role="alert"' in response.text and fragment in response.text
    assert _stored(api) == before
    if path.startswith("overrides"):
        # the dialog is shown again, open, with the refusal
        assert 'aria-labelledby="overrides-dialog-h" open>' in response.text


def test_significance_and_target__saved__the_console_api_reads_them_back(
    admin: Signed, api: ContractClient, experiment: dict[str, Any]
) -> None:
    saved = admin.post(
        f"{BASE}/significance",
        {
            "confidence": "90",
            "analytics": "frequentist",
            "switch": ["sequentialTesting", "bonferroniCorrection"],
        },
    )
    assert saved.status_code == 303
    target = admin.post(f"{BASE}/target", {"duration": "21", "exposures": "5000"})
    assert target.status_code == 303
    stored = _stored(api)
    assert stored["defaultConfidenceInterval"] == "90"
    assert stored["sequentialTesting"] is True and stored["bonferroniCorrection"] is True
    assert stored["duration"] == 21 and stored["targetExposures"] == 5000
    page = admin.get(BASE).text
    assert '<option value="90" selected>90% (\u03b1 = 0.10)</option>' in page
    assert 'value="sequentialTesting" checked' in page
    # Unchecked boxes turn the switches off; an empty exposure target clears it.
    assert (
        admin.post(
            f"{BASE}/significance", {"confidence": "95", "analytics": "frequentist"}
        ).status_code
        == 303
    )
    assert admin.post(f"{BASE}/target", {"duration": "14", "exposures": ""}).status_code == 303
    stored = _stored(api)
    assert stored["sequentialTesting"] is False and stored["bonferroniCorrection"] is False
    assert stored["duration"] == 14 and stored.get("targetExposures") is None


def test_settings__read_only_member__forged_posts_403_and_nothing_changed(
    reader: Signed, api: ContractClient, experiment: dict[str, Any]
) -> None:
    before, overrides_before = _stored(api), _overrides(api)
    test = _group(experiment, "Test")
    forged = [
        ("overrides", {"kind": "ids", "group": test, "ids": "sneaky"}),
        ("overrides/delete", {"kind": "ids", "group": test, "ids": "sneaky"}),
        ("significance", {"confidence": "80", "analytics": "frequentist"}),
        ("target", {"duration": "30"}),
    ]
    for path, data in forged:
        assert reader.post(f"{BASE}/{path}", data).status_code == 403, path
    assert _stored(api) == before and _overrides(api) == overrides_before
    page = reader.get(BASE).text
    assert page.count('disabled title="Your role cannot edit experiments"') >= 10


def test_overrides__reviews_required__submitted_for_review_not_applied(
    admin: Signed, api: ContractClient, experiment: dict[str, Any]
) -> None:
    settings = {
        "is_config_review_required": True,
        "is_metric_review_required": False,
        "is_metric_review_required_on_verified_only": False,
    }
    assert api.post("/console/v1/settings/reviews", json=settings).status_code == 200
    test = _group(experiment, "Test")
    response = admin.post(f"{BASE}/overrides", {"kind": "ids", "group": test, "ids": "qa-9"})
    assert response.status_code == 303
    assert response.headers["location"].endswith("?submitted=review&dialog=overrides")
    assert _overrides(api)["userIDOverrides"] == []


def test_exposure_stream__exposure_logged_through_rgstr__listed_with_unit_and_group(
    admin: Signed,
    api: ContractClient,
    experiment: dict[str, Any],
    app: FastAPI,
    project: Bootstrap,
    clock: ManualClock,
) -> None:
    assert api.put(f"/console/v1/experiments/{EXPERIMENT}/start").status_code == 200
    empty = admin.get(f"{BASE}/exposure_stream").text
    assert "No exposures logged yet." in empty
    exposure = {
        "eventName": "statsig::config_exposure",
        "user": {"userID": "streamed-user"},
        "time": clock.now_ms(),
        "metadata": {"config": EXPERIMENT, "ruleID": _group(experiment, "Test")},
    }
    with ContractClient(app, key=project.server_key) as sdk:
        logged = sdk.post("/v1/rgstr", json={"events": [exposure]})
        assert logged.status_code in (200, 202), logged.text
    rows = admin.get(f"{BASE}/exposure_stream").text
    assert '<td class="mono">streamed-user</td><td>Test</td>' in rows
    assert "<html" not in rows  # the rows alone, for the poll to swap in
    page = admin.get(BASE, tab="diagnostics").text
    assert "streamed-user" in page
    assert 'hx-get="/ui/experiments/checkout_test/exposure_stream" hx-trigger="every 5s"' in page
    assert 'data-pauses="exposure-stream"' in page
    assert 'href="/ui/experiments/checkout_test?tab=diagnostics#exposure-stream-h"' in page
    assert admin.get("/ui/experiments/nope/exposure_stream").status_code == 404


def test_home__running_experiment_past_its_target__needs_attention(
    admin: Signed,
    api: ContractClient,
    experiment: dict[str, Any],
    app: FastAPI,
    clock: ManualClock,
) -> None:
    assert admin.post(f"{BASE}/target", {"duration": "7"}).status_code == 303
    assert api.put(f"/console/v1/experiments/{EXPERIMENT}/start").status_code == 200
    home = admin.get("/ui/").text
    assert f'<a href="{BASE}">{EXPERIMENT}</a>: Target duration' not in home
    assert "Day 1 of 7" in admin.get(BASE).text
    clock.advance(7 * DAY_MS)
    for again in sign_in(app, "admin@acme.com"):  # a week on, the session has expired
        home = again.get("/ui/").text
        assert f'<a href="{BASE}">{EXPERIMENT}</a>: Target duration of 7 days reached on' in home
        assert "Target duration reached on" in again.get(BASE).text
