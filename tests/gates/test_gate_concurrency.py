"""Concurrent writers on one gate lose no update: every change is a version, in sequence."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI

from lockgate.domains.projects.service import Bootstrap
from tests.contract.client import ContractClient
from tests.gates.support import GATES, rule

THREADS, UPDATES = 8, 24


def test_concurrent_rule_patches__eight_threads__every_change_in_versions(
    app: FastAPI, project: Bootstrap
) -> None:
    with ContractClient(app, project.console_key) as client:
        rules = [rule(f"rule {i}", 50) for i in range(THREADS)]
        gate = client.post(GATES, json={"name": "hot gate", "rules": rules}).json()["data"]
    rule_ids = [r["id"] for r in gate["rules"]]

    def update(i: int) -> int:
        # Each thread owns one rule; each update gives it a new name.
        rule_id = rule_ids[i % THREADS]
        with ContractClient(app, project.console_key) as client:
            body = {"name": f"rule {i % THREADS} edit {i}"}
            return client.patch(f"{GATES}/hot_gate/rules/{rule_id}", json=body).status_code

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        assert list(pool.map(update, range(UPDATES))) == [200] * UPDATES
    with ContractClient(app, project.console_key) as client:
        versions = client.get(f"{GATES}/hot_gate/versions", params={"limit": 100}).json()["data"]
        final = client.get(f"{GATES}/hot_gate").json()["data"]
    numbers = [v["version"] for v in reversed(versions)]
    assert numbers == list(range(1, UPDATES + 2))
    # Each update shows up as exactly one rule rename between consecutive versions.
    seen = set()
    for older, newer in zip(reversed(versions[1:]), reversed(versions[:-1]), strict=True):
        renamed = [
            n["name"]
            for o, n in zip(older["rules"], newer["rules"], strict=True)
            if o["name"] != n["name"]
        ]
        assert len(renamed) == 1
        seen.add(renamed[0])
    assert seen == {f"rule {i % THREADS} edit {i}" for i in range(UPDATES)}
    # The gate shows the newest version, and every rule carries one of its own edits.
    assert [r["name"] for r in final["rules"]] == [r["name"] for r in versions[0]["rules"]]
    for index, shown in enumerate(final["rules"]):
        assert shown["name"].startswith(f"rule {index} edit ")
