"""Id-list segments: add, remove, reset, pages, metadata, limits, audit, and big lists."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.segments import id_lists, repository
from lockgate.kit.actor import Actor, Change
from lockgate.kit.db import Database
from tests.contract.client import ContractClient
from tests.segments.conftest import (
    SEGMENTS,
    audit_entries,
    create_segment,
    read_id_list,
    spec_revision,
)

LIST = f"{SEGMENTS}/beta/id_list"
ADDED = {"message": "IDs successfully added to Segment ID List"}
REMOVED = {"message": "IDs successfully removed from Segment ID List"}


def _metadata(console: ContractClient, segment_id: str = "beta") -> dict[str, Any]:
    response = console.get(f"{SEGMENTS}/{segment_id}/idlist_metadata")
    assert response.json()["message"] == "ID List metadata read successfully"
    return response.json()["data"]  # type: ignore[no-any-return]


def _count(console: ContractClient, segment_id: str = "beta") -> int:
    return console.get(f"{SEGMENTS}/{segment_id}").json()["data"]["count"]  # type: ignore[no-any-return]


def test_id_list__add_remove_reset__count_pages_and_versions(
    app: FastAPI, project: Bootstrap, console: ContractClient
) -> None:
    create_segment(console, "beta", "id_list")
    assert _metadata(console) == {"currentVersion": 0, "isUpdating": False}

    added = console.patch(LIST, json={"ids": ["u2", "u1", " u4 ", "u3", "u1"]})
    assert added.json() == ADDED
    assert _count(console) == 4 and _metadata(console)["currentVersion"] == 1

    status, first = read_id_list(app, project, "beta", limit=3)
    assert status == 200 and first["message"] == "IDs read successfully"
    assert first["data"] == {"name": "beta", "count": 4, "ids": ["u1", "u2", "u3"]}
    assert first["pagination"]["totalItems"] == 4
    assert first["pagination"]["nextPage"] == f"{LIST}?page=2&limit=3"
    _, second = read_id_list(app, project, "beta", limit=3, page=2)
    assert second["data"]["ids"] == ["u4"] and second["pagination"]["nextPage"] is None

    removed = console.request("DELETE", LIST, json={"ids": ["u1", "not_there"]})
    assert removed.json() == REMOVED
    assert _count(console) == 3 and _metadata(console)["currentVersion"] == 2

    reset = console.post(f"{LIST}/reset", json={"ids": ["x", "y"]})
    assert reset.json() == {"message": "Segment Reset reset successfully."}
    _, after_reset = read_id_list(app, project, "beta")
    assert after_reset["data"] == {"name": "beta", "count": 2, "ids": ["x", "y"]}
    assert _metadata(console)["currentVersion"] == 3

    console.post(f"{LIST}/reset", json={"ids": []})
    assert _count(console) == 0


def test_id_list_changes__audit_counts_not_ids_and_spec_revision(
    console: ContractClient, db: Database, project: Bootstrap
) -> None:
    create_segment(console, "beta", "id_list")
    start = spec_revision(db, project)
    console.patch(LIST, json={"ids": ["secret_a", "secret_b", "secret_c"]})
    console.request("DELETE", LIST, json={"ids": ["secret_a"]})
    assert spec_revision(db, project) == start + 2
    latest, first = audit_entries(console, "beta")[:2]
    assert latest["actionType"] == first["actionType"] == "ID_list_update"
    assert first["changeLog"].startswith("Added 3 IDs to the ID list")
    assert latest["changeLog"].startswith("Removed 1 IDs from the ID list")
    assert latest["changes"]["count"] == {"old": 3, "new": 2}
    assert "secret_a" not in repr(latest) + repr(first)


def test_id_list_add__only_known_ids__no_version_no_audit(console: ContractClient) -> None:
    create_segment(console, "beta", "id_list")
    console.patch(LIST, json={"ids": ["a", "b"]})
    entries = len(audit_entries(console, "beta"))
    assert console.patch(LIST, json={"ids": ["b", "a"]}).json() == ADDED
    assert len(audit_entries(console, "beta")) == entries
    assert _metadata(console)["currentVersion"] == 1
    assert console.get(f"{SEGMENTS}/beta").json()["data"]["version"] == 2


@pytest.mark.parametrize(
    ("method", "suffix", "body", "segment_type", "message"),
    [
        ("PATCH", "/id_list", {"ids": ["a"]}, "rule_based", "'id_list'"),
        ("PATCH", "/id_list", {"ids": ["a"]}, "user_store_id_list", "'id_list'"),
        ("DELETE", "/id_list", {"ids": ["a"]}, "user_store_id_list", "'id_list'"),
        ("POST", "/id_list/reset", {"ids": ["a"]}, "rule_based", "'id_list'"),
        ("PATCH", "/add_ids", {"ids": ["a"]}, "id_list", "'user_store_id_list'"),
        ("PATCH", "/remove_ids", {"ids": ["a"]}, "rule_based", "'user_store_id_list'"),
    ],
)
def test_id_list_writes__wrong_segment_type__400_spec_message(
    console: ContractClient,
    method: str,
    suffix: str,
    body: dict[str, Any],
    segment_type: str,
    message: str,
) -> None:
    create_segment(console, "beta", segment_type)
    response = console.request(method, f"{SEGMENTS}/beta{suffix}", json=body)
    assert response.json() == {
        "status": 400,
        "message": f"Segment must be of type {message} to be modified on this endpoint",
    }


def test_id_list_reads__rule_based_segment__400(
    app: FastAPI, project: Bootstrap, console: ContractClient
) -> None:
    create_segment(console, "beta", "rule_based")
    expected = (
        "Segment must be of type 'id_list' | 'user_store_id_list' to be read on this endpoint"
    )
    assert console.get(f"{SEGMENTS}/beta/idlist_metadata").json()["message"] == expected
    assert read_id_list(app, project, "beta") == (400, {"status": 400, "message": expected})


@pytest.mark.parametrize(
    ("suffix", "segment_type", "count", "limit"),
    [
        ("/add_ids", "user_store_id_list", 1001, 1000),
        ("/remove_ids", "user_store_id_list", 1001, 1000),
        ("/id_list", "id_list", 100_001, 100_000),
    ],
)
def test_id_list_writes__too_many_ids__400_names_limit(
    console: ContractClient, suffix: str, segment_type: str, count: int, limit: int
) -> None:
    create_segment(console, "beta", segment_type)
    ids = [f"user_{i}" for i in range(count)]
    response = console.patch(f"{SEGMENTS}/beta{suffix}", json={"ids": ids})
    problem = f"at most {limit} ids per request, got {count}; send them in several requests"
    assert response.json() == {
        "status": 400,
        "message": f"Invalid request. ids: {problem}",
        "errors": [{"property": "ids", "in": "body", "message": problem}],
    }
    assert _count(console) == 0


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (["ok", "  "], "Invalid request. ids[1]: must be a non-empty string"),
        (["x" * 513], "Invalid request. ids[0]: must be at most 512 characters, got 513"),
        ([], "Invalid request. ids: must contain at least one id"),
        ([7], "Invalid request. ids.0: input should be a valid string"),
    ],
)
def test_id_list_add__bad_ids__400_and_unchanged(
    console: ContractClient, ids: list[Any], message: str
) -> None:
    create_segment(console, "beta", "id_list")
    response = console.patch(LIST, json={"ids": ids})
    assert response.status_code == 400 and response.json()["message"] == message
    assert _metadata(console)["currentVersion"] == 0


def test_id_list_remove__no_body__400_ids_required(console: ContractClient) -> None:
    create_segment(console, "beta", "id_list")
    response = console.delete(LIST)
    assert response.status_code == 400
    assert response.json()["message"].startswith("Invalid request. ids: is required")


def test_user_store_list__add_and_remove_with_version__applied(console: ContractClient) -> None:
    create_segment(console, "beta", "user_store_id_list")
    assert console.patch(f"{SEGMENTS}/beta/add_ids", json={"ids": ["a", "b", "c"]}).json() == (
        ADDED
    )
    removed = console.patch(f"{SEGMENTS}/beta/remove_ids", json={"ids": ["a"], "version": 1})
    assert removed.json() == REMOVED
    assert _count(console) == 2 and _metadata(console)["currentVersion"] == 2


def test_user_store_list__stale_version__400_and_unchanged(console: ContractClient) -> None:
    create_segment(console, "beta", "user_store_id_list")
    console.patch(f"{SEGMENTS}/beta/add_ids", json={"ids": ["a"]})
    response = console.patch(f"{SEGMENTS}/beta/add_ids", json={"ids": ["b"], "version": 0})
    assert response.status_code == 400
    assert response.json()["message"].startswith(
        "Invalid request. version: the ID list is at version 1, not 0"
    )
    assert _count(console) == 1


def test_user_store_list__read_ids__listed(
    app: FastAPI, project: Bootstrap, console: ContractClient
) -> None:
    create_segment(console, "beta", "user_store_id_list")
    console.patch(f"{SEGMENTS}/beta/add_ids", json={"ids": ["b", "a"]})
    assert read_id_list(app, project, "beta")[1]["data"]["ids"] == ["a", "b"]


def test_archive__id_list__ids_frozen(console: ContractClient) -> None:
    create_segment(console, "beta", "id_list")
    console.put(f"{SEGMENTS}/beta/archive")
    response = console.patch(LIST, json={"ids": ["a"]})
    assert response.status_code == 400 and "is archived" in response.json()["message"]


def test_delete__id_list__members_gone(
    console: ContractClient, db: Database, project: Bootstrap
) -> None:
    create_segment(console, "beta", "id_list")
    console.patch(LIST, json={"ids": ["a", "b"]})
    console.delete(f"{SEGMENTS}/beta")
    with db.transaction(write=False) as session:
        assert repository.count_members(session, project.project.id, "beta") == 0


def _fill(db: Database, project: Bootstrap, total: int, batch: int) -> None:
    change = Change(project.project.id, Actor(id="test", name="test"), 1_780_000_000_000)
    for start in range(0, total, batch):
        with db.transaction() as session:
            id_lists.add_ids(
                session, change, "big", [f"user_{i:07d}" for i in range(start, start + batch)]
            )


def _check_big_list(console: ContractClient, db: Database, project: Bootstrap, total: int) -> None:
    assert console.get(f"{SEGMENTS}/big").json()["data"]["count"] == total
    with db.transaction(write=False) as session:
        page = repository.page_members(session, project.project.id, "big", offset=500, limit=3)
        assert page == ["user_0000500", "user_0000501", "user_0000502"]
        streamed = id_lists.members(session, project.project.id, "big")
        assert sum(1 for _ in streamed) == total
        assert id_lists.is_member(session, project.project.id, "big", f"user_{total - 1:07d}")
    gone = [f"user_{i:07d}" for i in range(0, total, 2)]
    assert console.request("DELETE", f"{SEGMENTS}/big/id_list", json={"ids": gone[:100_000]})
    with db.transaction(write=False) as session:
        assert not id_lists.is_member(session, project.project.id, "big", "user_0000000")
        assert id_lists.is_member(session, project.project.id, "big", "user_0000001")
    assert console.get(f"{SEGMENTS}/big").json()["data"]["count"] == total - min(len(gone), 100_000)


def test_big_list__100k_ids_in_one_request__counted_paged_and_removed(
    console: ContractClient, db: Database, project: Bootstrap
) -> None:
    create_segment(console, "big", "id_list")
    ids = [f"user_{i:07d}" for i in range(100_000)]
    assert console.patch(f"{SEGMENTS}/big/id_list", json={"ids": ids}).json() == ADDED
    _check_big_list(console, db, project, 100_000)


@pytest.mark.slow
def test_big_list__1m_ids_in_batches_of_100k__counted_paged_and_removed(
    console: ContractClient, db: Database, project: Bootstrap
) -> None:
    create_segment(console, "big", "id_list")
    _fill(db, project, 1_000_000, 100_000)
    _check_big_list(console, db, project, 1_000_000)


def test_members__stream_crosses_pages__every_id_once_in_order(
    console: ContractClient, db: Database, project: Bootstrap
) -> None:
    create_segment(console, "beta", "id_list")
    console.patch(LIST, json={"ids": [f"id{i}" for i in range(7)]})
    with db.transaction(write=False) as session:
        streamed = list(repository.iter_members(session, project.project.id, "beta", page_size=3))
    assert streamed == [f"id{i}" for i in range(7)]
