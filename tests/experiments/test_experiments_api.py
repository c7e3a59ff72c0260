"""Experiments CRUD, list filters, validation, groups, overrides, Pulse and alerts."""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import EXPERIMENT
from lockgate.domains.experiments import exposures as experiment_exposures
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.actor import Actor, Change
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from tests.contract.client import ContractClient
from tests.experiments.support import BASE, create, create_layer, groups, put, read
from tests.users.support import team_body


def test_create__name_only__statsig_defaults(console: ContractClient) -> None:
    data = create(console, "A Experiment")
    assert data["id"] == "a_experiment" and data["status"] == "setup"
    assert [(g["name"], g["size"]) for g in data["groups"]] == [("Control", 50), ("Test", 50)]
    assert data["controlGroupID"] == data["groups"][0]["id"]
    assert data["allocation"] == 100 and data["defaultConfidenceInterval"] == "95"
    assert data["targetingGateID"] == "" and data["layerID"] is None
    assert data["inlineTargetingRulesJSON"] == "{}"
    assert data["healthChecks"] == [] and data["healthCheckStatus"] == "PASSED"
    assert data["creatorName"] == "CONSOLE API" and data["version"] == 1
    assert "salt" not in data and "buckets" not in data and "overrides" not in data


def test_create__full_body__stored_and_echoed(console: ContractClient) -> None:
    console.post("/console/v1/gates", json={"name": "target gate"})
    console.post("/console/v1/tags", json={"name": "growth", "description": "x"})
    body = {
        "description": "d",
        "hypothesis": "h",
        "idType": "stableID",
        "groups": groups(20, 30, 50),
        "controlGroupID": "Test",
        "allocation": 12.5,
        "targetingGateID": "target_gate",
        "primaryMetrics": [{"name": "purchases", "type": "event_count", "direction": "increase"}],
        "secondaryMetrics": [],
        "tags": ["growth"],
        "duration": 21,
        "sequentialTesting": True,
        "bonferroniCorrection": True,
        "defaultConfidenceInterval": "99",
        "inlineTargetingRules": [
            {
                "name": "US",
                "passPercentage": 100,
                "conditions": [{"type": "country", "operator": "any", "targetValue": ["US"]}],
            }
        ],
    }
    data = create(console, "Full Experiment", **body)
    assert data["controlGroupID"] == data["groups"][1]["id"]
    assert data["allocation"] == 12.5 and data["idType"] == "stableID"
    assert data["targetingGateID"] == "target_gate" and data["tags"] == ["growth"]
    assert data["sequentialTesting"] is True and data["defaultConfidenceInterval"] == "99"
    assert data["inlineTargetingRules"][0]["name"] == "US"
    assert '"US"' in data["inlineTargetingRulesJSON"]
    assert read(console, data["id"]) == data


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "ab"}, "Invalid request. name: must be 3 to 100 characters, got 2"),
        (
            {"name": "a.b.c"},
            "Invalid request. name: 'a.b.c' may contain only letters, digits, spaces, _ and -",
        ),
        (
            {"name": "x exp", "groups": groups(50, 40)},
            "Invalid request. groups: sizes must add up to 100, got 90",
        ),
        (
            {"name": "x exp", "groups": groups(100)},
            "Invalid request. groups: an experiment needs at least 2 groups, got 1",
        ),
        (
            {"name": "x exp", "groups": [{"name": "A", "size": 50}, {"name": "a", "size": 50}]},
            "Invalid request. groups[1] \"a\": group name 'a' is used twice",
        ),
        (
            {"name": "x exp", "groups": [{"name": "A", "size": 150}, {"name": "B", "size": -50}]},
            'Invalid request. groups[0] "A" size: must be a number from 0 to 100, got 150.0',
        ),
        (
            {"name": "x exp", "allocation": 101},
            "Invalid request. allocation: must be a number from 0 to 100, got 101.0",
        ),
        (
            {"name": "x exp", "allocation": 10.555},
            "Invalid request. allocation: allows at most 2 decimals, got 10.555",
        ),
        (
            {"name": "x exp", "targetingGateID": "nope"},
            "Invalid request. targetingGateID: gate 'nope' does not exist",
        ),
        (
            {"name": "x exp", "layerID": "nope"},
            "Invalid request. layerID: layer 'nope' does not exist",
        ),
        (
            {"name": "x exp", "holdoutIDs": ["nope"]},
            "Invalid request. holdoutIDs: holdout 'nope' does not exist",
        ),
        (
            {"name": "x exp", "controlGroupID": "nope"},
            "Invalid request. controlGroupID: 'nope' is not a group of this experiment",
        ),
        (
            {
                "name": "x exp",
                "inlineTargetingRules": [
                    {
                        "name": "r",
                        "passPercentage": 100,
                        "conditions": [{"type": "passes_gate", "targetValue": "nope"}],
                    }
                ],
            },
            'Invalid request. rules[0] "r" condition 0 (passes_gate): '
            "passes_gate names gate 'nope', which does not exist",
        ),
    ],
)
def test_create__bad_input__400_and_nothing_stored(
    console: ContractClient, body: dict[str, Any], message: str
) -> None:
    response = console.post(BASE, json=body)
    assert response.status_code == 400, response.text
    shown = response.json()
    assert (shown["status"], shown["message"]) == (400, message)
    assert console.get(BASE).json()["data"] == []


