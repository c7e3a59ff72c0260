"""Health checks, cumulative exposures and exposure counts, computed from stored exposures."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.storage.models import CustomEvent, Exposure
from tests.contract.client import ContractClient
from tests.experiments.support import BASE, create, groups, put, read

DAY = 86_400_000


def _expose(
    db: Database, project: Bootstrap, name: str, rows: list[dict[str, Any]], kind: str = "config"
) -> None:
    with db.transaction() as session:
        for row in rows:
            session.add(
                Exposure(
                    project_id=project.project.id,
                    kind=kind,
                    name=name,
                    received_time=row["time"],
                    **row,
                )
            )


def test_health__not_started__passed_and_empty(console: ContractClient) -> None:
    data = create(console)
    assert (data["healthChecks"], data["healthCheckStatus"]) == ([], "PASSED")


def test_health__started_without_exposures__waiting_checks(console: ContractClient) -> None:
    created = create(console)
    put(console, created["id"], "start")
    data = read(console, created["id"])
    assert data["healthCheckStatus"] == "WAITING"
    assert [c["name"] for c in data["healthChecks"]] == [
        "Checks not yet detected",
        "Valid unit type not yet verified",
        "Event metric data not yet verified",
        "Pulse metrics not yet available",
        "Exposure balance not yet verified",
    ]


def test_health__balanced_exposures__checks_pass(
    console: ContractClient, db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    created = create(console, groups=groups(50, 50))
    put(console, created["id"], "start")
    control, test = (g["id"] for g in created["groups"])
    now = clock.now_ms()
    _expose(
        db,
        project,
        created["id"],
        [
            {"rule_id": control if i % 2 else test, "user_id": f"u{i}", "time": now + i}
            for i in range(400)
        ],
    )
    with db.transaction() as session:
        session.add(
            CustomEvent(
                project_id=project.project.id,
                event_name="buy",
                user_id="u1",
                time=now + 5,
                received_time=now + 5,
            )
        )
    checks = {c["type"]: c["status"] for c in read(console, created["id"])["healthChecks"]}
    assert checks == {
        "has_checks": "PASSED",
        "has_valid_unit_type": "PASSED",
        "has_event_metrics": "PASSED",
        "has_pulse_metrics": "WAITING",
        "has_balanced_exposures": "PASSED",
    }


def test_health__unbalanced_or_wrong_unit__failed(
    console: ContractClient, db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    skewed = create(console, "skewed one", groups=groups(50, 50))
    wrong = create(console, "wrong unit", groups=groups(50, 50))
    for e in (skewed, wrong):
        put(console, e["id"], "start")
    now = clock.now_ms()
    control, test = (g["id"] for g in skewed["groups"])
    _expose(
        db,
        project,
        skewed["id"],
        [
            {"rule_id": control if i < 700 else test, "user_id": f"u{i}", "time": now}
            for i in range(1000)
        ],
    )
    _expose(db, project, wrong["id"], [{"rule_id": "x", "stable_id": "s1", "time": now}])
    listed = {e["id"]: e for e in console.get(BASE).json()["data"]}
    assert listed["skewed_one"]["healthCheckStatus"] == "FAILED"
    balance = next(
        c for c in listed["skewed_one"]["healthChecks"] if c["type"] == "has_balanced_exposures"
    )
    assert balance["status"] == "FAILED"
    unit = next(
        c for c in listed["wrong_unit"]["healthChecks"] if c["type"] == "has_valid_unit_type"
    )
    assert (unit["name"], unit["status"]) == ("Invalid unit type", "FAILED")


def test_cumulative_exposures__distinct_units_by_first_day(
    console: ContractClient, app: FastAPI, db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    created = create(console, groups=groups(50, 50))
    control, test = (g["id"] for g in created["groups"])
    day0 = clock.now_ms() - clock.now_ms() % DAY
    _expose(
        db,
        project,
        created["id"],
        [
            {"rule_id": control, "user_id": "a", "time": day0 + 10},
            {"rule_id": control, "user_id": "a", "time": day0 + DAY + 10},  # same unit again
            {"rule_id": control, "user_id": "b", "time": day0 + 2 * DAY},
            {"rule_id": test, "user_id": "c", "time": day0 + DAY},
            {"rule_id": "prestart", "user_id": "d", "time": day0},  # not a group rule
        ],
    )
    # The contract client checks the corrected schema (the official one is self-contradictory;
    # see tools/extract_console_spec.py).
    response = console.get(f"{BASE}/{created['id']}/cumulative_exposures")
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "Successfully loaded Cumulative Exposures"
    assert response.json()["data"] == [
        {
            "groupID": control,
            "groupName": "Control",
            "results": [
                {"date": "2026-05-28", "exposures": 1},
                {"date": "2026-05-29", "exposures": 1},
                {"date": "2026-05-30", "exposures": 2},
            ],
        },
        {
            "groupID": test,
            "groupName": "Test",
            "results": [
                {"date": "2026-05-28", "exposures": 0},
                {"date": "2026-05-29", "exposures": 1},
                {"date": "2026-05-30", "exposures": 1},
            ],
        },
    ]


def test_exposure_count__past_day_and_week(
    console: ContractClient, db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    now = clock.now_ms()
    _expose(
        db,
        project,
        "exp_a",
        [
            {"user_id": "u", "time": now - 3600_000},
            {"user_id": "u", "time": now - 3 * DAY},
            {"user_id": "u", "time": now - 9 * DAY},
        ],
    )
    _expose(db, project, "gate_a", [{"user_id": "u", "time": now - 10}], kind="gate")
    response = console.get(
        "/console/v1/exposure_count",
        params=[("experiments", "exp_a"), ("gates", "gate_a"), ("dynamicConfigs", "nothing")],
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "message": "Exposure count fetched successfully.",
        "data": {
            "gates": [{"id": "gate_a", "pastDay": 1, "past7Days": 1}],
            "experiments": [{"id": "exp_a", "pastDay": 1, "past7Days": 2}],
            "dynamicConfigs": [{"id": "nothing", "pastDay": 0, "past7Days": 0}],
        },
    }
    too_many = console.get(
        "/console/v1/exposure_count", params=[("gates", f"g{i}") for i in range(26)]
    )
    assert (
        too_many.status_code == 400
        and too_many.json()["message"] == "Invalid request. gates: at most 25 ids, got 26"
    )
    none = console.get("/console/v1/exposure_count")
    assert none.status_code == 400


@pytest.mark.parametrize(
    ("both_groups", "status"), [(True, "PASSED"), (False, "WAITING")], ids=["both", "control only"]
)
def test_health__after_pulse_load__pulse_check_from_stored_results(
    app: FastAPI,
    console: ContractClient,
    db: Database,
    project: Bootstrap,
    clock: ManualClock,
    both_groups: bool,
    status: str,
) -> None:
    created = create(
        console, groups=groups(50, 50), primaryMetrics=[{"name": "buy", "type": "event_count"}]
    )
    put(console, created["id"], "start")
    control, test = (g["id"] for g in created["groups"])
    now = clock.now_ms()
    rows = [
        {"rule_id": test if both_groups and i % 2 else control, "user_id": f"u{i}", "time": now}
        for i in range(40)
    ]
    _expose(db, project, created["id"], rows)
    before = {c["type"]: c for c in read(console, created["id"])["healthChecks"]}
    assert before["has_pulse_metrics"]["status"] == "WAITING"
    clock.advance(60_000)
    assert console.post(f"{BASE}/{created['id']}/load_pulse", json={}).status_code == 200
    assert app.state.pulse_runner.run_pending() == 1
    after = {c["type"]: c for c in read(console, created["id"])["healthChecks"]}
    assert after["has_pulse_metrics"]["status"] == status
    name = "Pulse metrics available" if both_groups else "Pulse metrics not yet available"
    assert after["has_pulse_metrics"]["name"] == name
