"""The audit log: one entry per mutation, none for a failed one, and every filter."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.tags import service as tags_service
from lockgate.domains.tags.schemas import TagCreate
from lockgate.errors import InvalidInput
from lockgate.faces.console.context import Console
from lockgate.kit.clock import ManualClock
from tests.contract.client import ContractClient

DAY_MS = 86_400_000


def _entries(console: ContractClient, **params: Any) -> list[dict[str, Any]]:
    response = console.get("/console/v1/audit_logs", params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def _tag(console: ContractClient, name: str) -> dict[str, Any]:
    return console.post("/console/v1/tags", json={"name": name, "description": ""}).json()["data"]  # type: ignore[no-any-return]


def test_mutation__create_update_delete__entry_each_with_before_after(
    console: ContractClient,
) -> None:
    tag = _tag(console, "promo")
    console.patch(f"/console/v1/tags/{tag['id']}", json={"description": "Promotions"})
    console.delete(f"/console/v1/tags/{tag['id']}")
    entries = _entries(console, id=tag["id"])
    assert [e["actionType"] for e in entries] == ["tag_delete", "tag_edit", "tag_create"]
    assert entries[1]["changes"] == {"description": {"old": "", "new": "Promotions"}}
    assert entries[0]["changes"]["name"] == {"old": "promo", "new": None}
    assert all(e["updatedBy"] == "CONSOLE API" for e in entries)


def test_failed_mutation__validation_error__no_entry(console: ContractClient) -> None:
    before = len(_entries(console))
    _tag(console, "dup")
    console.post("/console/v1/tags", json={"name": "dup", "description": ""})
    assert len(_entries(console)) == before + 1


def test_failed_mutation__error_after_write__rolled_back(
    app: FastAPI, project: Bootstrap, console: ContractClient
) -> None:
    @app.post("/console/v1/__half_write")
    def half_write(ctx: Console) -> None:
        body = TagCreate.model_validate({"name": "ghost", "description": ""})
        tags_service.create(ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), body)
        raise InvalidInput("failing after the write")

    before = len(_entries(console))
    assert console.post("/console/v1/__half_write").status_code == 400
    assert console.get("/console/v1/tags/ghost").status_code == 404
    assert len(_entries(console)) == before


def test_filter__action_type_and_action_types(console: ContractClient) -> None:
    tag = _tag(console, "x1")
    console.patch(f"/console/v1/tags/{tag['id']}", json={"description": "d"})
    assert {e["actionType"] for e in _entries(console, actionType="tag_edit")} == {"tag_edit"}
    both = _entries(console, actionTypes=["tag_edit", "tag_create"])
    assert {e["actionType"] for e in both} == {"tag_edit", "tag_create"}


def test_filter__unknown_action_type__400(console: ContractClient) -> None:
    response = console.get("/console/v1/audit_logs", params={"actionType": "gate_explode"})
    assert response.status_code == 400
    assert "gate_explode" in response.json()["message"]


def test_filter__tags__entries_touching_the_tag(console: ContractClient) -> None:
    _tag(console, "alpha")
    _tag(console, "beta")
    assert [e["name"] for e in _entries(console, tags="alpha")] == ["alpha"]
    assert {e["name"] for e in _entries(console, tags=["alpha", "beta"])} == {"alpha", "beta"}


def test_filter__dates__inclusive_utc_days(console: ContractClient, clock: ManualClock) -> None:
    clock.advance(-clock.now_ms() % DAY_MS)  # midnight UTC, 2026-05-29
    _tag(console, "day0")
    clock.advance(DAY_MS)
    _tag(console, "day1")
    clock.advance(DAY_MS)
    _tag(console, "day2")
    names = [e["name"] for e in _entries(console, startDate="2026-05-30", endDate="2026-05-30")]
    assert names == ["day1"]
    assert [
        e["name"] for e in _entries(console, startDate="2026-05-30", actionType="tag_create")
    ] == [
        "day2",
        "day1",
    ]


@pytest.mark.parametrize("param", ["startDate", "endDate"])
def test_filter__malformed_date__400_names_param(console: ContractClient, param: str) -> None:
    response = console.get("/console/v1/audit_logs", params={param: "30/05/2026"})
    assert response.status_code == 400 and param in response.json()["message"]


def test_sort__name_ascending(console: ContractClient) -> None:
    for name in ["m_tag", "a_tag", "z_tag"]:
        _tag(console, name)
    names = [
        e["name"]
        for e in _entries(console, actionType="tag_create", sortKey="name", sortOrder="asc")
    ]
    assert names == ["a_tag", "m_tag", "z_tag"]


def test_sort__unknown_key__400(console: ContractClient) -> None:
    response = console.get("/console/v1/audit_logs", params={"sortKey": "colour"})
    assert response.status_code == 400 and "sortKey" in response.json()["message"]


def test_latest_id__older_entries_only(console: ContractClient) -> None:
    for name in ["first", "second", "third"]:
        _tag(console, name)
    tag_entries = _entries(console, actionType="tag_create")
    older = _entries(console, actionType="tag_create", latestID=tag_entries[1]["id"])
    assert [e["name"] for e in older] == ["second", "first"]
    response = console.get("/console/v1/audit_logs", params={"latestID": "nope"})
    assert response.status_code == 400