@pytest.mark.parametrize("first", ["experiment", "config"])
def test_create__name_used_by_config_or_experiment__400(
    console: ContractClient, first: str
) -> None:
    paths = {"experiment": BASE, "config": "/console/v1/dynamic_configs"}
    assert console.post(paths[first], json={"name": "shared name"}).status_code == 201
    other = "config" if first == "experiment" else "experiment"
    response = console.post(paths[other], json={"name": "shared name"})
    assert response.status_code == 400
    assert response.json()["message"] == "Name is already in use"


def test_layered__params_must_be_layer_parameters(console: ContractClient) -> None:
    create_layer(console, parameters=[{"name": "color", "type": "string", "defaultValue": "grey"}])
    ok = create(console, "in layer", layerID="a_layer", groups=groups(50, 50))
    assert ok["layerID"] == "a_layer"
    response = console.post(
        BASE, json={"name": "bad one", "layerID": "a_layer", "groups": groups(50, 50, param="size")}
    )
    assert response.status_code == 400
    assert (
        "'size' is not a parameter of layer 'a_layer' (parameters: color)"
        in response.json()["message"]
    )
    wrong_type = [
        {"name": "A", "size": 50, "parameterValues": {"color": 3}},
        {"name": "B", "size": 50},
    ]
    response = console.post(
        BASE, json={"name": "bad two", "layerID": "a_layer", "groups": wrong_type}
    )
    assert response.status_code == 400 and "'color' must be a string" in response.json()["message"]


def test_layered__allocations_cannot_exceed_layer(console: ContractClient) -> None:
    create_layer(console)
    create(console, "first", layerID="a_layer", allocation=70)
    response = console.post(BASE, json={"name": "second", "layerID": "a_layer", "allocation": 40})
    assert response.status_code == 400
    assert response.json()["message"] == (
        "Invalid request. allocation: layer 'a_layer' has 30% of its traffic free, which cannot "
        "hold an allocation of 40%"
    )
    create(console, "second", layerID="a_layer", allocation=30)


def test_list__every_filter(console: ContractClient, clock: ManualClock) -> None:
    console.post("/console/v1/tags", json={"name": "t1", "description": "x"})
    create_layer(console)
    console.post("/console/v1/target_app", json={"name": "app1", "description": ""})
    team = console.post("/console/v1/users/teams", json=team_body("team9")).json()["data"]
    create(console, "plain one", tags=["t1"], targetApps=["app1"], teamID=team["id"])
    clock.advance(2 * 86_400_000)
    create(console, "layered one", layerID="a_layer", idType="userID")
    create(console, "stable one", idType="stableID")
    put(console, "stable_one", "start")

    def ids(query: str) -> list[str]:
        response = console.get(f"{BASE}?{query}")
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()["data"]]

    assert ids("") == ["plain_one", "layered_one", "stable_one"]
    assert ids("layerID=a_layer") == ["layered_one"]
    assert ids("idType=stableID") == ["stable_one"]
    assert ids("idType=stableID&idType=userID") == ["plain_one", "layered_one", "stable_one"]
    assert ids(f"teamID={team['id']}") == ["plain_one"]
    assert ids("status=active") == ["stable_one"]
    assert ids("status=setup&status=active") == ["plain_one", "layered_one", "stable_one"]
    assert ids("targetAppID=app1") == ["plain_one"]
    assert ids("tags=t1") == ["plain_one"]
    assert ids("creatorName=console%20api") == ["plain_one", "layered_one", "stable_one"]
    assert ids("creatorID=nobody") == []
    assert ids("createdStartDate=2026-05-30") == ["layered_one", "stable_one"]
    assert ids("createdEndDate=2026-05-28") == ["plain_one"]
    page = console.get(f"{BASE}?limit=2&page=2").json()
    assert [e["id"] for e in page["data"]] == ["stable_one"]
    assert page["pagination"]["totalItems"] == 3
    bad = console.get(f"{BASE}?createdStartDate=yesterday")
    assert bad.status_code == 400


