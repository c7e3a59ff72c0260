"""The SQL a gate create costs, pinned: a change that adds a statement to every create (a
repeated existence check, a second read of the project, a key read twice) fails here, and the
failure lists what ran. docs/architecture.md §Write cost explains each statement."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from lockgate.kit.db import Database
from tests.contract.client import ContractClient
from tests.gates.support import GATES, create_gate, rule

# A gate without rules: the key (1), the name free among gates and holdouts (1), the project
# (1), the row and its name claim in a savepoint (4), the next version number (1), the audit
# entry and version snapshot (2), the spec revision and its change feed row (2).
PLAIN_CREATE = 12
# Each condition naming a gate or a segment adds its existence check; naming gates adds the
# walk of the reference graph (cycle check), and naming anything the insert of the edges.
REFERENCING_CREATE = PLAIN_CREATE + 2 + 1 + 1


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The statements run on ``db`` inside the block, without the ``BEGIN`` that SQLite's
    connections send as a statement and PostgreSQL's driver sends unseen."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        statement = " ".join(str(args[2]).split())
        if not statement.upper().startswith("BEGIN"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _listing(seen: list[str]) -> str:
    return "\n".join(s[:120] for s in seen)


def test_gate_create__without_rules__costs_a_pinned_number_of_statements(
    console: ContractClient, db: Database
) -> None:
    create_gate(console, "warm up")  # the first request fills caches the others reuse
    with statements(db) as seen:
        response = console.post(GATES, json={"name": "Pinned Gate"})
    assert response.status_code == 201
    assert len(seen) == PLAIN_CREATE, _listing(seen)
    assert sum("api_keys" in s for s in seen) == 1, _listing(seen)
    assert sum(s.startswith("SELECT projects.") for s in seen) == 1, _listing(seen)


def test_gate_create__naming_a_gate_and_a_segment__adds_only_their_checks(
    console: ContractClient, db: Database
) -> None:
    create_gate(console, "base gate")
    segment = {
        "name": "base segment",
        "type": "rule_based",
        "rules": [
            rule(
                "staff",
                100,
                {"type": "email", "operator": "str_contains_any", "targetValue": ["@acme.com"]},
            )
        ],
    }
    assert console.post("/console/v1/segments", json=segment).status_code == 201
    conditions = [
        {"type": "passes_gate", "targetValue": "base_gate"},
        {"type": "passes_segment", "targetValue": "base_segment"},
    ]
    with statements(db) as seen:
        response = console.post(
            GATES, json={"name": "Referencing Gate", "rules": [rule("r", 50, *conditions)]}
        )
    assert response.status_code == 201
    assert len(seen) == REFERENCING_CREATE, _listing(seen)


def test_gate_create__one_gate_named_by_several_conditions__is_checked_once(
    console: ContractClient, db: Database
) -> None:
    create_gate(console, "base gate")
    named = {"type": "passes_gate", "targetValue": "base_gate"}
    refused = {"type": "fails_gate", "targetValue": "base_gate"}
    rules = [rule("a", 50, named), rule("b", 20, refused), rule("c", 10, named, refused)]
    with statements(db) as seen:
        response = console.post(GATES, json={"name": "Repeating Gate", "rules": rules})
    assert response.status_code == 201
    checks = [s for s in seen if s.startswith("SELECT count(*)") and "FROM gates" in s]
    assert len(checks) == 1, _listing(seen)
