"""Ids are unique across the kinds that share an SDK payload map, also when creates race."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.orm import Session

from lockgate.domains.configs import service as configs_service
from lockgate.domains.configs.schemas import ConfigCreate
from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import (
    DYNAMIC_CONFIG,
    DYNAMIC_CONFIGS_MAP,
    EXPERIMENT,
    FEATURE_GATES_MAP,
    GATE,
    HOLDOUT,
)
from lockgate.domains.entities.namespaces import DYNAMIC_CONFIGS, FEATURE_GATES
from lockgate.domains.experiments import service as experiments_service
from lockgate.domains.experiments.schemas import ExperimentCreate
from lockgate.domains.projects.service import Bootstrap
from lockgate.errors import Conflict
from lockgate.kit.actor import Actor, Change
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from tests.contract.client import ContractClient

AUTOTUNE = {
    "name": "shared_name",
    "variants": [{"name": "a", "json": {}}, {"name": "b", "json": {}}],
    "successEvent": "purchase",
    "explorationWindow": "24hr",
    "attributionWindow": "24hr",
    "winnerThreshold": "95%",
}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            ("/console/v1/gates", {"name": "shared_name"}),
            ("/console/v1/holdouts", {"name": "shared_name"}),
        ),
        (
            ("/console/v1/holdouts", {"name": "shared_name"}),
            ("/console/v1/gates", {"name": "shared_name"}),
        ),
        (
            ("/console/v1/dynamic_configs", {"name": "shared_name"}),
            ("/console/v1/experiments", {"name": "shared_name"}),
        ),
        (("/console/v1/experiments", {"name": "shared_name"}), ("/console/v1/autotunes", AUTOTUNE)),
        (
            ("/console/v1/autotunes", AUTOTUNE),
            ("/console/v1/dynamic_configs", {"name": "shared_name"}),
        ),
    ],
)
def test_create__id_taken_in_shared_payload_map__name_in_use(
    console: ContractClient,
    first: tuple[str, dict[str, object]],
    second: tuple[str, dict[str, object]],
) -> None:
    assert console.post(first[0], json=first[1]).status_code in (200, 201)
    response = console.post(second[0], json=second[1])
    assert response.json() == {"status": 400, "message": "Name is already in use"}


def _create_config(session: Session, change: Change, name: str) -> None:
    configs_service.create(session, change, ConfigCreate.model_validate({"name": name}))


def _create_experiment(session: Session, change: Change, name: str) -> None:
    experiments_service.create(session, change, ExperimentCreate.model_validate({"name": name}))


def test_create__two_kinds_race_past_the_name_check__second_is_name_in_use(
    db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    # Given a config created and flushed but not yet committed
    change = Change(project.project.id, Actor(id="test", name="test"), clock.now_ms())
    first = db.session(write=True)
    _create_config(first, change, "raced_name")
    outcome: list[BaseException | None] = []

    def second() -> None:
        try:
            with db.transaction() as session:
                _create_experiment(session, change, "raced_name")
            outcome.append(None)
        except BaseException as problem:
            outcome.append(problem)

    # When an experiment of the same id is created meanwhile (its name check finds nothing on
    # PostgreSQL; on SQLite it waits for the write lock), and the config then commits
    racer = threading.Thread(target=second)
    racer.start()
    racer.join(timeout=2)  # lets an unguarded create finish before the first commits
    first.commit()
    first.close()
    racer.join()

    # Then the second create is refused as a name in use, and only the config exists
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict), outcome
    with db.transaction(write=False) as session:
        assert entities.exists(session, DYNAMIC_CONFIG, change.project_id, "raced_name")
        assert not entities.exists(session, EXPERIMENT, change.project_id, "raced_name")


def test_insert__id_already_stored__conflict_and_transaction_still_usable(
    db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    change = Change(project.project.id, Actor(id="test", name="test"), clock.now_ms())
    document = {"id": "taken_gate", "name": "taken_gate", "rules": []}
    with db.transaction() as session:
        entities.insert(session, GATE, change, document, action="gate_create", change_log="")
    with db.transaction() as session:
        # The name check is skipped, as when a concurrent create passed it first.
        with pytest.raises(Conflict):
            entities.insert(session, HOLDOUT, change, document, action="create", change_log="")
        with pytest.raises(Conflict):
            entities.insert(session, GATE, change, document, action="create", change_log="")
        assert entities.exists(session, GATE, change.project_id, "taken_gate")


def test_namespaces__kinds_of_one_group__claim_one_namespace() -> None:
    assert {kind.namespace for kind in FEATURE_GATES} == {FEATURE_GATES_MAP}
    assert {kind.namespace for kind in DYNAMIC_CONFIGS} == {DYNAMIC_CONFIGS_MAP}
