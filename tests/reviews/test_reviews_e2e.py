"""Reviews end to end, with a live server and statsig-python-core: with reviews required on
production, a rule change submitted with the header leaves the SDK's evaluation alone until the
review is approved by a member of the required review group and committed; a stale review is
refused; and the same flow through a pre-commit webhook served by a local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.domains.projects.service import SYSTEM_ACTOR, Bootstrap
from lockgate.domains.reviews import settings as review_settings
from lockgate.kit.actor import Change
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from tests.compat.live import live_server
from tests.compat.sdks import core_sdk, core_user, wait_until
from tests.contract.client import ContractClient
from tests.reviews.support import (
    V1,
    add_role,
    add_team,
    add_user,
    gate,
    personal_key,
    require_reviews,
    review_group_on_production,
    rule,
    set_rules,
)

USER = core_user({"userID": "u-42"})


@dataclass
class Keys:
    author: str
    member_without_approval: str
    approver: str


@pytest.fixture()
def keys(db: Database, project: Bootstrap, clock: ManualClock, console: ContractClient) -> Keys:
    pid = project.project.id
    add_role(db, pid, "Editor", {"create_configs", "edit_or_delete_configs"}, clock)
    author = add_user(db, pid, "author@example.com", "Member", clock)
    editor = add_user(db, pid, "editor@example.com", "Editor", clock)
    approver = add_user(db, pid, "freeze@example.com", "Member", clock)
    team = add_team(db, pid, "Code Freeze", [approver], clock)
    require_reviews(console)
    review_group_on_production(console, team)
    return Keys(
        author=personal_key(db, pid, author, clock),
        member_without_approval=personal_key(db, pid, editor, clock),
        approver=personal_key(db, pid, approver, clock),
    )


@dataclass
class Validator:
    """A pre-commit webhook: records what it receives."""

    url: str
    received: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)


@pytest.fixture()
def validator() -> Iterator[Validator]:
    received: list[tuple[dict[str, str], dict[str, Any]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(({k.lower(): v for k, v in self.headers.items()}, json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Validator(f"http://127.0.0.1:{server.server_address[1]}/validate", received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _as(app: FastAPI, key: str, method: str, path: str, **kwargs: Any) -> Any:
    with ContractClient(app, key) as client:
        return client.request(method, path, **kwargs)


def _submit(app: FastAPI, key: str, percent: int) -> str:
    with ContractClient(app, key) as author:
        response = set_rules(author, "checkout", [rule("all", percent)])
    assert response.json()["message"] == "Gate change submitted for review.", response.text
    return f"{V1}/gates/checkout/reviews/{response.json()['data']['activeReview']['reviewID']}"


def test_review_flow__live_sdk__unchanged_until_committed_and_stale_refused(
    app: FastAPI, console: ContractClient, project: Bootstrap, keys: Keys
) -> None:
    gate(console, percent=0)
    with live_server(app) as base, core_sdk(base, project.server_key, tier="production") as sdk:
        assert sdk.check_gate(USER, "checkout") is False
        path = _submit(app, keys.author, 100)

        refused = _as(app, keys.member_without_approval, "PUT", f"{path}/approve", json={})
        approved = _as(app, keys.approver, "PUT", f"{path}/approve", json={})
        committed = _as(app, keys.author, "PUT", f"{path}/commit")

        assert refused.status_code == 403 and "approve_reviews" in refused.json()["message"]
        assert approved.json()["data"]["status"] == "accepted"
        assert committed.status_code == 200, committed.text
        assert wait_until(lambda: sdk.check_gate(USER, "checkout"), timeout_s=5)

        stale = _submit(app, keys.author, 0)
        _as(app, keys.approver, "PUT", f"{stale}/approve", json={})
        console.patch(f"{V1}/gates/checkout", json={"description": "edited meanwhile"})
        set_rules(console, "checkout", [rule("all", 100), rule("extra", 0)], respect=False)
        refused_commit = _as(app, keys.author, "PUT", f"{stale}/commit")

        assert refused_commit.status_code == 400
        assert "out of date" in refused_commit.json()["message"]
        assert sdk.check_gate(USER, "checkout") is True


def test_review_flow__precommit_webhook__validated_commits_then_rejected_fails(
    app: FastAPI,
    console: ContractClient,
    project: Bootstrap,
    keys: Keys,
    db: Database,
    clock: ManualClock,
    validator: Validator,
) -> None:
    with db.transaction() as session:
        review_settings.set_precommit_webhook(
            session,
            Change(project.project.id, SYSTEM_ACTOR, clock.now_ms()),
            url=validator.url,
            key="hook-key",
            initial_message="Validating",
        )
    gate(console, percent=0)
    worker = app.state.review_worker
    with live_server(app) as base, core_sdk(base, project.server_key, tier="production") as sdk:
        path = _submit(app, keys.author, 100)
        _as(app, keys.approver, "PUT", f"{path}/approve", json={})

        pending = _as(app, keys.author, "PUT", f"{path}/commit")

        assert pending.json() == {"message": "Gate review is pending validation"}
        assert wait_until(lambda: worker.run_once() or validator.received, timeout_s=5)
        headers, payload = validator.received[0]
        assert headers["x-statsig-webhook-key"] == "hook-key"
        assert payload["type"] == "rules" and payload["config_name"] == "checkout"
        assert payload["submitter"] == "author@example.com"
        assert payload["new_config"]["rules"][0]["passPercentage"] == 100
        assert sdk.check_gate(USER, "checkout") is False

        validated = console.post(
            f"{V1}/change_validation",
            json={"reviewID": payload["review_id"], "validated": True, "message": "ok"},
        )

        assert validated.json() == {"message": "Validation status updated successfully"}
        assert wait_until(lambda: sdk.check_gate(USER, "checkout"), timeout_s=5)
        assert console.get(path).json()["data"]["status"] == "committed"
        modifier = console.get(f"{V1}/gates/checkout").json()["data"]["lastModifierEmail"]
        assert modifier == "author@example.com"

        second = _submit(app, keys.author, 0)
        _as(app, keys.approver, "PUT", f"{second}/approve", json={})
        _as(app, keys.author, "PUT", f"{second}/commit")
        assert wait_until(lambda: worker.run_once() or len(validator.received) == 2, timeout_s=5)
        review_id = validator.received[1][1]["review_id"]
        progress = console.patch(
            f"{V1}/change_validation/message", json={"reviewID": review_id, "message": "checking"}
        )
        failed = console.post(
            f"{V1}/change_validation",
            json={"reviewID": review_id, "validated": False, "message": "tests fail"},
        )

        assert progress.json() == {"message": "Validation message updated successfully"}
        assert failed.status_code == 200
        assert console.get(second).json()["data"]["status"] == "failed_webhook_validation"
        assert sdk.check_gate(USER, "checkout") is True
