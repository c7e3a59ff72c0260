"""The daily schedule loads enabled holdouts and the gate rules someone loaded once."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import select

from lockgate.domains.holdouts import pulse as holdout_pulse
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.pulse.service import schedule_daily
from lockgate.kit.actor import Actor, Change
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.storage.models import PulseJob
from tests.contract.client import ContractClient

DAY = 86_400_000
GATES = "/console/v1/gates"
HOLDOUTS = "/console/v1/holdouts"


def _queued(db: Database) -> set[tuple[str, str, str | None]]:
    with db.transaction(write=False) as session:
        jobs = session.scalars(select(PulseJob).where(PulseJob.status == "queued")).all()
        return {(j.entity_type, j.entity_id, j.rule_id) for j in jobs}


def test_schedule_daily__holdouts_and_loaded_gate_rules__queued_once_a_day(
    app: FastAPI, console: ContractClient, db: Database, clock: ManualClock, project: Bootstrap
) -> None:
    created = console.post(
        GATES,
        json={
            "name": "the gate",
            "rules": [{"name": "r", "passPercentage": 50, "conditions": [{"type": "public"}]}],
        },
    )
    assert created.status_code == 201, created.text
    rule = created.json()["data"]["rules"][0]
    for name in ("holdout on", "holdout off"):
        assert console.post(HOLDOUTS, json={"name": name}).status_code == 200
    assert console.patch(f"{HOLDOUTS}/holdout_off", json={"isEnabled": False}).status_code == 200
    assert schedule_daily(db, clock) == 1
    assert _queued(db) == {("holdout", "holdout_on", None)}
    # Loading a rule once (by its current id) opts it into the daily loads, keyed by baseID.
    console.post(f"{GATES}/the_gate/load_pulse", json={"ruleId": rule["id"]})
    app.state.pulse_runner.run_pending()
    assert _queued(db) == set()
    assert schedule_daily(db, clock) == 0  # today's results exist
    clock.advance(DAY)
    assert schedule_daily(db, clock) == 2
    assert _queued(db) == {
        ("holdout", "holdout_on", None),
        ("gate_rule", "the_gate", rule["baseID"]),
    }
    assert schedule_daily(db, clock) == 0  # already pending
    app.state.pulse_runner.run_pending()
    assert console.delete(f"{GATES}/the_gate/rules/{rule['id']}").status_code == 200
    clock.advance(DAY)
    assert schedule_daily(db, clock) == 1
    assert _queued(db) == {("holdout", "holdout_on", None)}
    # An explicit load works for any holdout, enabled or not.
    with db.transaction() as session:
        change = Change(project.project.id, Actor(id="ops", name="ops"), clock.now_ms())
        holdout_pulse.load(session, change, "holdout_off")
    assert _queued(db) == {("holdout", "holdout_on", None), ("holdout", "holdout_off", None)}
