"""The pre-commit webhook and review notifications: the CLI settings, the validation timeout,
the bypass permission, signed notifications, retries of failed deliveries, and the errors of
/change_validation."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from sqlalchemy import select

from lockgate.cli import main
from lockgate.domains.projects.service import SYSTEM_ACTOR, Bootstrap
from lockgate.domains.reviews import settings as review_settings
from lockgate.domains.reviews.worker import ReviewWorker
from lockgate.kit.actor import Change
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.models import OutboxDelivery
from tests.contract.client import ContractClient
from tests.reviews.support import (
    V1,
    add_role,
    add_user,
    gate,
    personal_key,
    require_reviews,
    rule,
    second_console_key,
    set_rules,
)


class Sink:
    """An HTTP endpoint in process (``httpx.MockTransport``) answering ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status)


def _worker(db: Database, clock: ManualClock, sink: Sink, attempts: int = 5) -> ReviewWorker:
    return ReviewWorker(db, clock, max_attempts=attempts, transport=httpx.MockTransport(sink))


def _configure(db: Database, project: Bootstrap, clock: ManualClock, **webhooks: Any) -> None:
    change = Change(project.project.id, SYSTEM_ACTOR, clock.now_ms())
    with db.transaction() as session:
        if "precommit" in webhooks:
            review_settings.set_precommit_webhook(
                session, change, url=webhooks["precommit"], key="k", initial_message=None
            )
        if "notify" in webhooks:
            review_settings.set_notification_webhook(
                session, change, url=webhooks["notify"], secret="shh"
            )


def _accepted(app: FastAPI, console: ContractClient) -> str:
    """A review of the gate ``checkout``, submitted by the console key, approved by another."""
    require_reviews(console)
    gate(console)
    response = set_rules(console, "checkout", [rule("all", 100)])
    path = f"{V1}/gates/checkout/reviews/{response.json()['data']['activeReview']['reviewID']}"
    with ContractClient(app, second_console_key(console)) as other:
        assert other.put(f"{path}/approve", json={}).status_code == 200
    return path


def test_cli_precommit_webhook__url_key_from_stdin__stored_and_key_hidden(
    db: Database, project: Bootstrap, base_settings: Settings, tmp_path: Path
) -> None:
    env = {
        "LOCKGATE_DATABASE_URL": base_settings.resolved_database_url,
        "LOCKGATE_DATA_DIR": str(tmp_path),
    }
    args = ["settings", "precommit-webhook", "--url", "http://hooks.test/v", "--key-stdin"]

    result = CliRunner().invoke(main, args, input="s3cret\n", env=env)

    assert result.exit_code == 0, result.output
    assert "precommit_webhook_url: http://hooks.test/v" in result.output
    assert "s3cret" not in result.output
    with db.transaction(write=False) as session:
        row = review_settings.review_settings(session, project.project.id)
        assert row is not None and row.precommit_webhook_key == "s3cret"


def test_cli_precommit_webhook__bad_url__fails_with_message(
    db: Database, project: Bootstrap, base_settings: Settings, tmp_path: Path
) -> None:
    env = {
        "LOCKGATE_DATABASE_URL": base_settings.resolved_database_url,
        "LOCKGATE_DATA_DIR": str(tmp_path),
    }

    result = CliRunner().invoke(
        main, ["settings", "precommit-webhook", "--url", "ftp://x"], env=env
    )

    assert result.exit_code != 0 and "http(s) URL" in result.output


def test_validation__validator_silent_past_timeout__fails_and_notifies(
    app: FastAPI,
    console: ContractClient,
    db: Database,
    project: Bootstrap,
    clock: ManualClock,
    settings: Settings,
) -> None:
    _configure(db, project, clock, precommit="http://hooks.test/v", notify="http://notify.test/n")
    path = _accepted(app, console)
    assert console.put(f"{path}/commit").json()["message"] == "Gate review is pending validation"
    sink = Sink()
    worker = _worker(db, clock, sink)

    assert worker.expire_validations() == 0
    clock.advance(settings.precommit_validation_timeout_ms)
    expired = worker.expire_validations()
    worker.deliverer.deliver_due()

    assert expired == 1
    assert console.get(path).json()["data"]["status"] == "failed_webhook_validation"
    notified = [r for r in sink.requests if r.url.host == "notify.test"]
    actions = [json.loads(r.content)["data"][0]["metadata"]["action"] for r in notified]
    assert actions == ["review_requested", "review_approved", "validation_failed"]
    precommit = [r for r in sink.requests if r.url.host == "hooks.test"]
    assert precommit[0].headers["x-statsig-webhook-key"] == "k"
    rules = console.get(f"{V1}/gates/checkout").json()["data"]["rules"]
    assert rules[0]["passPercentage"] == 0


