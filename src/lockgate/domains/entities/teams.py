"""Team ownership of entities: the team named on an entity must exist, a project may require
one on new entities, a ``team_only`` team lets only its members create or edit its entities
(personal keys), and a new entity of a team gets the team's default target apps and metrics.

See docs/console.md §Team policies.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.projects import repository as projects_repository
from lockgate.domains.users import access
from lockgate.domains.users.access import TeamInfo
from lockgate.errors import Forbidden, InvalidInput
from lockgate.kit.actor import Change

# The kinds the project's require_teams_on_configs applies to.
TEAM_REQUIRED_KINDS = frozenset(
    {
        "gate",
        "dynamic_config",
        "segment",
        "experiment",
        "layer",
        "holdout",
        "autotune",
        "metric",
        "param_store",
    }
)
# (entity type, document field, TeamInfo field) of the default metrics stamped on new entities.
_DEFAULT_METRICS = (
    ("gate", "monitoringMetrics", "default_gate_metrics"),
    ("experiment", "primaryMetrics", "default_experiment_primary_metrics"),
    ("experiment", "secondaryMetrics", "default_experiment_secondary_metrics"),
)


def _named_team(session: Session, project_id: str, document: dict[str, Any]) -> TeamInfo | None:
    """The team a document names by ``teamID`` (else ``team``, an id or a name); 400 when it
    names one that does not exist."""
    for field in ("teamID", "team"):
        given = document.get(field)
        if given:
            found = access.find_team(session, project_id, str(given))
            if found is None:
                raise InvalidInput.field(field, f"no team {given!r}")
            return found
    return None


def _check_may_edit(change: Change, team: TeamInfo) -> None:
    actor = change.actor
    if team.change_team_configs == "team_only" and actor.is_user and not team.has_member(actor.id):
        raise Forbidden(
            f"Forbidden resource: only members of team {team.name!r} may change its entities."
        )


def on_create(
    session: Session, entity_type: str, change: Change, document: dict[str, Any]
) -> dict[str, Any]:
    """The document to insert, with its team resolved and the team's defaults applied."""
    if "team" not in document and "teamID" not in document:
        return document
    team = _named_team(session, change.project_id, document)
    if team is None:
        project = projects_repository.get_project(session, change.project_id)
        required = project is not None and project.require_teams_on_configs
        if required and entity_type in TEAM_REQUIRED_KINDS:
            raise InvalidInput.field(
                "teamID", "the project requires a team (team or teamID) on new entities"
            )
        return document
    _check_may_edit(change, team)
    stamped = {**document, "team": team.name, "teamID": team.id}
    if "targetApps" in stamped and not stamped["targetApps"] and team.default_target_apps:
        stamped["targetApps"] = list(team.default_target_apps)
    for kind, field, default in _DEFAULT_METRICS:
        if kind == entity_type and field in stamped and not stamped[field]:
            stamped[field] = [dict(m) for m in getattr(team, default)]
    return stamped


def on_save(
    session: Session, change: Change, before: dict[str, Any], after: dict[str, Any]
) -> dict[str, Any]:
    """The document to save: a ``team_only`` team's entity is changed by its members only
    (before and after the change), and a new team must exist."""
    old = (before.get("teamID"), before.get("team"))
    if old[0] or old[1]:
        kept = access.find_team(session, change.project_id, str(old[0] or old[1]))
        if kept is not None:
            _check_may_edit(change, kept)
    if (after.get("teamID"), after.get("team")) == old:
        return after
    team = _named_team(session, change.project_id, after)
    if team is None:
        return after
    _check_may_edit(change, team)
    return {**after, "team": team.name, "teamID": team.id}