def test_full_update__replaces_and_keeps_group_ids(console: ContractClient) -> None:
    created = create(console, groups=groups(50, 50))
    body = {
        "description": "new",
        "idType": "userID",
        "hypothesis": "h2",
        "groups": [
            {**created["groups"][0], "size": 40},
            {**created["groups"][1], "size": 60, "parameterValues": {"color": "red"}},
        ],
        "allocation": 50,
        "targetingGateID": None,
        "bonferroniCorrection": True,
        "defaultConfidenceInterval": "90",
        "status": "setup",
    }
    response = console.post(f"{BASE}/{created['id']}", json=body)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [g["id"] for g in data["groups"]] == [g["id"] for g in created["groups"]]
    assert data["groups"][1]["parameterValues"] == {"color": "red"}
    assert data["allocation"] == 50 and data["version"] == 2 and data["hypothesis"] == "h2"
    missing = console.post(f"{BASE}/{created['id']}", json={"description": "x"})
    assert missing.status_code == 400 and "is required" in missing.json()["message"]


def test_partial_update__only_sent_fields_and_started_rules(console: ContractClient) -> None:
    created = create(console, groups=groups(50, 50))
    data = console.patch(f"{BASE}/{created['id']}", json={"description": "x"}).json()["data"]
    assert data["description"] == "x" and data["groups"] == created["groups"]
    put(console, created["id"], "start")
    grown = console.patch(f"{BASE}/{created['id']}", json={"allocation": 60})
    assert grown.status_code == 200 and grown.json()["data"]["allocation"] == 60
    resized = console.patch(f"{BASE}/{created['id']}", json={"groups": groups(30, 70)})
    assert resized.status_code == 400 and "cannot change once" in resized.json()["message"]
    moved = console.patch(f"{BASE}/{created['id']}", json={"idType": "stableID"})
    assert (
        moved.json()["message"]
        == "Invalid request. idType: cannot change once the experiment has started"
    )
    shipped = console.patch(
        f"{BASE}/{created['id']}",
        json={"status": "decision_made", "launchedGroupID": created["groups"][1]["id"]},
    )
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["data"]["launchedGroupID"] == created["groups"][1]["id"]


def test_delete__returns_experiment_then_404(console: ContractClient) -> None:
    created = create(console)
    response = console.delete(f"{BASE}/{created['id']}")
    assert response.status_code == 200
    assert response.json()["message"] == "Experiment deleted successfully."
    assert response.json()["data"]["id"] == created["id"]
    missing = console.get(f"{BASE}/{created['id']}")
    assert missing.status_code == 404 and missing.json()["message"] == "Experiment not found."


def test_make_decision__layered__layer_defaults_follow_ship(console: ContractClient) -> None:
    create_layer(console, parameters=[{"name": "color", "type": "string", "defaultValue": "grey"}])
    created = create(console, layerID="a_layer", groups=groups(50, 50))
    put(console, created["id"], "start")
    test_group = created["groups"][1]["id"]
    response = put(console, created["id"], "make_decision", id=test_group, decisionReason="won")
    assert response.json() == {"message": "Decision made for Experiment."}
    data = read(console, created["id"])
    assert (data["status"], data["launchedGroupID"], data["decisionReason"]) == (
        "decision_made",
        test_group,
        "won",
    )
    assert data["decisionTime"] is not None and data["endTime"] is not None
    layer = console.get("/console/v1/layers/a_layer").json()["data"]
    assert layer["parameters"][0]["defaultValue"] == "test"
    unknown = create(console, "other one", groups=groups(50, 50))
    put(console, unknown["id"], "start")
    bad = put(console, unknown["id"], "make_decision", id="nope", decisionReason="x")
    assert bad.json()["message"] == "Invalid request. id: 'nope' is not a group of this experiment"


