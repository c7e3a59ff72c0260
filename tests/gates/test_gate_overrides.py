"""Gate overrides: read, replace, add, remove; limits and conflicts; a version per change."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.client import ContractClient
from tests.gates.support import GATES, create_gate, error

OVERRIDES = f"{GATES}/a_gate/overrides"
EMPTY: dict[str, list[Any]] = {
    "passingUserIDs": [],
    "failingUserIDs": [],
    "passingCustomIDs": [],
    "failingCustomIDs": [],
    "environmentOverrides": [],
}


def test_overrides__new_gate__empty_with_201(console: ContractClient) -> None:
    create_gate(console, "A Gate")
    response = console.get(OVERRIDES)
    assert response.status_code == 201
    assert response.json() == {"message": "Gate Overrides read successfully.", "data": EMPTY}


def test_overrides__replace_add_remove__each_applied_and_versioned(
    console: ContractClient,
) -> None:
    create_gate(console, "A Gate")
    replaced = console.post(
        OVERRIDES,
        json={"passingUserIDs": ["u1", "u2"], "failingUserIDs": ["u3"], "passingCustomIDs": ["c1"]},
    )
    assert replaced.status_code == 201
    assert replaced.json()["data"] == {
        **EMPTY,
        "passingUserIDs": ["u1", "u2"],
        "failingUserIDs": ["u3"],
        "passingCustomIDs": ["c1"],
    }
    added = console.patch(
        OVERRIDES,
        json={
            "passingUserIDs": ["u4", "u1"],
            "environmentOverrides": [
                {
                    "environment": "staging",
                    "unitID": "userID",
                    "passingIDs": ["s1"],
                    "failingIDs": [],
                }
            ],
        },
    ).json()["data"]
    assert added["passingUserIDs"] == ["u1", "u2", "u4"] and added["failingUserIDs"] == ["u3"]
    assert added["environmentOverrides"] == [
        {"environment": "staging", "unitID": "userID", "passingIDs": ["s1"], "failingIDs": []}
    ]
    removed = console.request(
        "DELETE",
        OVERRIDES,
        json={
            "passingUserIDs": ["u1"],
            "environmentOverrides": [
                {
                    "environment": "staging",
                    "unitID": "userID",
                    "passingIDs": ["s1"],
                    "failingIDs": [],
                }
            ],
        },
    )
    assert removed.status_code == 201
    data = removed.json()["data"]
    assert data["passingUserIDs"] == ["u2", "u4"] and data["environmentOverrides"] == []
    assert console.get(OVERRIDES).json()["data"] == data
    versions = console.get(f"{GATES}/a_gate/versions").json()
    assert [v["version"] for v in versions["data"]] == [4, 3, 2, 1]
    assert all("overrides" not in v for v in versions["data"])
    logs = console.get("/console/v1/audit_logs", params={"actionType": "gate_overrides_update"})
    assert logs.json()["pagination"]["totalItems"] == 3


@pytest.mark.usefixtures("company_id_type")
def test_overrides__replace_with_only_environment_overrides__keeps_id_lists(
    console: ContractClient,
) -> None:
    create_gate(console, "A Gate")
    console.post(OVERRIDES, json={"passingUserIDs": ["u1"], "failingUserIDs": []})
    env = {"environment": None, "unitID": "companyID", "passingIDs": [], "failingIDs": ["c9"]}
    data = console.post(OVERRIDES, json={"environmentOverrides": [env]}).json()["data"]
    assert data["passingUserIDs"] == ["u1"] and data["environmentOverrides"] == [env]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Invalid request. Give passingUserIDs and failingUserIDs"),
        (
            {"passingUserIDs": ["a"], "failingUserIDs": ["a"]},
            "Invalid request. passingUserIDs/failingUserIDs: ids ['a'] would be both",
        ),
        (
            {"passingUserIDs": [""], "failingUserIDs": []},
            "Invalid request. passingUserIDs[0]: ids must be non-empty strings",
        ),
        (
            {"passingUserIDs": [f"u{i}" for i in range(2001)], "failingUserIDs": []},
            "Invalid request. passingUserIDs: at most 2000 ids, got 2001",
        ),
        (
            {"passingUserIDs": "u1", "failingUserIDs": []},
            "Invalid request. passingUserIDs:",
        ),
        (
            {
                "environmentOverrides": [
                    {
                        "environment": "prod",
                        "unitID": None,
                        "passingIDs": ["x"],
                        "failingIDs": ["x"],
                    }
                ]
            },
            "Invalid request. environmentOverrides[0]: ids ['x'] would be both",
        ),
    ],
)
def test_overrides__bad_body__400_and_nothing_changes(
    console: ContractClient, body: dict[str, Any], message: str
) -> None:
    create_gate(console, "A Gate")
    assert error(console.post(OVERRIDES, json=body)).startswith(message)
    assert console.get(f"{GATES}/a_gate").json()["data"]["version"] == 1


def test_overrides__add_conflicting_with_existing__400(console: ContractClient) -> None:
    create_gate(console, "A Gate")
    console.post(OVERRIDES, json={"passingUserIDs": ["u1"], "failingUserIDs": []})
    got = error(console.patch(OVERRIDES, json={"failingUserIDs": ["u1"]}))
    assert "ids ['u1'] would be both passing and failing" in got


def test_overrides__add_past_limit__400(console: ContractClient) -> None:
    create_gate(console, "A Gate")
    first = [f"a{i}" for i in range(1500)]
    console.post(OVERRIDES, json={"passingUserIDs": first, "failingUserIDs": []})
    more = [f"b{i}" for i in range(600)]
    got = error(console.patch(OVERRIDES, json={"passingUserIDs": more}))
    assert "would hold 2100 ids; at most 2000 allowed" in got
