"""Assignments grouped by exposure value: gate rules (pass/fail of the rule, across rollout id
changes) and holdouts (the holdout's entry among secondary exposures)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from lockgate.domains.events.repository import insert_rows
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.pulse.monitoring import gate_rule_assignment, holdout_assignment
from lockgate.domains.pulse.sql import Assignment, assignments, crossover_count
from lockgate.kit.db import Database
from lockgate.storage.models import Exposure

T0 = 1_780_000_000_000
GATE = {"id": "g", "idType": "userID"}
RULE = {"id": "base:60.00:1", "baseID": "base"}


def _row(pid: str, unit: str, ts: int, **fields: Any) -> dict[str, Any]:
    return {
        "project_id": pid,
        "kind": "gate",
        "name": "g",
        "user_id": unit,
        "time": ts,
        "received_time": ts,
        **fields,
    }


def _assigned(db: Database, pid: str, spec: Assignment) -> tuple[dict[str, Any], int]:
    with db.transaction(write=False) as session:
        assignment = assignments(pid, spec)
        rows = session.execute(select(assignment)).all()
        crossovers = int(session.scalar(crossover_count(pid, spec)) or 0)
    return {r.unit: (r.grp, r.first_ts) for r in rows}, crossovers


def test_gate_rule_assignment__value_of_rule_exposures__pass_fail_crossovers_out(
    db: Database, project: Bootstrap
) -> None:
    pid = project.project.id
    rows = [
        _row(pid, "passed", T0 + 5, rule_id="base", value="true"),
        _row(pid, "passed", T0 + 1, rule_id="base", value="true"),
        _row(pid, "failed", T0, rule_id="base:60.00:1", value="false"),
        _row(pid, "older_id", T0, rule_id="base:50.00:0", value="true"),
        _row(pid, "crossed", T0, rule_id="base", value="false"),
        _row(pid, "crossed", T0 + 9, rule_id="base:60.00:1", value="true"),
        _row(pid, "other_rule", T0, rule_id="other", value="true"),
        _row(pid, "override", T0, rule_id="pass:all:id_override", value="true"),
        _row(pid, "lookalike", T0, rule_id="basement", value="true"),
        _row(pid, "config", T0, rule_id="base", value="true", kind="config"),
        _row(pid, "other_gate", T0, rule_id="base", value="true", name="h"),
        _row(pid, "late", T0 + 100, rule_id="base", value="true"),
    ]
    with db.transaction() as session:
        insert_rows(session.connection(), "exposures", rows)
    got, crossovers = _assigned(db, pid, gate_rule_assignment(GATE, RULE, end_ms=T0 + 100))
    assert got == {
        "passed": ("Pass", T0 + 1),
        "failed": ("Fail", T0),
        "older_id": ("Pass", T0),
    }
    assert crossovers == 1


def _secondary(gate: str, value: Any, rule: str = "r") -> dict[str, Any]:
    return {"gate": gate, "gateValue": value, "ruleID": rule}


def test_holdout_assignment__secondary_exposures__held_out_or_not(
    db: Database, project: Bootstrap
) -> None:
    pid = project.project.id
    cases: dict[str, list[Any] | None] = {
        "held": [_secondary("h", "true")],
        "free": [_secondary("other", "true"), _secondary("h", "false")],
        "boolean": ["junk", 5, None, _secondary("h", True)],
        "sql_null": None,
        "empty": [],
        "overridden": [_secondary("h", "true", "pass:all:id_override")],
        "lookalike": [_secondary("h_2", "true")],
    }
    rows = [
        _row(pid, unit, T0, rule_id="x", value="false", secondary_exposures=secondary)
        for unit, secondary in cases.items()
    ]
    # Exposures of other entities (any kind) carry the holdout too.
    for unit, ts, name, kind, value in (
        ("crossed", T0, "e", "config", "true"),
        ("crossed", T0, "l", "layer", "false"),
        ("held", T0 - 5, "exp", "config", "true"),
    ):
        secondary = [_secondary("h", value)]
        rows.append(_row(pid, unit, ts, name=name, kind=kind, secondary_exposures=secondary))
    with db.transaction() as session:
        insert_rows(session.connection(), "exposures", rows)
        # Through the ORM a missing list is stored as a JSON null, not SQL NULL.
        session.add(Exposure(**_row(pid, "json_null", T0, secondary_exposures=None)))
    spec = holdout_assignment({"id": "h", "idType": "userID"}, end_ms=T0 + 1)
    got, crossovers = _assigned(db, pid, spec)
    assert got == {
        "held": ("Holdout", T0 - 5),
        "free": ("Not held out", T0),
        "boolean": ("Holdout", T0),
    }
    assert crossovers == 1
