"""Teams: members and admins (project users), defaults stamped on the entities they own and the
policies that act on them (docs/console.md §Users and teams)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.appids.resolve import resolve_target_apps
from lockgate.domains.audit.service import audit_change
from lockgate.domains.users import repository
from lockgate.domains.users.schemas import TeamCreate, TeamPatch
from lockgate.domains.users.service import user_dto
from lockgate.errors import InvalidInput, NotFound
from lockgate.kit.actor import Change
from lockgate.kit.ids import random_id
from lockgate.storage.models import Team

TEAM_NOT_FOUND = "Team not found."
# (body field, column, wire name) of the settings copied as given.
_PLAIN = (
    ("description", "description"),
    ("change_team_configs", "change_team_configs"),
    ("review_approval", "review_approval"),
    ("require_reviews", "require_reviews"),
    ("require_gate_templates", "require_gate_templates"),
    ("require_experiment_templates", "require_experiment_templates"),
    ("require_dynamic_config_templates", "require_dynamic_config_templates"),
)
_METRICS = (
    ("default_gate_metrics", "default_gate_metrics"),
    ("default_experiment_primary_metrics", "default_experiment_primary_metrics"),
    ("default_experiment_secondary_metrics", "default_experiment_secondary_metrics"),
    ("default_holdout_metrics", "default_holdout_metrics"),
)


def team_dto(session: Session, team: Team) -> dict[str, Any]:
    rows = repository.team_members(session, [team.id])
    users = {u.id: u for u in repository.users_by_ids(session, [r.user_id for r in rows])}
    ordered = sorted(rows, key=lambda r: users[r.user_id].email_key)
    return {
        "id": team.id,
        "name": team.name,
        "description": team.description,
        "members": [user_dto(users[r.user_id]) for r in ordered],
        "admins": [user_dto(users[r.user_id]) for r in ordered if r.is_admin],
        "defaultGateMetrics": list(team.default_gate_metrics or []),
        "defaultExperimentPrimaryMetrics": list(team.default_experiment_primary_metrics or []),
        "defaultExperimentSecondaryMetrics": list(team.default_experiment_secondary_metrics or []),
        "defaultHoldoutMetrics": list(team.default_holdout_metrics or []),
        "changeTeamConfigs": team.change_team_configs,
        "reviewApproval": team.review_approval,
        "defaultTargetApplications": list(team.default_target_apps or []),
        "defaultHoldoutID": team.default_holdout_id,
        "requireReviews": team.require_reviews,
        "requireGateTemplates": team.require_gate_templates,
        "requireExperimentTemplates": team.require_experiment_templates,
        "requireDynamicConfigTemplates": team.require_dynamic_config_templates,
    }


def _user_ids(session: Session, project_id: str, emails: Sequence[str], field: str) -> list[str]:
    found = {u.email_key: u.id for u in repository.users_by_emails(session, project_id, emails)}
    missing = [e for e in emails if repository.email_key(e) not in found]
    if missing:
        raise InvalidInput.field(field, f"{missing[0]} is not a member of the project")
    return [found[repository.email_key(e)] for e in emails]


def load(session: Session, project_id: str, team_id: str, *, lock: bool = False) -> Team:
    team = repository.team(session, project_id, team_id, lock=lock)
    if team is None:
        raise NotFound(TEAM_NOT_FOUND)
    return team


def _apply(session: Session, change: Change, team: Team, body: TeamPatch) -> None:
    given = body.model_fields_set
    if body.name is not None:
        name = body.name.strip()
        other = repository.team_by_name(session, change.project_id, name)
        if not name or (other is not None and other.id != team.id):
            raise InvalidInput.field("name", f"a team named {name!r} exists")
        team.name = name
    for field, column in _PLAIN:
        if field in given and (getattr(body, field) is not None or field.startswith("require")):
            setattr(team, column, getattr(body, field))
    for field, column in _METRICS:
        value = getattr(body, field)
        if value is not None:
            setattr(team, column, [m.model_dump() for m in value])
    if body.default_target_applications is not None:
        team.default_target_apps = resolve_target_apps(
            session,
            change.project_id,
            body.default_target_applications,
            field="defaultTargetApplications",
        )
    if "default_holdout_id" in given:
        holdout = body.default_holdout_id
        if holdout and not repository.holdout_exists(session, change.project_id, holdout):
            raise InvalidInput.field("defaultHoldoutID", f"no holdout {holdout!r}")
        team.default_holdout_id = holdout or None
    session.flush()


def _members(session: Session, change: Change, team: Team, body: TeamPatch) -> None:
    if body.members is None and body.admins is None:
        return
    current = repository.team_members(session, [team.id])
    members = (
        _user_ids(session, change.project_id, body.members, "members")
        if body.members is not None
        else [r.user_id for r in current]
    )
    admins = (
        _user_ids(session, change.project_id, body.admins, "admins")
        if body.admins is not None
        else [r.user_id for r in current if r.is_admin]
    )
    repository.replace_team_members(session, team.id, members, admins)


def _audit(
    session: Session,
    change: Change,
    team_id: str,
    name: str,
    action: str,
    log: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    audit_change(
        session,
        change,
        entity_type="team",
        entity_id=team_id,
        name=name,
        action_type=action,
        change_log=log,
        before=before,
        after=after,
    )


def create(session: Session, change: Change, body: TeamCreate) -> Team:
    team = Team(id=random_id(), project_id=change.project_id, name="", created_time=change.now_ms)
    repository.add_pending(session, team)
    _apply(session, change, team, body)
    _members(session, change, team, body)
    after = team_dto(session, team)
    # The audit vocabulary has no team creation: update_team from nothing (docs/console.md).
    _audit(session, change, team.id, team.name, "update_team", "Created team", None, after)
    return team


def read(session: Session, project_id: str, team_id: str) -> dict[str, Any]:
    return team_dto(session, load(session, project_id, team_id))


def list_(
    session: Session, project_id: str, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    rows, total = repository.list_teams(session, project_id, offset=offset, limit=limit)
    return [team_dto(session, t) for t in rows], total


def _patch_action(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, str]:
    changed = {k for k in after if before.get(k) != after.get(k)}
    if changed == {"name"}:
        return "update_team_name", "Renamed team"
    if changed == {"description"}:
        return "update_team_description", "Updated team description"
    if changed and changed <= {"admins", "members"}:
        return (
            ("update_team_admins", "Updated team admins")
            if "admins" in changed
            else (
                "update_team",
                "Updated team members",
            )
        )
    return "update_team_settings", "Updated team settings"


def patch(session: Session, change: Change, team_id: str, body: TeamPatch) -> Team:
    team = load(session, change.project_id, team_id, lock=True)
    before = team_dto(session, team)
    _apply(session, change, team, body)
    _members(session, change, team, body)
    after = team_dto(session, team)
    action, log = _patch_action(before, after)
    _audit(session, change, team.id, team.name, action, log, before, after)
    return team


def delete(session: Session, change: Change, team_id: str) -> None:
    team = load(session, change.project_id, team_id, lock=True)
    before = team_dto(session, team)
    repository.remove(session, team)
    _audit(
        session, change, before["id"], before["name"], "update_team", "Deleted team", before, None
    )
