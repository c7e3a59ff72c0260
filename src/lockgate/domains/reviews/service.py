"""Reviews of gates, dynamic configs, segments and experiments: submission, approval, commit
(docs/console.md §Reviews).

A change is proposed by running the ordinary service inside a savepoint while the session's
entity writes are watched (``entities.writes``). When the writes need a review, the savepoint is
rolled back and the writes are kept as the review's proposal, each with the version it was made
against; nothing reaches the SDKs. Commit replays the writes as the committer, provided every
entity is still at that version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, SessionTransaction

from lockgate.domains.audit.service import audit_change
from lockgate.domains.configs import service as configs
from lockgate.domains.configs.schemas import ConfigPartialUpdate
from lockgate.domains.entities import service as entities
from lockgate.domains.entities import writes as entity_writes
from lockgate.domains.entities.kinds import KINDS_BY_TYPE
from lockgate.domains.environments import repository as environments
from lockgate.domains.events import incoming
from lockgate.domains.experiments import documents as experiment_documents
from lockgate.domains.experiments import lifecycle
from lockgate.domains.experiments import service as experiments
from lockgate.domains.experiments.schemas import AbandonIn, DecisionIn
from lockgate.domains.gates import service as gates
from lockgate.domains.gates.schemas import GatePartialUpdate
from lockgate.domains.reviews import notifications, people, precommit, repository, rules
from lockgate.domains.reviews.approval import Approver, check_may_decide
from lockgate.domains.reviews.schemas import ReviewCreate, ReviewUpdate
from lockgate.domains.reviews.settings import review_settings
from lockgate.domains.segments import service as segments
from lockgate.errors import InvalidInput, NotFound
from lockgate.kit.actor import Actor, Change
from lockgate.kit.ids import random_id
from lockgate.storage.models import Review

LABELS = {
    "gate": "Gate",
    "dynamic_config": "Dynamic Config",
    "segment": "Segment",
    "experiment": "Experiment",
}


def _experiment(session: Session, project_id: str, experiment_id: str) -> dict[str, Any]:
    # Not ``experiments.read``: it settles incoming events, which must be a session's first
    # statement, and a review is read after the request's writes.
    row = experiment_documents.load(session, project_id, experiment_id)
    return experiment_documents.dtos(session, project_id, [row.document])[0]


READERS: dict[str, Callable[[Session, str, str], dict[str, Any]]] = {
    "gate": gates.read,
    "dynamic_config": configs.read,
    "segment": segments.read,
    "experiment": _experiment,
}
# A proposed deletion is committed by the kind's own delete, which checks references again
# and removes what lives beside the document (an id list's members).
DELETERS: dict[str, Callable[[Session, Change, str], object]] = {
    "gate": gates.delete,
    "dynamic_config": configs.delete,
    "segment": segments.delete,
    "experiment": experiments.delete,
}
NOT_FOUND = "Review not found."
STALE = "Review is out of date: the entity changed since it was submitted. Submit it again."
COMMITTABLE = frozenset({"accepted", "approved_webhook_validation"})
DECIDABLE = frozenset({"pending", "accepted", "changes_requested"})


def _actor_json(actor: Actor) -> dict[str, Any]:
    return {"id": actor.id, "name": actor.name, "email": actor.email}


def _actor_of(data: dict[str, Any]) -> Actor:
    return Actor(id=data["id"], name=data["name"], email=data.get("email"))


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def _audit_action(entity_type: str, event: str) -> str:
    experiment = {
        "create": "experiment_review_create",
        "accept": "experiment_review_accept",
        "reject": "experiment_review_reject",
        "update": "experiment_review_info_update",
        "commit": "apply_experiment_review",
    }
    config = {
        "create": "config_review_create",
        "accept": "config_review_accept",
        "reject": "config_review_reject",
        "update": "config_review_update",
        "commit": "config_review_commit",
    }
    return (experiment if entity_type == "experiment" else config)[event]


def _audit(session: Session, change: Change, review: Review, event: str, text: str) -> None:
    audit_change(
        session,
        change,
        entity_type=review.entity_type,
        entity_id=review.entity_id,
        name=review.entity_id,
        action_type=_audit_action(review.entity_type, event),
        change_log=text,
        after={"reviewID": review.id, "reviewStatus": review.status},
    )


# --- the wire shapes ---------------------------------------------------------------------------


def review_dto(review: Review) -> dict[str, Any]:
    """The 2026 ``Review`` object."""
    return {
        "review_id": review.id,
        "status": review.status,
        "type": review.type,
        "author": {"id": review.author["id"], "email": review.author.get("email")},
        "reviewers": list(review.reviewers),
        "description": review.description,
        "created_at": _iso(review.created_time),
    }


def _active_dto(review: Review) -> dict[str, Any]:
    return {"reviewID": review.id, "reviewStatus": review.status, "description": review.description}


def active_review(
    session: Session, project_id: str, entity_type: str, entity_id: str
) -> dict[str, Any] | None:
    rows, _ = repository.for_entity(
        session, project_id, entity_type, entity_id, limit=1, open_only=True
    )
    return _active_dto(rows[0]) if rows else None


def with_active_review(
    session: Session, project_id: str, entity_type: str, dto: dict[str, Any]
) -> dict[str, Any]:
    """An entity as the API shows it, with ``activeReview`` when a review is open."""
    active = active_review(session, project_id, entity_type, dto["id"])
    return {**dto, "activeReview": active} if active else dto


def with_active_reviews(
    session: Session, project_id: str, entity_type: str, dtos: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """A page of entities, each with ``activeReview`` when a review of it is open: one query
    for the page, the newest open review of each entity."""
    newest: dict[str, Review] = {}
    for review in repository.open_for_entities(
        session, project_id, entity_type, [d["id"] for d in dtos]
    ):
        newest.setdefault(review.entity_id, review)
    return [
        {**d, "activeReview": _active_dto(newest[d["id"]])} if d["id"] in newest else d
        for d in dtos
    ]


def committed_dto(session: Session, review: Review) -> dict[str, Any]:
    dto = READERS[review.entity_type](session, review.project_id, review.entity_id)
    return with_active_review(session, review.project_id, review.entity_type, dto)


# --- proposing ---------------------------------------------------------------------------------


@dataclass
class Proposal:
    """A change running under watch: its savepoint and the writes it has made so far."""

    savepoint: SessionTransaction
    writes: list[entity_writes.Write]


def begin(session: Session) -> Proposal:
    # Services that read events settle them first, which must precede the session's first
    # statement; the savepoint is one, so the settling comes here.
    incoming.settle_before(session)
    return Proposal(savepoint=session.begin_nested(), writes=entity_writes.watch(session))


def policy(session: Session, project_id: str, approver: Approver) -> rules.Policy:
    settings = review_settings(session, project_id)
    return rules.Policy(
        config_review_required=bool(settings and settings.is_config_review_required),
        environments=[
            rules.EnvironmentPolicy(e.name, e.requires_review, e.required_review_group_id)
            for e in environments.list_environments(session, project_id)
        ],
        team_requires_reviews=lambda team_id: people.team_requires_reviews(
            session, project_id, team_id
        ),
        may_bypass_override_reviews=approver.has("bypass_reviews_for_overrides"),
    )


def _stored_write(write: entity_writes.Write) -> dict[str, Any]:
    return {
        "operation": write.operation,
        "entityType": write.entity_type,
        "entityID": write.entity_id,
        "baseVersion": write.base_version,
        "before": write.before,
        "document": write.after,
        "action": write.action,
        "changeLog": write.change_log,
    }


def settle(
    session: Session,
    change: Change,
    approver: Approver,
    proposal: Proposal,
    *,
    forced: bool = False,
    description: str = "",
    reviewers: Sequence[dict[str, str]] = (),
) -> Review | None:
    """End a watched change: keep its writes when no review is needed; otherwise undo them
    and store them as a pending review, which is returned. ``forced`` (an explicit review
    request) makes a review of any change to a reviewed kind."""
    entity_writes.unwatch(session)
    noted = list(proposal.writes)
    the_policy = policy(session, change.project_id, approver)
    primary = next((w for w in noted if w.entity_type in rules.REVIEWED_KINDS), None)
    wanted = forced or any(rules.needs_review(w, the_policy) for w in noted)
    if primary is None or primary.operation == "insert" or not wanted:
        proposal.savepoint.commit()
        return None
    proposal.savepoint.rollback()
    review = Review(
        id=random_id(),
        project_id=change.project_id,
        entity_type=primary.entity_type,
        entity_id=primary.entity_id,
        type=rules.review_type(primary),
        status="pending",
        description=description,
        author=_actor_json(change.actor),
        reviewers=list(reviewers),
        required_groups=rules.required_groups(noted, the_policy),
        base_version=primary.base_version or 0,
        proposal=[_stored_write(w) for w in noted],
        approvals=[],
        created_time=change.now_ms,
        updated_time=change.now_ms,
    )
    repository.add(session, review)
    _audit(session, change, review, "create", f"Submitted {LABELS[review.entity_type]} review")
    notifications.review_event(session, change, review, "review_requested")
    return review


def propose(
    session: Session,
    change: Change,
    approver: Approver,
    run: Callable[[], object],
    *,
    description: str,
    reviewers: Sequence[dict[str, str]],
) -> Review:
    """Make ``run``'s change a review whether or not one is required (the 2026 endpoints)."""
    proposal = begin(session)
    try:
        run()
    except BaseException:
        entity_writes.unwatch(session)
        proposal.savepoint.rollback()
        raise
    review = settle(
        session,
        change,
        approver,
        proposal,
        forced=True,
        description=description,
        reviewers=reviewers,
    )
    if review is None:
        raise InvalidInput.because("The change proposed changes nothing that needs a review")
    return review


