"""The pre-commit webhook: when a review of one of its change types is committed, the change
is POSTed to the project's webhook with its key, and waits for the validator's answer
(``validation``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.configs.service import config_dto
from lockgate.domains.entities.writes import Write
from lockgate.domains.gates.service import gate_dto
from lockgate.domains.reviews import outbox, repository, rules
from lockgate.kit.actor import Change
from lockgate.storage.models import Review

WEBHOOK_KEY_HEADER = "x-statsig-webhook-key"
_INTERNAL = frozenset({"overrides", "alerts", "preArchiveStatus", "archiveReason", "salt"})


def wanted(session: Session, review: Review, *, bypass: bool) -> bool:
    settings = repository.settings(session, review.project_id)
    return (
        settings is not None
        and bool(settings.precommit_webhook_url)
        and review.type in rules.WEBHOOK_TYPES
        and not bypass
    )


def _shown(entity_type: str, document: dict[str, Any] | None) -> dict[str, Any] | None:
    if document is None:
        return None
    if entity_type == "gate":
        return gate_dto(document)
    if entity_type == "dynamic_config":
        return config_dto(document)
    return {k: v for k, v in document.items() if k not in _INTERNAL}


def _who(actor: dict[str, Any] | None) -> str:
    if not actor:
        return ""
    return str(actor.get("email") or actor.get("name") or actor.get("id"))


def payload(review: Review) -> dict[str, Any]:
    """``PrecommitHookArgsDto`` for the review's change."""
    write = next(w for w in review.proposal if w["entityType"] == review.entity_type)
    before, after = write.get("before") or {}, write.get("document") or {}
    kind = rules.WEBHOOK_TYPES[review.type]
    body: dict[str, Any] = {
        "review_id": review.id,
        "submitter": _who(review.author),
        "committer": _who(review.committer),
        "config_type": review.entity_type,
        "type": kind,
    }
    if review.entity_type == "experiment":
        body["experiment_name"] = review.entity_id
    else:
        body["config_name"] = review.entity_id
        body["change_id"] = f"{review.id}-{review.base_version + 1}"
    if kind == "rules":
        old, new = _shown(review.entity_type, before), _shown(review.entity_type, after)
        body["diffs"] = [{"field": "rules", "old": before.get("rules"), "new": after.get("rules")}]
        body["old_config"], body["new_config"] = old, new
    elif kind == "update_target_apps":
        body["old_target_apps"] = before.get("targetApps") or []
        body["new_target_apps"] = after.get("targetApps") or []
    elif kind == "update_allocation":
        body["old_allocation"] = before.get("allocation")
        body["new_allocation"] = after.get("allocation")
    elif kind == "start_experiment":
        body["new_allocation"] = after.get("allocation")
    elif kind == "ship_experiment":
        groups = {g.get("id"): g.get("name") for g in after.get("groups") or []}
        body["group"] = groups.get(after.get("launchedGroupID"), after.get("launchedGroupID"))
    elif kind == "update_experiment_settings":
        changed = sorted(rules.changed_fields(_write_of(write)) - rules.UNREVIEWED_FIELDS)
        body["old_settings"] = {k: before.get(k) for k in changed}
        body["new_settings"] = {k: after.get(k) for k in changed}
        body["old_experiment"] = _shown("experiment", before)
        body["new_experiment"] = _shown("experiment", after)
    return body


def _write_of(stored: dict[str, Any]) -> Write:
    return Write(
        stored["operation"],
        stored["entityType"],
        stored["entityID"],
        stored["baseVersion"],
        stored.get("before"),
        stored.get("document"),
        stored["action"],
        stored["changeLog"],
    )


def request_validation(session: Session, change: Change, review: Review, timeout_ms: int) -> None:
    """Hold the review for the validator: POST the change, start the clock."""
    settings = repository.settings(session, review.project_id)
    assert settings is not None and settings.precommit_webhook_url  # checked by ``wanted``
    review.status = "pending_webhook_validation"
    review.validation = {
        "message": settings.precommit_initial_message,
        "debugLinks": [],
        "validated": None,
    }
    review.validation_deadline = change.now_ms + timeout_ms
    review.updated_time = change.now_ms
    headers = (
        {WEBHOOK_KEY_HEADER: settings.precommit_webhook_key}
        if settings.precommit_webhook_key
        else {}
    )
    outbox.enqueue(
        session,
        project_id=review.project_id,
        purpose="precommit",
        url=settings.precommit_webhook_url,
        body=payload(review),
        now_ms=change.now_ms,
        headers=headers,
    )
    session.flush()