def test_commit__committer_may_bypass_precommit_webhook__applies_at_once(
    app: FastAPI, console: ContractClient, db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    _configure(db, project, clock, precommit="http://hooks.test/v")
    pid = project.project.id
    add_role(
        db, pid, "Release Manager", {"edit_or_delete_configs", "bypass_precommit_webhook"}, clock
    )
    key = personal_key(
        db, pid, add_user(db, pid, "rm@example.com", "Release Manager", clock), clock
    )
    path = _accepted(app, console)

    with ContractClient(app, key) as manager:
        response = manager.put(f"{path}/commit")

    assert response.json() == {"message": "Gate review committed successfully"}
    assert console.get(f"{V1}/gates/checkout").json()["data"]["rules"][0]["passPercentage"] == 100


def test_notification__review_requested__signed_body_delivered(
    app: FastAPI, console: ContractClient, db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    _configure(db, project, clock, notify="http://notify.test/n")
    require_reviews(console)
    gate(console)
    set_rules(console, "checkout", [rule("all", 100)])
    sink = Sink()

    delivered = _worker(db, clock, sink).deliverer.deliver_due()

    assert delivered == 1
    request = sink.requests[0]
    body = request.content.decode()
    timestamp = request.headers["X-Statsig-Request-Timestamp"]
    expected = hmac.new(b"shh", f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    assert request.headers["X-Statsig-Signature"] == f"v0={expected}"
    event = json.loads(body)["data"][0]
    assert event["eventName"] == "statsig::config_change"
    assert event["metadata"]["action"] == "review_requested"
    assert event["metadata"]["name"] == "checkout"


def test_delivery__receiver_fails__retried_with_backoff_then_failed(
    app: FastAPI, console: ContractClient, db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    _configure(db, project, clock, notify="http://notify.test/n")
    require_reviews(console)
    gate(console)
    set_rules(console, "checkout", [rule("all", 100)])
    sink = Sink(status=503)
    worker = _worker(db, clock, sink, attempts=2)

    worker.deliverer.deliver_due()
    worker.deliverer.deliver_due()  # not due again before its backoff
    clock.advance(1_000)
    worker.deliverer.deliver_due()

    assert len(sink.requests) == 2
    with db.transaction(write=False) as session:
        row = session.scalars(select(OutboxDelivery)).one()
        assert (row.status, row.attempts, row.last_error) == ("failed", 2, "HTTP 503")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/change_validation", {"reviewID": "nope", "validated": True}),
        ("/change_validation/message", {"reviewID": "nope", "message": "m"}),
    ],
)
def test_change_validation__unknown_review__404(
    console: ContractClient, path: str, body: dict[str, Any]
) -> None:
    method = console.post if path == "/change_validation" else console.patch

    response = method(f"{V1}{path}", json=body)

    assert response.status_code == 404
    assert response.json() == {"status": 404, "message": "Review not found."}


def test_change_validation__review_not_waiting__400(app: FastAPI, console: ContractClient) -> None:
    path = _accepted(app, console)
    review_id = path.rsplit("/", 1)[1]

    response = console.post(
        f"{V1}/change_validation", json={"reviewID": review_id, "validated": True}
    )

    assert response.status_code == 400
    assert "not waiting for validation" in response.json()["message"]


def test_change_validation__validated_with_review_header__commits_not_a_new_review(
    app: FastAPI, console: ContractClient, db: Database, project: Bootstrap, clock: ManualClock
) -> None:
    _configure(db, project, clock, precommit="http://hooks.test/v")
    path = _accepted(app, console)
    console.put(f"{path}/commit", headers={"x-respect-review-settings": "true"})
    review_id = path.rsplit("/", 1)[1]

    response = console.post(
        f"{V1}/change_validation",
        json={"reviewID": review_id, "validated": True},
        headers={"x-respect-review-settings": "true"},
    )

    assert response.json() == {"message": "Validation status updated successfully"}
    assert console.get(path).json()["data"]["status"] == "committed"
    assert console.get(f"{V1}/gates/checkout").json()["data"]["rules"][0]["passPercentage"] == 100