def _reviewers(body: ReviewCreate | ReviewUpdate) -> list[dict[str, str]] | None:
    if body.reviewer_ids is None and body.reviewer_group_ids is None:
        return None
    return [{"id": i, "kind": "user"} for i in body.reviewer_ids or ()] + [
        {"id": i, "kind": "group"} for i in body.reviewer_group_ids or ()
    ]


def create(
    session: Session,
    change: Change,
    entity_type: str,
    entity_id: str,
    body: ReviewCreate,
) -> Review:
    """``POST /{kind}/{id}/reviews``: a review of the change the body describes."""
    incoming.settle_before(session)  # before the first statement (see ``begin``)
    # Read after the settling: a personal key's approver is read from the database.
    approver = people.approver_of(session, change.project_id, change.actor)
    READERS[entity_type](session, change.project_id, entity_id)  # 404 for an unknown entity
    run = _runner(session, change, entity_type, entity_id, body)
    return propose(
        session,
        change,
        approver,
        run,
        description=body.description,
        reviewers=_reviewers(body) or [],
    )


def _runner(
    session: Session, change: Change, entity_type: str, entity_id: str, body: ReviewCreate
) -> Callable[[], object]:
    if entity_type == "experiment":
        return experiments_change(session, change, entity_id, body)
    described = body.change
    if described is None or (described.rules is None) == (described.is_enabled is None):
        raise InvalidInput.field("change", "must hold exactly one of rules and is_enabled")
    if described.is_enabled is not None:
        if entity_type != "gate":
            raise InvalidInput.field("change.is_enabled", "applies to gates only")
        action = gates.enable if described.is_enabled else gates.disable
        return lambda: action(session, change, entity_id)
    incoming = described.rules or []
    if entity_type == "gate":
        return lambda: gates.patch(session, change, entity_id, GatePartialUpdate(rules=incoming))
    if entity_type == "dynamic_config":
        return lambda: configs.patch(
            session, change, entity_id, ConfigPartialUpdate(rules=incoming)
        )
    raw = [r.model_dump(by_alias=True, exclude_unset=True) for r in incoming]
    return lambda: segments.update_rules(session, change, entity_id, raw)


