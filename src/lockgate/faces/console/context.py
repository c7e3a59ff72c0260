"""Per-request context for Console routes: who is calling, and the unit of work.

The request dependency owns the transaction: it commits when the route returns and rolls back
when it raises, so services only flush and a failed request changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from lockgate.domains.keys import repository as keys_repository
from lockgate.domains.keys.masking import masked_key
from lockgate.domains.reviews import people as review_people
from lockgate.domains.reviews import service as reviews
from lockgate.domains.reviews.approval import Approver
from lockgate.domains.users import access
from lockgate.domains.users.access import Member
from lockgate.errors import Forbidden, InvalidInput, Unauthorized
from lockgate.faces.console import permissions
from lockgate.kit.actor import Actor, Change
from lockgate.kit.clock import Clock
from lockgate.kit.db import Database
from lockgate.kit.settings import Settings

SUPPORTED_API_VERSION = "20240601"
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CONSOLE_API_ACTOR = "CONSOLE API"
CONSOLE_PREFIX = "/console/v1"
# Where the body middleware (``faces/console/bodies.py``) leaves the caller it authenticated, so
# that a mutation reads its key once.
PRINCIPAL_SCOPE_KEY = "lockgate.console_principal"


@dataclass(frozen=True)
class Principal:
    """The caller of a Console request: a console key and, for a personal key, its user."""

    project_id: str
    key_id: str
    scopes: frozenset[str]
    # The user a personal key acts as (role and effective permissions); None for project keys.
    user: Member | None = None

    @property
    def can_write(self) -> bool:
        return "omni_read_write" in self.scopes or "personal_read_write" in self.scopes

    @property
    def actor(self) -> Actor:
        if self.user is not None:
            return self.user.actor()
        return Actor(id=self.key_id, name=CONSOLE_API_ACTOR)


@dataclass(frozen=True)
class ConsoleContext:
    session: Session
    principal: Principal
    clock: Clock
    settings: Settings
    # For work that must not hold the request's transaction (a test in a warehouse): its own
    # short transactions, before the request's session is first used.
    database: Database

    @property
    def project_id(self) -> str:
        return self.principal.project_id

    @property
    def actor(self) -> Actor:
        return self.principal.actor

    def now_ms(self) -> int:
        return self.clock.now_ms()

    @property
    def change(self) -> Change:
        return Change(self.project_id, self.actor, self.clock.now_ms())

    @property
    def approver(self) -> Approver:
        """The caller as the review rules see them (docs/console.md §Reviews)."""
        return review_people.approver_of(self.session, self.project_id, self.actor)


class ReviewSubmitted(Exception):
    """A change made under ``x-respect-review-settings`` became a review: the answer is the
    entity as committed, with its ``activeReview``; the request's transaction is committed."""

    def __init__(self, message: str, data: dict[str, Any]) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


def respects_reviews(value: str | None) -> bool:
    return (value or "").strip().lower() in {"true", "1", "yes"}


def invalid_key_message(key: str) -> str:
    return (
        "This endpoint only accepts an active CONSOLE key, but an invalid key was sent. "
        f"Key: {masked_key(key)}"
    )


def authenticate_console(session: Session, raw_key: str | None) -> Principal:
    key_text = (raw_key or "").strip()
    record = keys_repository.by_secret(session, key_text) if key_text else None
    if record is None or record.status != "active" or record.type != "CONSOLE":
        raise Unauthorized(invalid_key_message(key_text))
    user = access.member_of_key(session, record) if record.user_id is not None else None
    if record.user_id is not None and user is None:
        # A personal key outlives no user; refuse it as if it were gone.
        raise Unauthorized(invalid_key_message(key_text))
    return Principal(
        project_id=record.project_id,
        key_id=record.id,
        scopes=frozenset(record.scopes),
        user=user,
    )


def check_api_version(version: str | None) -> None:
    if version is not None and version.strip() != SUPPORTED_API_VERSION:
        raise InvalidInput(
            f"Unsupported STATSIG-API-VERSION {version!r}. "
            f"The supported version is {SUPPORTED_API_VERSION}."
        )


def console_context(
    request: Request,
    statsig_api_key: Annotated[str | None, Header(alias="STATSIG-API-KEY")] = None,
    statsig_api_version: Annotated[str | None, Header(alias="STATSIG-API-VERSION")] = None,
    x_respect_review_settings: Annotated[
        str | None, Header(alias="x-respect-review-settings")
    ] = None,
) -> Iterator[ConsoleContext]:
    """Authenticate, rate-limit mutations, and run the route inside one transaction.

    A mutation sent with ``x-respect-review-settings: true`` runs as a proposal: when what it
    wrote needs a review, the writes become a pending review instead (``ReviewSubmitted``).
    """
    state = request.app.state
    database: Database = state.database
    mutating = request.method in MUTATING_METHODS
    principal = request.scope.get(PRINCIPAL_SCOPE_KEY)
    if not isinstance(principal, Principal):
        with database.transaction(write=False) as auth_session:
            principal = authenticate_console(auth_session, statsig_api_key)
    check_api_version(statsig_api_version)
    if mutating and not principal.can_write:
        raise Forbidden()
    if principal.user is not None:
        route = request.scope.get("route")
        template = getattr(route, "path", request.url.path).removeprefix(CONSOLE_PREFIX)
        permissions.check(principal.actor, request.method, template)
    if mutating:
        state.rate_limiter.hit(principal.project_id)
    session = database.session(write=mutating)
    submitted: ReviewSubmitted | None = None
    try:
        ctx = ConsoleContext(
            session=session,
            principal=principal,
            clock=state.clock,
            settings=state.settings,
            database=database,
        )
        proposal = (
            reviews.begin(session)
            if mutating and respects_reviews(x_respect_review_settings)
            else None
        )
        yield ctx
        if proposal is not None:
            review = reviews.settle(session, ctx.change, ctx.approver, proposal)
            if review is not None:
                label = reviews.LABELS[review.entity_type]
                data = reviews.committed_dto(session, review)
                submitted = ReviewSubmitted(f"{label} change submitted for review.", data)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    if submitted is not None:
        raise submitted


Console = Annotated[ConsoleContext, Depends(console_context, scope="function")]
