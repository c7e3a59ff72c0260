"""Gate lifecycle (launch, disable, enable, archive, unarchive) and the references lists."""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import EntityKind
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.actor import Actor, Change
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.storage.models import DynamicConfig
from tests.contract.client import ContractClient
from tests.gates.support import GATES, create_gate, error, rule


@pytest.mark.parametrize(
    ("action", "status", "enabled"),
    [
        ("launch", "Launched", True),
        ("disable", "Disabled", False),
        ("enable", "In Progress", True),
    ],
)
def test_lifecycle_action__sets_status_and_is_enabled(
    console: ContractClient, action: str, status: str, enabled: bool
) -> None:
    create_gate(console, "A Gate", isEnabled=action != "enable")
    response = console.put(f"{GATES}/a_gate/{action}")
    assert response.status_code == 200
    assert response.json()["message"] == "Gate updated successfully."
    gate = response.json()["data"]
    assert (gate["status"], gate["isEnabled"], gate["version"]) == (status, enabled, 2)
    assert console.get(f"{GATES}/a_gate").json()["data"]["status"] == status


def test_enable__after_launch__back_to_rule_evaluation(console: ContractClient) -> None:
    create_gate(console, "A Gate")
    console.put(f"{GATES}/a_gate/launch")
    # Sending back what was read changes no status; isEnabled false then disables.
    assert (
        console.patch(f"{GATES}/a_gate", json={"isEnabled": True}).json()["data"]["status"]
        == "Launched"
    )
    disabled = console.patch(f"{GATES}/a_gate", json={"isEnabled": False}).json()["data"]
    assert (disabled["status"], disabled["isEnabled"]) == ("Disabled", False)
    gate = console.put(f"{GATES}/a_gate/enable").json()["data"]
    assert (gate["status"], gate["isEnabled"]) == ("In Progress", True)


def test_archive__listed_as_archived_then_unarchive_restores_previous_status(
    console: ContractClient,
) -> None:
    create_gate(console, "A Gate")
    console.put(f"{GATES}/a_gate/launch")
    archived = console.put(f"{GATES}/a_gate/archive", json={"archiveReason": "done"})
    assert archived.status_code == 200
    assert archived.json()["data"]["status"] == "Archived"
    assert "archiveReason" not in archived.json()["data"]
    listed = console.get(GATES).json()["data"]
    assert [(g["id"], g["status"]) for g in listed] == [("a_gate", "Archived")]
    assert "is archived" in error(console.put(f"{GATES}/a_gate/launch"))
    assert "already archived" in error(console.put(f"{GATES}/a_gate/archive", json={}))
    restored = console.put(f"{GATES}/a_gate/unarchive", json={"unarchiveReason": "needed"})
    assert restored.json()["data"]["status"] == "Launched"
    assert "is not archived" in error(console.put(f"{GATES}/a_gate/unarchive", json={}))


def _config_referencing(db: Database, project: Bootstrap, now_ms: int, gate_id: str) -> None:
    # The configs resource is built separately; a row of its table is what references read.
    kind = EntityKind(
        model=DynamicConfig, entity_type="dynamic_config", label="Config", not_found=""
    )
    document: dict[str, Any] = {
        "id": "a_config",
        "name": "A Config",
        "description": "",
        "isEnabled": True,
        "defaultValue": {},
        "rules": [
            {
                "id": "r1",
                "baseID": "r1",
                "name": "gated",
                "passPercentage": 100,
                "conditions": [{"type": "passes_gate", "targetValue": gate_id, "operator": None}],
                "environments": None,
                "returnValue": {"on": True},
                "salt": "s",
            }
        ],
    }
    with db.transaction() as session:
        change = Change(project.project.id, Actor(id="t", name="test"), now_ms)
        entities.insert(
            session, kind, change, document, action="dynamic_config_create", change_log=""
        )


def test_references__gates_and_configs_naming_the_gate(
    console: ContractClient, db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    create_gate(console, "base")
    create_gate(
        console, "child", rules=[rule("c", 100, {"type": "fails_gate", "targetValue": "base"})]
    )
    create_gate(console, "other")
    _config_referencing(db, project, clock.now_ms(), "base")
    gates = console.get(f"{GATES}/base/gate_references").json()
    assert gates["message"] == "Gates listed successfully."
    assert [g["id"] for g in gates["data"]] == ["child"]
    configs = console.get(f"{GATES}/base/dynamic_config_references", params={"limit": 10}).json()
    assert [c["id"] for c in configs["data"]] == ["a_config"]
    assert "salt" not in configs["data"][0]["rules"][0]
    experiments = console.get(f"{GATES}/base/experiment_references").json()
    assert experiments["data"] == [] and experiments["pagination"]["totalItems"] == 0
    assert console.get(f"{GATES}/other/gate_references").json()["data"] == []
    assert "limit: must be at most 100" in error(
        console.get(f"{GATES}/base/gate_references", params={"limit": 101})
    )


def test_archive__referenced_gate__refused_unless_forced(
    console: ContractClient, db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    create_gate(console, "base")
    create_gate(
        console, "child", rules=[rule("c", 100, {"type": "passes_gate", "targetValue": "base"})]
    )
    _config_referencing(db, project, clock.now_ms(), "base")
    got = error(console.put(f"{GATES}/base/archive", json={}))
    assert got == (
        "Invalid request. Gate 'base' is referenced by gates ['child'] and dynamic configs "
        "['a_config']; remove those references or send forceArchive: true"
    )
    forced = console.put(f"{GATES}/base/archive", json={"forceArchive": True})
    assert forced.json()["data"]["status"] == "Archived"