def experiments_change(
    session: Session, change: Change, experiment_id: str, body: ReviewCreate
) -> Callable[[], object]:
    """The experiment actions a 2026 review may carry."""
    reason = body.reason or ""
    if body.type == "start":
        return lambda: lifecycle.start(session, change, experiment_id)
    if body.type == "abandon":
        return lambda: lifecycle.abandon(
            session, change, experiment_id, AbandonIn(decision_reason=reason)
        )
    if body.type == "make_decision":
        if not body.winning_group_id:
            raise InvalidInput.field("winning_group_id", "is required for make_decision")
        decision = DecisionIn(
            id=body.winning_group_id,
            decision_reason=reason,
            remove_targeting=bool(body.remove_targeting),
        )
        return lambda: lifecycle.make_decision(session, change, experiment_id, decision)
    raise InvalidInput.field("type", f"{body.type!r} is not one of start, abandon, make_decision")


# --- reading and updating ----------------------------------------------------------------------


def load(
    session: Session,
    project_id: str,
    entity_type: str,
    entity_id: str,
    review_id: str,
    *,
    lock: bool = False,
) -> Review:
    review = repository.get(session, project_id, review_id, lock=lock)
    if review is None or review.entity_type != entity_type or review.entity_id != entity_id:
        raise NotFound(NOT_FOUND)
    return review