def test_groups__disable_enable__flags_and_validation(console: ContractClient) -> None:
    created = create(console, groups=groups(50, 50))
    url = f"{BASE}/{created['id']}"
    disabled = console.post(f"{url}/disable_groups", json={"group_names": ["Test"]})
    assert disabled.status_code == 201 and disabled.json()["data"]["groups"][1]["disabled"] is True
    everything = console.post(f"{url}/disable_groups", json={"group_names": ["Control"]})
    assert (
        everything.json()["message"]
        == "Invalid request. group_names: at least one group must stay enabled"
    )
    unknown = console.post(f"{url}/enable_groups", json={"group_names": ["Nope"]})
    assert unknown.status_code == 400 and "'Nope' is not a group" in unknown.json()["message"]
    enabled = console.post(f"{url}/enable_groups", json={"group_names": ["Test"]})
    assert enabled.status_code == 201 and "disabled" not in enabled.json()["data"]["groups"][1]


def test_reset__new_salt_and_setup(
    console: ContractClient, db: Database, project: Bootstrap
) -> None:
    created = create(console)
    put(console, created["id"], "start")

    def salt() -> str:
        with db.transaction(write=False) as session:
            return str(
                entities.load(session, EXPERIMENT, project.project.id, created["id"]).document[
                    "salt"
                ]
            )

    before = salt()
    assert put(console, created["id"], "reset").json() == {
        "message": "Experiment successfully restarted."
    }
    data = read(console, created["id"])
    assert data["status"] == "setup" and data["startTime"] is None and salt() != before


def test_schedule_start__past_time__400(console: ContractClient, clock: ManualClock) -> None:
    created = create(console)
    url = f"{BASE}/{created['id']}/schedule_start"
    past = console.post(url, json={"scheduledTime": clock.now_ms() - 1})
    assert past.status_code == 400 and "must be in the future" in past.json()["message"]
    ok = console.post(url, json={"scheduledTime": clock.now_ms() + 1000})
    assert ok.json() == {"message": "Successfully scheduled experiment start"}
    assert read(console, created["id"])["scheduledTime"] == clock.now_ms() + 1000


# -- overrides -------------------------------------------------------------------------------


