"""Every lifecycle action from every status (`docs/console.md` §Experiment lifecycle): legal moves
and the 400s."""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.kit.clock import ManualClock
from tests.contract.client import ContractClient
from tests.experiments.support import BASE, create, groups, put, read

NOT_STARTED = "Experiment has not yet started"
STARTED = "Experiment has already started"
CONCLUDED = "Experiment has already concluded"
ARCHIVED = "Experiment is archived. Unarchive it first"
NOT_ARCHIVED = "Experiment is not archived"

# How to reach each status from a fresh (setup) experiment.
REACH: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "setup": [],
    "active": [("start", {})],
    "decision_made": [("start", {}), ("make_decision", {"decisionReason": "won"})],
    "abandoned": [("start", {}), ("abandon", {"decisionReason": "broken"})],
    "archived": [("archive", {})],
}
# action -> (method, success code, status afterwards or None when unchanged)
ACTIONS: dict[str, tuple[str, int, str | None]] = {
    "start": ("PUT", 200, "active"),
    "schedule_start": ("POST", 200, None),
    "make_decision": ("PUT", 200, "decision_made"),
    "abandon": ("PUT", 200, "abandoned"),
    "reset": ("PUT", 200, "setup"),
    "restart_as_new": ("POST", 200, None),
    "archive": ("PUT", 200, "archived"),
    "unarchive": ("PUT", 200, None),
    "enable_groups": ("POST", 201, None),
    "disable_groups": ("POST", 201, None),
}
# (status, action) -> None when legal, else the 400 message.
TABLE: dict[tuple[str, str], str | None] = {
    ("setup", "start"): None,
    ("setup", "schedule_start"): None,
    ("setup", "make_decision"): NOT_STARTED,
    ("setup", "abandon"): NOT_STARTED,
    ("setup", "reset"): NOT_STARTED,
    ("setup", "restart_as_new"): NOT_STARTED,
    ("setup", "archive"): None,
    ("setup", "unarchive"): NOT_ARCHIVED,
    ("setup", "enable_groups"): None,
    ("setup", "disable_groups"): None,
    ("active", "start"): STARTED,
    ("active", "schedule_start"): STARTED,
    ("active", "make_decision"): None,
    ("active", "abandon"): None,
    ("active", "reset"): None,
    ("active", "restart_as_new"): None,
    (
        "active",
        "archive",
    ): "Experiment is running. Make a decision or abandon it before archiving it",
    ("active", "unarchive"): NOT_ARCHIVED,
    ("active", "enable_groups"): None,
    ("active", "disable_groups"): None,
    **{
        (ended, action): message
        for ended in ("decision_made", "abandoned")
        for action, message in {
            "start": CONCLUDED,
            "schedule_start": CONCLUDED,
            "make_decision": CONCLUDED,
            "abandon": CONCLUDED,
            "reset": None,
            "restart_as_new": None,
            "archive": None,
            "unarchive": NOT_ARCHIVED,
            "enable_groups": None,
            "disable_groups": None,
        }.items()
    },
    **{
        ("archived", action): ARCHIVED
        for action in ACTIONS
        if action not in ("unarchive", "archive")
    },
    ("archived", "archive"): "Experiment is already archived",
    ("archived", "unarchive"): None,
}


def _body(action: str, control_id: str, clock: ManualClock) -> dict[str, Any] | None:
    bodies: dict[str, dict[str, Any] | None] = {
        "start": {},
        "schedule_start": {"scheduledTime": clock.now_ms() + 3_600_000},
        "make_decision": {"id": control_id, "decisionReason": "ship it"},
        "abandon": {"decisionReason": "no effect"},
        "reset": None,
        "restart_as_new": {"name": "restarted copy"},
        "archive": {"archiveReason": "done"},
        "unarchive": None,
        "enable_groups": {"group_names": ["Test"]},
        "disable_groups": {"group_names": ["Test"]},
    }
    return bodies[action]


def test_table__covers_every_status_and_action() -> None:
    assert set(TABLE) == {(s, a) for s in REACH for a in ACTIONS}


@pytest.mark.parametrize(("status", "action"), sorted(TABLE))
def test_transition__from_status__legal_or_400_unchanged(
    console: ContractClient, clock: ManualClock, status: str, action: str
) -> None:
    created = create(console, groups=groups(50, 50))
    control = created["groups"][0]["id"]
    for step, body in REACH[status]:
        if step == "make_decision":
            body = {**body, "id": control}
        assert put(console, created["id"], step, **body).status_code == 200
    assert read(console, created["id"])["status"] == status
    before = read(console, created["id"])
    method, code, after = ACTIONS[action]
    action_body = _body(action, control, clock)
    response = console.request(
        method,
        f"{BASE}/{created['id']}/{action}",
        **({"json": action_body} if action_body is not None else {}),
    )
    expected = TABLE[(status, action)]
    if expected is None:
        assert response.status_code == code, response.text
        now = read(console, created["id"])
        if after is not None:
            assert now["status"] == after
        if action == "unarchive":
            assert now["status"] == "setup"
        if action == "restart_as_new":
            copy = response.json()["data"]
            assert copy["id"] == "restarted_copy"
            assert copy["status"] == ("active" if status == "active" else "setup")
            assert now["status"] == ("abandoned" if status == "active" else status)
    else:
        assert response.status_code == 400, response.text
        assert response.json() == {"status": 400, "message": expected}
        assert read(console, created["id"]) == before
