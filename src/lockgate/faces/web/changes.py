"""Changes made from the console under the review rules, as a Console API call sent with
``x-respect-review-settings: true`` is (docs/console.md §Reviews)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from lockgate.domains.entities import writes as entity_writes
from lockgate.domains.reviews import people as review_people
from lockgate.domains.reviews import service as reviews
from lockgate.faces.web.session import WebContext

REVIEW_NOTICE: Final = "The change needs a review: it was submitted for review, not applied."
# The query a page is sent back with when its change became a review instead.
SUBMITTED: Final = "submitted=review"


def reviewed_change(ctx: WebContext, run: Callable[[], object]) -> bool:
    """Run a change under the review rules: True when it became a pending review instead of
    being applied."""
    proposal = reviews.begin(ctx.session)
    try:
        run()
    except BaseException:
        entity_writes.unwatch(ctx.session)
        proposal.savepoint.rollback()
        raise
    approver = review_people.approver_of(ctx.session, ctx.project_id, ctx.member.actor())
    return reviews.settle(ctx.session, ctx.change, approver, proposal) is not None
