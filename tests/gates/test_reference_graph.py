"""The reference graph (docs/architecture.md §Reference graph): the edges stored with every
write match the documents, cycles through long chains are still refused, and the lookups that
read the edges answer as the documents say."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from lockgate.domains.entities.graph import edges_of
from lockgate.domains.entities.kinds import DYNAMIC_CONFIG, EXPERIMENT, GATE, SEGMENT
from lockgate.domains.gates import service as gates_service
from lockgate.domains.gates.schemas import GateCreate, GatePartialUpdate
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.segments import service as segments_service
from lockgate.domains.segments.schemas import SegmentCreate
from lockgate.kit.actor import Actor, Change
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.storage.models import EntityReference
from tests.contract.client import ContractClient
from tests.gates.support import GATES, create_gate, error, rule
from tests.reviews.support import require_reviews, second_console_key, set_rules

SEGMENTS = "/console/v1/segments"
CONFIGS = "/console/v1/dynamic_configs"
EXPERIMENTS = "/console/v1/experiments"
STAFF = {"type": "email", "operator": "str_contains_any", "targetValue": ["@example.com"]}


def _passes(gate_id: str) -> dict[str, Any]:
    return {"type": "passes_gate", "targetValue": gate_id}


def _in_segment(segment_id: str) -> dict[str, Any]:
    return {"type": "passes_segment", "targetValue": segment_id}


def _stored_edges(db: Database, project_id: str) -> set[tuple[str, str, str, str]]:
    with db.transaction() as session:
        rows = session.execute(
            select(
                EntityReference.entity_type,
                EntityReference.entity_id,
                EntityReference.target_type,
                EntityReference.target_id,
            ).where(EntityReference.project_id == project_id)
        )
        return {(row[0], row[1], row[2], row[3]) for row in rows}


def _document_edges(db: Database, project_id: str) -> set[tuple[str, str, str, str]]:
    found: set[tuple[str, str, str, str]] = set()
    with db.transaction() as session:
        for kind in (GATE, DYNAMIC_CONFIG, SEGMENT, EXPERIMENT):
            model = kind.model
            for row in session.scalars(select(model).where(model.project_id == project_id)):
                found |= {(kind.entity_type, row.id, t, i) for t, i in edges_of(row.document)}
    return found


def _gate_chain(db: Database, project: Bootstrap, clock: ManualClock, length: int) -> None:
    """gate0, then gate1 .. gate{length - 1} each passing the one before it, written through
    the gates service (rules checked, edges stored) in one transaction: one Console API request
    each took a minute on a loaded machine. The gates are created first, then given their rules
    from the last one down, so that each rule's cycle check walks one edge instead of the chain
    below it (on PostgreSQL the walks took most of the test's time)."""
    with db.transaction() as session:
        change = Change(project.project.id, Actor(id="test", name="test"), clock.now_ms())
        for i in range(length):
            gates_service.create(session, change, GateCreate(name=f"gate{i}"))
        for i in range(length - 1, 0, -1):
            body = {"rules": [rule(f"r{i}", 100, _passes(f"gate{i - 1}"))]}
            gates_service.patch(session, change, f"gate{i}", GatePartialUpdate.model_validate(body))


def test_long_gate_chain__closing_rule__400_naming_the_whole_cycle_and_unchanged(
    console: ContractClient, db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    # Given 500 gates, each passing the one before it
    _gate_chain(db, project, clock, 500)
    assert console.get(f"{GATES}/gate499").json()["data"]["rules"][0]["conditions"] == [
        _passes("gate498")
    ]

    # When the first gate is made to pass the last
    got = error(console.post(f"{GATES}/gate0/rule", json=rule("back", 100, _passes("gate499"))))

    # Then the cycle through all 500 is refused, named in full, and g0 keeps its rules
    chain = " → ".join(["gate0", *(f"gate{i}" for i in range(499, -1, -1))])
    assert got == f"Invalid request. rules: gate references would form a cycle: {chain}"
    assert console.get(f"{GATES}/gate0").json()["data"]["rules"] == []


def test_gate_chain__link_removed_then_closing_rule__accepted(console: ContractClient) -> None:
    # Given gate_a → gate_b → gate_c, then gate_b's rule replaced by one naming no gate
    create_gate(console, "gate_a")
    create_gate(console, "gate_b", rules=[rule("to a", 100, _passes("gate_a"))])
    create_gate(console, "gate_c", rules=[rule("to b", 100, _passes("gate_b"))])
    assert console.patch(f"{GATES}/gate_b", json={"rules": [rule("everyone")]}).status_code == 200

    # When gate_a names gate_c
    response = console.post(f"{GATES}/gate_a/rule", json=rule("to c", 100, _passes("gate_c")))

    # Then there is no cycle any more (gate_a → gate_c → gate_b)
    assert response.status_code == 200, response.text


def test_gate_chain__deleted_link__no_longer_walked(console: ContractClient) -> None:
    create_gate(console, "gate_a")
    create_gate(console, "gate_b", rules=[rule("to a", 100, _passes("gate_a"))])
    create_gate(console, "gate_c", rules=[rule("to b", 100, _passes("gate_b"))])
    # gate_c is deleted, then created again naming nothing: gate_a may now name it
    assert console.delete(f"{GATES}/gate_c").status_code == 200
    create_gate(console, "gate_c")
    assert (
        console.post(f"{GATES}/gate_a/rule", json=rule("to c", 100, _passes("gate_c"))).status_code
        == 200
    )
    got = error(console.post(f"{GATES}/gate_c/rule", json=rule("to b", 100, _passes("gate_b"))))
    assert got.endswith("cycle: gate_c → gate_b → gate_a → gate_c")


def _segment_chain(db: Database, project: Bootstrap, clock: ManualClock, length: int) -> None:
    """Rule-based segments seg0 .. seg{length - 1}, each in the one before it, written through
    the segments service (rules checked, edges stored) in one transaction: one Console API
    request each took over half a minute on PostgreSQL on a loaded machine. As with gates, the
    segments are created first and given their rules from the last one down."""
    with db.transaction() as session:
        change = Change(project.project.id, Actor(id="test", name="test"), clock.now_ms())
        for i in range(length):
            body = {"name": f"seg{i}", "type": "rule_based", "rules": []}
            segments_service.create(session, change, SegmentCreate.model_validate(body))
        for i in range(length - 1, 0, -1):
            rules = [rule(f"in seg{i - 1}", 100, _in_segment(f"seg{i - 1}"))]
            segments_service.update_rules(session, change, f"seg{i}", rules)


def test_long_segment_chain__closing_rule__400_naming_the_chain(
    console: ContractClient, db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    # Given 200 rule-based segments, each in the one before it
    _segment_chain(db, project, clock, 200)
    assert console.get(f"{SEGMENTS}/seg199").json()["data"]["rules"][0]["conditions"] == [
        _in_segment("seg198")
    ]

    # When the first is made to name the last
    back = [rule("in seg199", 100, _in_segment("seg199"))]
    response = console.post(f"{SEGMENTS}/seg0/conditional", json=back)

    # Then the cycle is refused, named in full
    chain = " -> ".join(repr(s) for s in ["seg0", *(f"seg{i}" for i in range(199, -1, -1))])
    assert response.status_code == 400
    assert f"would form a cycle ({chain})" in response.json()["message"]


def test_edges__every_kind_and_write__match_the_documents(
    console: ContractClient, db: Database, project: Bootstrap
) -> None:
    # Given gates, a segment, a config and an experiment naming each other, then edited
    create_gate(console, "base")
    create_gate(console, "other")
    seg = {"name": "staff", "type": "rule_based", "rules": [rule("staff", 100, STAFF)]}
    assert console.post(SEGMENTS, json=seg).status_code == 201
    both = rule("both", 100, _passes("base"), _in_segment("staff"))
    create_gate(console, "user", rules=[both])
    config = {"name": "config", "rules": [{**rule("c", 100, _passes("other")), "returnValue": {}}]}
    assert console.post(CONFIGS, json=config).status_code == 201, console.post(CONFIGS, json=config)
    experiment = {
        "name": "an experiment",
        "hypothesis": "h",
        "inlineTargetingRules": [rule("t", 100, _in_segment("staff"))],
    }
    response = console.post(EXPERIMENTS, json=experiment)
    assert response.status_code == 201, response.text
    assert console.patch(f"{GATES}/user", json={"rules": [rule("o", 100, _passes("other"))]})
    assert console.delete(f"{CONFIGS}/config").status_code == 200

    # Then the stored edges are exactly what the documents name
    expected = {
        ("gate", "user", "gate", "other"),
        ("experiment", "an_experiment", "segment", "staff"),
    }
    assert _document_edges(db, project.project.id) == expected
    assert _stored_edges(db, project.project.id) == expected


def test_gate_references__lists_gates_and_configs_naming_the_gate(console: ContractClient) -> None:
    create_gate(console, "base")
    create_gate(console, "first", rules=[rule("r", 100, _passes("base"))])
    create_gate(
        console, "second", rules=[rule("r", 100, {"type": "fails_gate", "targetValue": "base"})]
    )
    create_gate(console, "unrelated")
    config = {"name": "config", "rules": [{**rule("c", 100, _passes("base")), "returnValue": {}}]}
    assert console.post(CONFIGS, json=config).status_code == 201

    gates = console.get(f"{GATES}/base/gate_references").json()
    configs = console.get(f"{GATES}/base/dynamic_config_references").json()

    assert [g["id"] for g in gates["data"]] == ["first", "second"]
    assert [c["id"] for c in configs["data"]] == ["config"]
    assert "base" in error(console.put(f"{GATES}/base/archive", json={}))


def test_segment_delete__named_by_a_gate__400_until_the_rule_goes(console: ContractClient) -> None:
    seg = {"name": "staff", "type": "rule_based", "rules": [rule("staff", 100, STAFF)]}
    assert console.post(SEGMENTS, json=seg).status_code == 201
    create_gate(console, "uses", rules=[rule("r", 100, _in_segment("staff"))])

    got = error(console.delete(f"{SEGMENTS}/staff"))
    assert got == (
        "Invalid request. Segment 'staff' is used by gate 'uses'; "
        "remove those conditions before deleting it"
    )

    assert console.patch(f"{GATES}/uses", json={"rules": [rule("everyone")]}).status_code == 200
    assert console.delete(f"{SEGMENTS}/staff").status_code == 200


def test_edges__change_under_review__recorded_only_when_committed(
    app: FastAPI, console: ContractClient, db: Database, project: Bootstrap
) -> None:
    # Given reviews required, and a gate whose new rule naming another gate waits as a review
    require_reviews(console)
    create_gate(console, "base")
    create_gate(console, "checkout")
    named = [{**rule("to base", 100, _passes("base")), "environments": None}]
    response = set_rules(console, "checkout", named)
    review_id = response.json()["data"]["activeReview"]["reviewID"]

    # Then the pending change stored no edge
    assert _stored_edges(db, project.project.id) == set()

    # When it is approved by another key and committed
    path = f"{GATES}/checkout/reviews/{review_id}"
    with ContractClient(app, second_console_key(console)) as other:
        assert other.put(f"{path}/approve", json={}).status_code == 200
    assert console.put(f"{path}/commit").status_code == 200

    # Then the edge is there, and the base gate now refuses to name checkout
    assert _stored_edges(db, project.project.id) == {("gate", "checkout", "gate", "base")}
    got = error(console.post(f"{GATES}/base/rule", json=rule("back", 100, _passes("checkout"))))
    assert got.endswith("cycle: base → checkout → base")
