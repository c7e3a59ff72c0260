"""Who may approve or reject a review (docs/console.md §Reviews, "Who can approve").

An approver must hold ``approve_reviews`` (and ``self_approve_review`` for their own review),
be among the entity's allowed reviewers when it lists any, satisfy the owning team's
``reviewApproval``, and belong to a review group the change still needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lockgate.errors import Forbidden
from lockgate.kit.actor import Actor


@dataclass(frozen=True)
class Approver:
    """The caller as the review rules see them."""

    actor: Actor
    # False for the CONSOLE API actor of a project console key.
    is_user: bool
    permissions: frozenset[str]
    team_ids: frozenset[str]
    admin_team_ids: frozenset[str]
    is_project_admin: bool

    def has(self, permission: str) -> bool:
        return permission in self.permissions


@dataclass(frozen=True)
class OwningTeam:
    id: str
    review_approval: str  # anyone | team_only | admin_only


def refuse(problem: str) -> Forbidden:
    return Forbidden(f"Forbidden. {problem}")


def check_may_decide(
    approver: Approver,
    *,
    author_id: str,
    document: dict[str, Any],
    team: OwningTeam | None,
    required_groups: Sequence[str],
    covered_groups: Sequence[str],
) -> list[str]:
    """Refuse (403, naming what is missing) an approver the rules do not allow; return the
    required review groups this approver's decision covers."""
    if not approver.has("approve_reviews"):
        raise refuse("Approving a review needs the approve_reviews permission.")
    if approver.actor.id == author_id and not approver.has("self_approve_review"):
        raise refuse("Approving one's own review needs the self_approve_review permission.")
    allowed = (document.get("reviewSettings") or {}).get("allowedReviewers") or []
    allowed_ids = {str(r.get("id")) for r in allowed if isinstance(r, dict)}
    if allowed_ids and not (approver.actor.id in allowed_ids or approver.team_ids & allowed_ids):
        raise refuse("Only the entity's allowed reviewers may approve its reviews.")
    if team is not None:
        if team.review_approval == "team_only" and team.id not in approver.team_ids:
            raise refuse(f"Only members of team {team.id} may approve its reviews.")
        if team.review_approval == "admin_only" and not (
            team.id in approver.admin_team_ids or approver.is_project_admin
        ):
            raise refuse(f"Only admins of team {team.id} may approve its reviews.")
    if required_groups and not approver.team_ids & set(required_groups):
        missing = [g for g in required_groups if g not in covered_groups] or required_groups
        wanted = ", ".join(missing)
        raise refuse(f"The change needs an approval from a member of review group {wanted}.")
    return [g for g in required_groups if g in approver.team_ids]
