"""The Autotunes resource: create, read, list, updates, delete, and every lifecycle transition,
legal and illegal."""

from __future__ import annotations

from typing import Any

import pytest

from tests.autotunes.support import AUTOTUNES, BODY, create_autotune, error
from tests.contract.client import ContractClient

ONE = f"{AUTOTUNES}/button_color"


def test_create__full_body__201_with_variant_ids(console: ContractClient) -> None:
    response = console.post(AUTOTUNES, json={**BODY, "higherIsBetter": True, "featureList": ["f"]})
    assert response.status_code == 201
    body = response.json()
    assert body["message"] == "Autotune Experiment created successfully."
    data = body["data"]
    assert (data["id"], data["name"], data["idType"]) == ("button_color", "button color", "userID")
    assert (data["isStarted"], data["winner"], data["successEventValue"]) == (False, None, "")
    assert [(v["name"], v["json"], v["size"]) for v in data["variants"]] == [
        ("red", {"color": "red"}, 20),
        ("blue", {"color": "blue"}, 30),
        ("green", {"color": "green"}, 50),
    ]
    assert all(len(v["id"]) == 22 for v in data["variants"])
    assert data["higherIsBetter"] is True and data["featureList"] == ["f"]
    assert not {"salt", "status", "trafficWeights"} & set(data)


def test_create__no_sizes__no_size_shown(console: ContractClient) -> None:
    variants = [{"name": "a", "json": {}}, {"name": "b", "json": {"x": 1}}]
    data = create_autotune(console, variants=variants, idType="stableID")
    assert [set(v) for v in data["variants"]] == [{"name", "json", "id"}] * 2
    assert data["idType"] == "stableID"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": None}, "Invalid request. name:"),
        (
            {"variants": [{"name": "a", "json": {}}]},
            "Invalid request. variants: list should have at least 2",
        ),
        ({"successEvent": ""}, "Invalid request. successEvent:"),
        ({"explorationWindow": "2hr"}, "Invalid request. explorationWindow: input should be"),
        ({"attributionWindow": "3hr"}, "Invalid request. attributionWindow: input should be"),
        ({"winnerThreshold": "50%"}, "Invalid request. winnerThreshold: input should be"),
        ({"explorationWindowRate": 2}, "Invalid request. explorationWindowRate:"),
        ({"optimizationParameter": "speed"}, "Invalid request. optimizationParameter:"),
        (
            {"variants": [{"name": "a", "json": {}, "size": 50}, {"name": "b", "json": {}}]},
            "Invalid request. variants: give a size to every variant or to none (1 of 2 have one)",
        ),
        (
            {
                "variants": [
                    {"name": "a", "json": {}, "size": 50},
                    {"name": "b", "json": {}, "size": 40},
                ]
            },
            "Invalid request. variants: sizes must add up to 100, got 90",
        ),
        (
            {"variants": [{"name": "a", "json": {}}, {"name": "a", "json": {}}]},
            "Invalid request. variants[1].name: 'a' names another variant too",
        ),
        (
            {"variants": [{"name": "a", "json": "text"}, {"name": "b", "json": {}}]},
            "Invalid request. variants[0].json: must be a JSON object",
        ),
        (
            {"variants": [{"name": " ", "json": {}}, {"name": "b", "json": {}}]},
            "Invalid request. variants[0].name: must not be empty",
        ),
    ],
)
def test_create__bad_body__400_nothing_created(
    console: ContractClient, change: dict[str, Any], message: str
) -> None:
    body = {k: v for k, v in {**BODY, **change}.items() if v is not None}
    assert error(console.post(AUTOTUNES, json=body)).startswith(message)
    assert console.get(AUTOTUNES).json()["data"] == []


@pytest.mark.parametrize("kind", ["autotune", "dynamic_config"])
def test_create__id_taken_in_dynamic_configs__name_in_use(
    console: ContractClient, kind: str
) -> None:
    if kind == "autotune":
        create_autotune(console)
    else:
        console.post("/console/v1/dynamic_configs", json={"name": "button_color"})
    assert error(console.post(AUTOTUNES, json=BODY)) == "Name is already in use"


