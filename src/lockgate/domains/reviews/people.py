"""What the review rules read about people, through the users domain's read API: the
caller's permissions and teams, and the owning team's review policy."""

from __future__ import annotations

from sqlalchemy.orm import Session

from lockgate.domains.reviews.approval import Approver, OwningTeam
from lockgate.domains.users import access
from lockgate.domains.users.permissions import ADMIN, BUILT_IN_ROLES, PROJECT_ADMIN_ROLES
from lockgate.kit.actor import Actor

# A project console key acts as Admin, without self-approval (docs/compatibility.md §Reviews).
CONSOLE_API_PERMISSIONS = BUILT_IN_ROLES[ADMIN] - {"self_approve_review"}


def team_requires_reviews(session: Session, project_id: str, team_id: str) -> bool:
    team = access.team(session, project_id, team_id)
    return team is not None and team.require_reviews


def owning_team(session: Session, project_id: str, team_id: str | None) -> OwningTeam | None:
    team = access.team(session, project_id, team_id) if team_id else None
    return OwningTeam(team.id, team.review_approval) if team is not None else None


def approver_of(session: Session, project_id: str, actor: Actor) -> Approver:
    """A user acts with their role's permissions and teams; any other actor is the CONSOLE
    API, an Admin that may not approve its own reviews and belongs to no team."""
    if not actor.is_user:
        return Approver(
            actor=actor,
            is_user=False,
            permissions=CONSOLE_API_PERMISSIONS,
            team_ids=frozenset(),
            admin_team_ids=frozenset(),
            is_project_admin=True,
        )
    teams = access.teams_of(session, project_id, actor.id)
    return Approver(
        actor=actor,
        is_user=True,
        permissions=actor.permissions or frozenset(),
        team_ids=frozenset(t.id for t in teams),
        admin_team_ids=frozenset(t.id for t in teams if t.has_admin(actor.id)),
        is_project_admin=actor.role in PROJECT_ADMIN_ROLES,
    )
