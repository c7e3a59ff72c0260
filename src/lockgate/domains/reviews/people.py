"""What the review rules need to know about people: teams and the caller's permissions.

Placeholder until the people domain lands; every project is treated as having no teams.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from lockgate.domains.reviews.approval import Approver, OwningTeam
from lockgate.kit.actor import Actor


def team_requires_reviews(session: Session, project_id: str, team_id: str) -> bool:
    del session, project_id, team_id
    return False


def owning_team(session: Session, project_id: str, team_id: str | None) -> OwningTeam | None:
    del session, project_id, team_id
    return None


# Until people exist every caller is the CONSOLE API actor: Admin without self-approval.
CONSOLE_API_PERMISSIONS = frozenset({"approve_reviews"})


def console_api_approver(actor: Actor) -> Approver:
    return Approver(
        actor=actor,
        is_user=False,
        permissions=CONSOLE_API_PERMISSIONS,
        team_ids=frozenset(),
        admin_team_ids=frozenset(),
        is_project_admin=True,
    )