def test_read_list_delete__roundtrip(console: ContractClient) -> None:
    created = create_autotune(console)
    create_autotune(console, name="second one")
    read = console.get(ONE)
    assert read.json() == {"message": "Autotune Experiment read successfully.", "data": created}
    listed = console.get(AUTOTUNES, params={"limit": 1}).json()
    assert listed["message"] == "Autotune Experiments listed successfully."
    assert [a["id"] for a in listed["data"]] == ["button_color"]
    assert listed["pagination"]["totalItems"] == 2
    deleted = console.delete(ONE)
    assert deleted.json() == {"message": "Autotune Experiment deleted successfully."}
    assert error(console.get(ONE), 404) == "Autotune Experiment not found."


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("POST", "", BODY),
        ("PATCH", "", {}),
        ("DELETE", "", None),
        ("PUT", "/start", None),
        ("PUT", "/make_decision", {"id": "x", "decisionReason": "r"}),
        ("PUT", "/reset", None),
    ],
)
def test_operations__unknown__404(
    console: ContractClient, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    response = console.request(method, f"{AUTOTUNES}/ghost{suffix}", json=body)
    assert error(response, 404) == "Autotune Experiment not found."


def test_full_update__replaces_fields_keeps_variant_ids_by_name(console: ContractClient) -> None:
    created = create_autotune(console)
    ids = {v["name"]: v["id"] for v in created["variants"]}
    body = {k: v for k, v in BODY.items() if k != "name"}
    body["variants"] = [
        {"name": "blue", "json": {"color": "navy"}},
        {"name": "purple", "json": {"color": "purple"}},
    ]
    body["winnerThreshold"] = "99%"
    response = console.post(ONE, json=body)
    assert response.status_code == 200
    assert response.json()["message"] == "Autotune Experiment updated successfully."
    data = response.json()["data"]
    assert data["variants"][0] == {"name": "blue", "json": {"color": "navy"}, "id": ids["blue"]}
    assert data["variants"][1]["id"] not in ids.values()
    assert (data["winnerThreshold"], data["version"]) == ("99%", 2)


@pytest.mark.parametrize(
    "missing",
    ["variants", "successEvent", "explorationWindow", "attributionWindow", "winnerThreshold"],
)
def test_full_update__required_missing__400_names_it(console: ContractClient, missing: str) -> None:
    before = create_autotune(console)
    body = {k: v for k, v in BODY.items() if k not in ("name", missing)}
    assert error(console.post(ONE, json=body)) == f"Invalid request. {missing}: is required"
    assert console.get(ONE).json()["data"] == before


def test_partial_update__one_field__rest_kept(console: ContractClient) -> None:
    created = create_autotune(console)
    response = console.patch(ONE, json={"successEventValue": "purchase", "isContextual": True})
    data = response.json()["data"]
    assert (data["successEventValue"], data["isContextual"]) == ("purchase", True)
    assert data["variants"] == created["variants"] and data["version"] == 2


# --- lifecycle --------------------------------------------------------------------------------

NOT_STARTED = "Autotune experiment has not yet started"
ALREADY_STARTED = "Invalid request. Autotune experiment has already started"


def _decided(action: str) -> str:
    return (
        "Invalid request. Autotune experiment already has a decision; reset it before you " + action
    )


def _bring_to(console: ContractClient, state: str) -> dict[str, Any]:
    created = create_autotune(console)
    if state in ("active", "decided"):
        assert console.put(f"{ONE}/start").status_code == 200
    if state == "decided":
        body = {"id": created["variants"][1]["id"], "decisionReason": "blue wins"}
        assert console.put(f"{ONE}/make_decision", json=body).status_code == 200
    return created


@pytest.mark.parametrize(
    ("state", "action", "outcome"),
    [
        ("setup", "start", ("Autotune Experiment successfully started.", True, None)),
        ("setup", "make_decision", NOT_STARTED),
        ("setup", "reset", NOT_STARTED),
        ("active", "start", ALREADY_STARTED),
        ("active", "make_decision", ("Decision made for Autotune Experiment.", True, "blue")),
        ("active", "reset", ("Autotune Experiment successfully restarted.", False, None)),
        ("decided", "start", _decided("start it again")),
        ("decided", "make_decision", _decided("make another decision")),
        ("decided", "reset", ("Autotune Experiment successfully restarted.", False, None)),
    ],
)
def test_lifecycle__every_transition(
    console: ContractClient, state: str, action: str, outcome: str | tuple[str, bool, str | None]
) -> None:
    created = _bring_to(console, state)
    before = console.get(ONE).json()["data"]
    body = (
        {"id": created["variants"][1]["id"], "decisionReason": "blue wins"}
        if action == "make_decision"
        else None
    )
    response = console.put(f"{ONE}/{action}", json=body)
    after = console.get(ONE).json()["data"]
    if isinstance(outcome, str):
        assert error(response) == outcome
        assert after == before
        return
    message, started, winner = outcome
    assert response.status_code == 200 and response.json() == {"message": message}
    assert after["isStarted"] is started
    assert (after["winner"] or {}).get("name") == winner
    assert after["version"] == before["version"] + 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"id": "nope", "decisionReason": "r"},
            "Invalid request. id: autotune 'button_color' has no variant with id 'nope'",
        ),
        ({"decisionReason": "r"}, "Invalid request. id: is required"),
        ({"id": "x"}, "Invalid request. decisionReason: is required"),
    ],
)
def test_make_decision__bad_body__400_still_running(
    console: ContractClient, body: dict[str, Any], message: str
) -> None:
    _bring_to(console, "active")
    assert error(console.put(f"{ONE}/make_decision", json=body)).startswith(message)
    assert console.get(ONE).json()["data"]["winner"] is None


def test_update__removing_shipped_variant__400(console: ContractClient) -> None:
    _bring_to(console, "decided")
    variants = [{"name": "red", "json": {}}, {"name": "green", "json": {}}]
    message = error(console.patch(ONE, json={"variants": variants}))
    assert message.startswith("Invalid request. variants: variant 'blue' shipped")
