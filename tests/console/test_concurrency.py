"""Concurrent writers through the API lose nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from tests.contract.client import ContractClient


def test_concurrent_creates__eight_threads__every_tag_and_audit_entry_kept(
    app: FastAPI, project: Bootstrap
) -> None:
    names = [f"tag_{i:02d}" for i in range(40)]

    def create(name: str) -> int:
        with ContractClient(app, project.console_key) as client:
            return client.post(
                "/console/v1/tags", json={"name": name, "description": ""}
            ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(create, names))
    assert statuses == [200] * len(names)
    with ContractClient(app, project.console_key) as client:
        listed = client.get("/console/v1/tags").json()
        audit = client.get("/console/v1/audit_logs", params={"actionType": "tag_create"}).json()
    assert sorted(t["name"] for t in listed["data"]) == names
    assert audit["pagination"]["totalItems"] == len(names)


def test_concurrent_updates__same_tag__every_change_audited(
    app: FastAPI, project: Bootstrap
) -> None:
    with ContractClient(app, project.console_key) as client:
        tag = client.post("/console/v1/tags", json={"name": "hot", "description": ""}).json()[
            "data"
        ]

    def update(i: int) -> int:
        with ContractClient(app, project.console_key) as client:
            body = {"description": f"edit {i}"}
            return client.patch(f"/console/v1/tags/{tag['id']}", json=body).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(update, range(24))) == [200] * 24
    with ContractClient(app, project.console_key) as client:
        edits = client.get("/console/v1/audit_logs", params={"actionType": "tag_edit"}).json()[
            "data"
        ]
    # Each edit saw the previous one's result: the "old" values chain without a gap.
    olds = {e["changes"]["description"]["old"] for e in edits}
    news = {e["changes"]["description"]["new"] for e in edits}
    assert len(edits) == 24 and len(news) == 24
    assert olds - news == {""}
