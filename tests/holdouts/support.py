"""Helpers shared by the holdout tests: paths, one-call creation, and stored experiments and
layers to attach (written straight through ``entities.insert``, as their own packages would)."""

from __future__ import annotations

from typing import Any

from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import EntityKind
from lockgate.domains.projects.service import Bootstrap
from lockgate.errors import GENERIC_NOT_FOUND
from lockgate.kit.actor import Actor, Change
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.storage.models import Experiment, Layer
from tests.contract.client import ContractClient

HOLDOUTS = "/console/v1/holdouts"
GATES = "/console/v1/gates"
EVERYONE_RULE = {"name": "everyone", "passPercentage": 100, "conditions": [{"type": "public"}]}
FULL_UPDATE = {
    "isEnabled": True,
    "description": "d",
    "passPercentage": 10,
    "gateIDs": [],
    "experimentIDs": [],
    "layerIDs": [],
    "isGlobal": False,
    "targetingGateID": None,
}

_EXPERIMENT = EntityKind(
    model=Experiment, entity_type="experiment", label="Experiment", not_found=GENERIC_NOT_FOUND
)
_LAYER = EntityKind(model=Layer, entity_type="layer", label="Layer", not_found=GENERIC_NOT_FOUND)


def create_holdout(console: ContractClient, name: str, **body: Any) -> dict[str, Any]:
    response = console.post(HOLDOUTS, json={"name": name, **body})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def patch_holdout(console: ContractClient, holdout_id: str, **body: Any) -> dict[str, Any]:
    response = console.patch(f"{HOLDOUTS}/{holdout_id}", json=body)
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def create_gate(console: ContractClient, name: str, **body: Any) -> dict[str, Any]:
    response = console.post(GATES, json={"name": name, "rules": [EVERYONE_RULE], **body})
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def store_entity(
    db: Database,
    project: Bootstrap,
    clock: ManualClock,
    kind: str,
    entity_id: str,
    **document: Any,
) -> None:
    """An experiment or layer row, enough for a holdout to attach to and compile against."""
    change = Change(project.project.id, Actor(id="test", name="test"), clock.now_ms())
    entity_kind = _EXPERIMENT if kind == "experiment" else _LAYER
    with db.transaction() as session:
        entities.insert(
            session,
            entity_kind,
            change,
            {"id": entity_id, "name": entity_id, "idType": "userID", **document},
            action=f"{kind}_create",
            change_log="test",
        )


def error(response: Any, status: int = 400) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    return body["message"]  # type: ignore[no-any-return]