def list_(
    session: Session, project_id: str, entity_type: str, entity_id: str, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    READERS[entity_type](session, project_id, entity_id)
    rows, total = repository.for_entity(
        session, project_id, entity_type, entity_id, offset=offset, limit=limit
    )
    return [review_dto(r) for r in rows], total


def update(
    session: Session,
    change: Change,
    entity_type: str,
    entity_id: str,
    review_id: str,
    body: ReviewUpdate,
) -> Review:
    review = load(session, change.project_id, entity_type, entity_id, review_id, lock=True)
    if review.status not in DECIDABLE:
        raise InvalidInput.because(f"A {review.status} review cannot be edited")
    if body.description is not None:
        review.description = body.description
    reviewers = _reviewers(body)
    if reviewers is not None:
        review.reviewers = reviewers
    review.updated_time = change.now_ms
    session.flush()
    _audit(session, change, review, "update", f"Updated {LABELS[entity_type]} review")
    return review


# --- deciding ----------------------------------------------------------------------------------


def _check_decider(session: Session, approver: Approver, review: Review) -> list[str]:
    row = entities.load(
        session, KINDS_BY_TYPE[review.entity_type], review.project_id, review.entity_id
    )
    covered = [g for a in review.approvals for g in a.get("groups", [])]
    return check_may_decide(
        approver,
        author_id=review.author["id"],
        document=row.document,
        team=people.owning_team(session, review.project_id, row.document.get("teamID")),
        required_groups=list(review.required_groups),
        covered_groups=covered,
    )


def approve(
    session: Session,
    change: Change,
    approver: Approver,
    entity_type: str,
    entity_id: str,
    review_id: str,
    reason: str | None,
) -> Review:
    review = load(session, change.project_id, entity_type, entity_id, review_id, lock=True)
    if review.status not in DECIDABLE:
        raise InvalidInput.because(f"A {review.status} review cannot be approved")
    groups = _check_decider(session, approver, review)
    review.approvals = [
        *review.approvals,
        {
            "actor": _actor_json(change.actor),
            "time": change.now_ms,
            "reason": reason,
            "groups": groups,
        },
    ]
    covered = {g for a in review.approvals for g in a.get("groups", [])}
    if all(g in covered for g in review.required_groups):
        review.status = "accepted"
    review.updated_time = change.now_ms
    session.flush()
    _audit(session, change, review, "accept", f"Approved {LABELS[entity_type]} review")
    if review.status == "accepted":
        notifications.review_event(session, change, review, "review_approved")
    return review


def reject(
    session: Session,
    change: Change,
    approver: Approver,
    entity_type: str,
    entity_id: str,
    review_id: str,
    reason: str,
) -> Review:
    review = load(session, change.project_id, entity_type, entity_id, review_id, lock=True)
    if review.status not in DECIDABLE:
        raise InvalidInput.because(f"A {review.status} review cannot be rejected")
    _check_decider(session, approver, review)
    review.status = "rejected"
    review.rejection = {"actor": _actor_json(change.actor), "time": change.now_ms, "reason": reason}
    review.updated_time = change.now_ms
    session.flush()
    _audit(session, change, review, "reject", f"Rejected {LABELS[entity_type]} review")
    notifications.review_event(session, change, review, "review_rejected")
    return review


# --- committing --------------------------------------------------------------------------------


def _check_current(session: Session, review: Review) -> None:
    for write in review.proposal:
        kind = KINDS_BY_TYPE[write["entityType"]]
        row = entities.find(session, kind, review.project_id, write["entityID"], lock=True)
        current = None if row is None else row.version
        if current != write["baseVersion"]:
            raise InvalidInput.because(STALE)


def commit(
    session: Session,
    change: Change,
    approver: Approver,
    entity_type: str,
    entity_id: str,
    review_id: str,
    *,
    validation_timeout_ms: int,
) -> str:
    """Commit an accepted review; returns the answer's message. With a pre-commit webhook, the
    change waits for the validator (``precommit``) unless the committer may bypass it."""
    entity_writes.unwatch(session)  # the commit itself is never a proposal
    review = load(session, change.project_id, entity_type, entity_id, review_id, lock=True)
    label = LABELS[entity_type]
    if review.status not in COMMITTABLE:
        raise InvalidInput.because(
            f"Only an approved review can be committed; this one is {review.status}"
        )
    _check_current(session, review)
    review.committer = _actor_json(change.actor)
    if review.status == "accepted" and precommit.wanted(
        session, review, bypass=approver.has("bypass_precommit_webhook")
    ):
        precommit.request_validation(session, change, review, validation_timeout_ms)
        return f"{label} review is pending validation"
    apply(session, change, review)
    return f"{label} review committed successfully"


def apply(session: Session, change: Change, review: Review) -> None:
    """Replay the review's writes as ``change.actor`` and mark it committed."""
    _check_current(session, review)
    for write in review.proposal:
        kind = KINDS_BY_TYPE[write["entityType"]]
        common = {"action": write["action"], "change_log": write["changeLog"]}
        if write["operation"] == "insert":
            entities.insert(session, kind, change, write["document"], **common)
            continue
        if write["operation"] == "remove" and write["entityType"] in DELETERS:
            DELETERS[write["entityType"]](session, change, write["entityID"])
            continue
        row = entities.load(session, kind, review.project_id, write["entityID"], lock=True)
        if write["operation"] == "remove":
            entities.remove(session, kind, change, row, **common)
        else:
            entities.save(session, kind, change, row, write["document"], **common)
    review.status = "committed"
    review.updated_time = change.now_ms
    session.flush()
    _audit(session, change, review, "commit", f"Committed {LABELS[review.entity_type]} review")
