"""``/v1/initialize`` deltas between two application instances on one database, as two workers of
``lockgate serve`` are: a client whose held answer another instance gave still gets a delta,
the old answer evaluated again by the revision it came from, which js-client's own merge turns
into the full answer; a checksum that evaluation does not give back, or a revision no longer
kept, gets the full answer (docs/sdk.md §Initialize deltas)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi import FastAPI

from lockgate.app import create_app
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from tests.compat.sdks import js_deltas
from tests.contract.client import ContractClient
from tests.sdk_api.test_initialize_deltas import EVERYONE, GMAIL, USERS, _initialize

EXTRA = ["checksum", "checksumV2", "is_delta"]  # what the merged answer holds besides the full


@pytest.fixture()
def settings(base_settings: Settings) -> Settings:
    return base_settings.model_copy(update={"sdk_initialize_delta_revisions": 2})


@pytest.fixture()
def other(settings: Settings, db: Database, clock: ManualClock) -> Iterator[ContractClient]:
    """A second instance of the application on the same database: another worker."""
    with ContractClient(create_app(settings, clock=clock, database=db)) as client:
        yield client


@pytest.fixture()
def sdk(app: FastAPI) -> Iterator[ContractClient]:
    with ContractClient(app) as client:
        yield client


@pytest.fixture()
def entities(console: ContractClient) -> None:
    for i in range(12):
        made = console.post(
            "/console/v1/gates", json={"name": f"gate_{i}", "rules": [GMAIL if i % 2 else EVERYONE]}
        )
        assert made.status_code == 201, made.text
    made = console.post(
        "/console/v1/dynamic_configs",
        json={"name": "banner", "defaultValue": {"text": "hello", "ratio": 0.5}, "rules": [GMAIL]},
    )
    assert made.status_code == 201, made.text


def js_since(answer: bytes) -> dict[str, Any]:
    """What js-client sends once it holds ``answer`` (Network.fetchEvaluations)."""
    body = orjson.loads(answer)
    return {
        "deltasResponseRequested": True,
        "full_checksum": body["full_checksum"],
        "sinceTime": body["time"],
        "partialUserMatchSinceTime": body["time"],
        "previousDerivedFields": body["derived_fields"],
    }


def _change(console: ContractClient, name: str) -> None:
    changed = console.patch(f"/console/v1/gates/{name}", json={"rules": [GMAIL]})
    assert changed.status_code == 200, changed.text


@pytest.mark.usefixtures("entities")
def test_initialize__answer_held_from_another_instance__delta_merges_into_the_full_answer(
    sdk: ContractClient, other: ContractClient, console: ContractClient, project: Bootstrap
) -> None:
    # Given answers the first instance gave, and the second serving the same revision
    held = [_initialize(sdk, project, user) for user in USERS]
    assert _initialize(other, project, {"userID": "someone else"})
    # When a gate changes and a config is deleted, and the clients ask the second instance
    _change(console, "gate_0")
    assert console.delete("/console/v1/dynamic_configs/banner").status_code == 200
    sent = [
        _initialize(other, project, user, **js_since(answer))
        for user, answer in zip(USERS, held, strict=True)
    ]
    full = [_initialize(sdk, project, user) for user in USERS]
    # Then each gets a delta, which js-client merges, checksum passed, into the full answer
    for delta, answer in zip(sent, full, strict=True):
        body = orjson.loads(delta)
        assert body["is_delta"] is True
        assert len(body["deleted_configs"]) == 1
        assert len(delta) * 2 < len(answer)
    merged = js_deltas(merges=list(zip(held, sent, full, strict=True)))["merges"]
    assert merged == [{"differences": [], "extra": EXTRA}] * len(USERS)


@pytest.mark.usefixtures("entities")
def test_initialize__held_answer_not_given_back_by_its_revision__full_answer(
    sdk: ContractClient, other: ContractClient, console: ContractClient, project: Bootstrap
) -> None:
    held = _initialize(sdk, project, USERS[0])
    assert _initialize(other, project, USERS[1])
    _change(console, "gate_0")
    full = _initialize(sdk, project, USERS[0])
    since = js_since(held)
    # An unknown checksum, the right one with another time, or another user's answer
    for asked in (
        {**since, "full_checksum": "0" * 32},
        {**since, "sinceTime": 1, "partialUserMatchSinceTime": 1},
        {**since, "sinceTime": 0, "partialUserMatchSinceTime": 0},
    ):
        assert _initialize(other, project, USERS[0], **asked) == full
    assert _initialize(other, project, USERS[2], **since) == _initialize(sdk, project, USERS[2])
    # The time alone (partialUserMatchSinceTime, as sent with sinceTime 0) is enough
    alone = _initialize(other, project, USERS[0], **{**since, "sinceTime": 0})
    assert b'"is_delta":true' in alone


@pytest.mark.usefixtures("entities")
def test_initialize__revision_no_longer_kept__full_answer(
    sdk: ContractClient, other: ContractClient, console: ContractClient, project: Bootstrap
) -> None:
    # Given an answer the first instance gave, and the second serving each revision since
    held = _initialize(sdk, project, USERS[0])
    assert _initialize(other, project, USERS[1])
    for name in ("gate_0", "gate_2"):
        _change(console, name)
        assert _initialize(other, project, USERS[1])
    # Two revisions later the second still evaluates the held answer again
    assert b'"is_delta":true' in _initialize(other, project, USERS[0], **js_since(held))
    # When a third change pushes the held answer's revision out of the two kept
    _change(console, "gate_4")
    assert _initialize(other, project, USERS[1])
    # Then the client gets the full answer
    full = _initialize(sdk, project, USERS[0])
    assert _initialize(other, project, USERS[0], **js_since(held)) == full


class TestRevisionsOff:
    @pytest.fixture()
    def settings(self, base_settings: Settings) -> Settings:
        return base_settings.model_copy(update={"sdk_initialize_delta_revisions": 0})

    @pytest.mark.usefixtures("entities")
    def test_initialize__no_revisions_kept__full_answer_from_another_instance(
        self,
        sdk: ContractClient,
        other: ContractClient,
        console: ContractClient,
        project: Bootstrap,
    ) -> None:
        held = _initialize(sdk, project, USERS[0])
        assert _initialize(other, project, USERS[1])
        _change(console, "gate_0")
        full = _initialize(sdk, project, USERS[0])
        assert _initialize(other, project, USERS[0], **js_since(held)) == full
        # while the instance that gave it keeps the answer itself
        assert b'"is_delta":true' in _initialize(sdk, project, USERS[0], **js_since(held))