def test_overrides__replace_add_remove(console: ContractClient) -> None:
    console.post("/console/v1/gates", json={"name": "vip gate"})
    created = create(console, groups=groups(50, 50))
    control, test = (g["id"] for g in created["groups"])
    url = f"{BASE}/{created['id']}/overrides"
    empty = console.get(url)
    assert empty.json() == {
        "message": "Experiment Overrides read successfully.",
        "data": {"overrides": [], "userIDOverrides": []},
    }
    replaced = console.post(
        url,
        json={
            "overrides": [{"type": "gate", "id": "vip_gate", "groupID": test}],
            "userIDOverrides": [{"groupID": control, "ids": ["u1", "u2"]}],
        },
    )
    assert replaced.status_code == 200, replaced.text
    data = replaced.json()["data"]
    assert data["overrides"] == [
        {"type": "gate", "id": "vip_gate", "groupID": test, "environment": None}
    ]
    assert data["userIDOverrides"] == [
        {"groupID": control, "ids": ["u1", "u2"], "environment": None, "unitType": "userID"}
    ]
    added = console.patch(
        url, json={"overrides": [], "userIDOverrides": [{"groupID": "Test", "ids": ["u2", "u3"]}]}
    ).json()["data"]
    assert {e["groupID"]: e["ids"] for e in added["userIDOverrides"]} == {
        control: ["u1"],
        test: ["u2", "u3"],
    }
    removed = console.delete(
        url,
        json={
            "overrides": [{"type": "gate", "id": "vip_gate", "groupID": test}],
            "userIDOverrides": [{"groupID": test, "ids": ["u3"]}],
        },
    )
    assert removed.status_code == 200
    assert removed.json()["data"] == {
        "overrides": [],
        "userIDOverrides": [
            {"groupID": control, "ids": ["u1"], "environment": None, "unitType": "userID"},
            {"groupID": test, "ids": ["u2"], "environment": None, "unitType": "userID"},
        ],
    }
    cleared = console.delete(url)
    assert cleared.json()["data"] == {"overrides": [], "userIDOverrides": []}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {
                "overrides": [{"type": "gate", "id": "nope", "groupID": "Test"}],
                "userIDOverrides": [],
            },
            "Invalid request. overrides[0]: gate 'nope' does not exist",
        ),
        (
            {"overrides": [], "userIDOverrides": [{"groupID": "nope", "ids": ["a"]}]},
            "Invalid request. userIDOverrides[0] groupID: 'nope' is not a group of this experiment",
        ),
        (
            {
                "overrides": [],
                "userIDOverrides": [
                    {"groupID": "Test", "ids": ["a"]},
                    {"groupID": "Control", "ids": ["a"]},
                ],
            },
            "Invalid request. userIDOverrides: 'a' is overridden into two groups",
        ),
    ],
)
def test_overrides__bad_input__400(
    console: ContractClient, body: dict[str, Any], message: str
) -> None:
    created = create(console)
    response = console.post(f"{BASE}/{created['id']}/overrides", json=body)
    assert response.status_code == 400 and response.json()["message"] == message


# -- Pulse, alerts, exposures ----------------------------------------------------------------


def test_pulse_results__empty_lists_and_checked_query(console: ContractClient) -> None:
    created = create(console)
    control, test = (g["id"] for g in created["groups"])
    url = f"{BASE}/{created['id']}/pulse_results"
    ok = console.get(
        url, params={"control": control, "test": test, "cuped": "true", "confidence": "95"}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["message"] == "Successfully loaded Pulse Results"
    assert ok.json()["data"] == {
        "ds": "2026-05-28",
        "primaryMetrics": [],
        "secondaryMetrics": [],
        "otherMetrics": [],
    }
    for params, message in [
        ({"test": test}, "Invalid request. control: is required (a group id)"),
        (
            {"control": control, "test": "nope"},
            "Invalid request. test: 'nope' is not a group of this experiment",
        ),
        (
            {"control": control, "test": test, "cuped": "yes"},
            'Invalid request. cuped: must be "true" or "false", got \'yes\'',
        ),
        (
            {"control": control, "test": test, "date": "2026-13-01"},
            "Invalid request. date: must be YYYY-MM-DD, got '2026-13-01'",
        ),
    ]:
        bad = console.get(url, params=params)
        assert bad.status_code == 400 and bad.json()["message"] == message


def test_resolve_alert__open_alert__resolved_once(
    console: ContractClient, db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    created = create(console)
    url = f"{BASE}/{created['id']}/alerts/purchases::event_count/resolve"
    assert console.post(url, json={}).status_code == 404
    with db.transaction() as session:
        change = Change(
            project.project.id, Actor(id="monitor", name="Metric monitor"), clock.now_ms()
        )
        experiment_exposures.open_alert(session, change, created["id"], "purchases::event_count")
    clock.advance(5000)
    resolved = console.post(url, json={"reasoning": "expected dip"})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["data"] == {"resolvedAt": clock.now_ms()}
    clock.advance(5000)
    assert console.post(url, json={}).json()["data"] == {"resolvedAt": clock.now_ms() - 5000}


def test_patch__null_targets__cleared_not_shown_as_null(console: ContractClient) -> None:
    create(console, "targets")
    set_ = console.patch(f"{BASE}/targets", json={"duration": 21, "targetExposures": 5000})
    assert set_.status_code == 200
    assert (set_.json()["data"]["duration"], set_.json()["data"]["targetExposures"]) == (21, 5000)
    cleared = console.patch(f"{BASE}/targets", json={"duration": None, "targetExposures": None})
    assert cleared.status_code == 200, cleared.text
    data = read(console, "targets")
    assert "duration" not in data and "targetExposures" not in data
