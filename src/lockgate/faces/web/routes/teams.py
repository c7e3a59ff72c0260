"""Teams: list, create, edit (members, admins, description, the defaults stamped on what the team
owns, its review and template policies) and delete, through the users domain's team service with
the Console API's permission (``create_teams``) and its audit entries."""

from __future__ import annotations

from typing import Any, get_args

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import HOLDOUT
from lockgate.domains.environments import service as environments
from lockgate.domains.targetapps import service as target_apps
from lockgate.domains.users import teams
from lockgate.domains.users.schemas import (
    ChangeTeamConfigs,
    ReviewApproval,
    TeamCreate,
    TeamPatch,
)
from lockgate.errors import InvalidInput
from lockgate.faces.web.forms import disabled, validated
from lockgate.faces.web.pages import WebRoute
from lockgate.faces.web.routes.settings import MAX_SHOWN, attempt, notice, settings_page
from lockgate.faces.web.session import Web, WebContext

router = APIRouter(route_class=WebRoute)
PATH = "/ui/settings/teams"
PERMISSION = "create_teams"
# (form field, wire name, label) of the default metric lists, one ``name::type`` a line.
METRIC_FIELDS = (
    ("default_gate_metrics", "defaultGateMetrics", "Default gate metrics"),
    (
        "default_experiment_primary_metrics",
        "defaultExperimentPrimaryMetrics",
        "Default primary metrics of experiments",
    ),
    (
        "default_experiment_secondary_metrics",
        "defaultExperimentSecondaryMetrics",
        "Default secondary metrics of experiments",
    ),
    ("default_holdout_metrics", "defaultHoldoutMetrics", "Default holdout metrics"),
)
# (form field, wire name, label) of the team's switches.
SWITCHES = (
    ("require_reviews", "requireReviews", "Require reviews on the team's entities"),
    ("require_gate_templates", "requireGateTemplates", "Require a template for new gates"),
    (
        "require_experiment_templates",
        "requireExperimentTemplates",
        "Require a template for new experiments",
    ),
    (
        "require_dynamic_config_templates",
        "requireDynamicConfigTemplates",
        "Require a template for new dynamic configs",
    ),
)
CHANGE_TEAM_CONFIGS = get_args(ChangeTeamConfigs)
REVIEW_APPROVAL = get_args(ReviewApproval)
EMPTY_TEAM: dict[str, Any] = {
    "name": "",
    "description": "",
    "members": [],
    "admins": [],
    "changeTeamConfigs": "anyone",
    "reviewApproval": "anyone",
    "defaultTargetApplications": [],
    "defaultHoldoutID": None,
    **{wire: [] for _, wire, _ in METRIC_FIELDS},
    **{wire: False for _, wire, _ in SWITCHES},
}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


def _metrics(text: str, wire: str) -> list[dict[str, str]]:
    """``name::type`` lines (Statsig's metric ids) as the Console API's metric references."""
    refs = []
    for line in _lines(text):
        name, sep, kind = line.rpartition("::")
        if not sep or not name.strip() or not kind.strip():
            raise InvalidInput.field(wire, f"{line!r} is not a metric id such as revenue::sum")
        refs.append({"name": name.strip(), "type": kind.strip()})
    return refs


def _body(form: dict[str, Any]) -> dict[str, Any]:
    """The Console API's team body from the form's fields."""
    body: dict[str, Any] = {
        "name": form["name"],
        "description": form["description"],
        "members": _lines(form["members"]),
        "admins": _lines(form["admins"]),
        "changeTeamConfigs": form["change_team_configs"],
        "reviewApproval": form["review_approval"],
        "defaultTargetApplications": list(form["default_target_applications"]),
        "defaultHoldoutID": form["default_holdout_id"] or None,
    }
    for field, wire, _ in METRIC_FIELDS:
        body[wire] = _metrics(form[field], wire)
    for field, wire, _ in SWITCHES:
        body[wire] = form[field] in ("on", "true", "1")
    return body


async def _form(request: Request) -> dict[str, Any]:
    """The team form's fields; the two selects, always sent by the page, default to the
    Console API's defaults when a post leaves them out."""
    posted = await request.form()
    defaults = {"change_team_configs": "anyone", "review_approval": "anyone"}
    keys = (
        "name",
        "description",
        "members",
        "admins",
        "change_team_configs",
        "review_approval",
        "default_holdout_id",
        *(f for f, _, _ in METRIC_FIELDS),
        *(f for f, _, _ in SWITCHES),
    )
    fields: dict[str, Any] = {key: str(posted.get(key, defaults.get(key, ""))) for key in keys}
    fields["default_target_applications"] = [
        str(v) for v in posted.getlist("default_target_applications")
    ]
    return fields


def _choices(ctx: WebContext) -> dict[str, Any]:
    """What the team form offers: the project's target apps and holdouts."""
    apps, _ = target_apps.list_(ctx.session, ctx.project_id, offset=0, limit=MAX_SHOWN)
    holdouts, _ = entities.list_rows(ctx.session, HOLDOUT, ctx.project_id, limit=MAX_SHOWN)
    return {
        "target_apps": apps,
        "holdouts": [str(h.id) for h in holdouts],
        "metric_fields": METRIC_FIELDS,
        "switches": SWITCHES,
        "change_team_configs": CHANGE_TEAM_CONFIGS,
        "review_approval": REVIEW_APPROVAL,
    }


def _common(ctx: WebContext) -> dict[str, Any]:
    allowed = ctx.member.can(PERMISSION)
    reason = f"Your role ({ctx.member.role}) lacks the {PERMISSION} permission"
    return {"off": disabled(allowed, reason), "can_edit": allowed, "reason": reason}


def _teams_page(
    request: Request, ctx: WebContext, *, status_code: int = 200, **values: Any
) -> HTMLResponse:
    values.setdefault("notice", notice(request))
    values.setdefault("team", EMPTY_TEAM)
    rows, total = teams.list_(ctx.session, ctx.project_id, offset=0, limit=MAX_SHOWN)
    names = {
        a["id"]: a["name"]
        for a in target_apps.list_(ctx.session, ctx.project_id, offset=0, limit=MAX_SHOWN)[0]
    }
    for row in rows:
        row["targetAppNames"] = [names.get(a, a) for a in row["defaultTargetApplications"]]
    return settings_page(
        request,
        ctx,
        "settings_teams.html",
        "Teams",
        "teams",
        status_code,
        {"teams": rows, "total": total, **_choices(ctx), **_common(ctx), **values},
    )


def _team_page(
    request: Request, ctx: WebContext, team_id: str, *, status_code: int = 200, **values: Any
) -> HTMLResponse:
    values.setdefault("notice", notice(request))
    values.setdefault("team", teams.read(ctx.session, ctx.project_id, team_id))
    return settings_page(
        request,
        ctx,
        "settings_team.html",
        f"Team {values['team']['name']}",
        "teams",
        status_code,
        {"team_id": team_id, **_choices(ctx), **_common(ctx), **values},
    )


def _shown(form: dict[str, Any], team: dict[str, Any]) -> dict[str, Any]:
    """The refused form as it was typed, in the team's shape, so nothing typed is lost."""
    shown = dict(team)
    shown.update(
        name=form["name"],
        description=form["description"],
        members=[{"email": e} for e in _lines(form["members"])],
        admins=[{"email": e} for e in _lines(form["admins"])],
        changeTeamConfigs=form["change_team_configs"],
        reviewApproval=form["review_approval"],
        defaultTargetApplications=form["default_target_applications"],
        defaultHoldoutID=form["default_holdout_id"],
        typed=form,
    )
    return shown


@router.get(PATH, include_in_schema=False)
def teams_page(request: Request, ctx: Web) -> HTMLResponse:
    return _teams_page(request, ctx)


@router.post(PATH, include_in_schema=False)
async def create_team(request: Request, ctx: Web) -> Response:
    ctx.require(PERMISSION)
    form = await _form(request)

    def act() -> None:
        teams.create(ctx.session, ctx.change, validated(TeamCreate, _body(form)))

    def page(request: Request, ctx: WebContext, **values: Any) -> HTMLResponse:
        return _teams_page(request, ctx, team=_shown(form, EMPTY_TEAM), **values)

    return attempt(request, ctx, page, act, PATH, "created")


@router.get(f"{PATH}/{{team_id}}", include_in_schema=False)
def team_page(request: Request, ctx: Web, team_id: str) -> HTMLResponse:
    return _team_page(request, ctx, team_id)


@router.post(f"{PATH}/{{team_id}}", include_in_schema=False)
async def edit_team(request: Request, ctx: Web, team_id: str) -> Response:
    ctx.require(PERMISSION)
    form = await _form(request)
    current = teams.read(ctx.session, ctx.project_id, team_id)

    def act() -> None:
        teams.patch(ctx.session, ctx.change, team_id, validated(TeamPatch, _body(form)))

    def page(request: Request, ctx: WebContext, **values: Any) -> HTMLResponse:
        return _team_page(request, ctx, team_id, team=_shown(form, current), **values)

    return attempt(request, ctx, page, act, f"{PATH}/{team_id}", "saved")


@router.post(f"{PATH}/{{team_id}}/delete", include_in_schema=False)
def delete_team(request: Request, ctx: Web, team_id: str) -> Response:
    ctx.require(PERMISSION)

    def act() -> None:
        # As the Console API's delete: the team goes, and every reference to it, in one
        # transaction (the request's).
        change = ctx.change
        teams.delete(ctx.session, change, team_id)
        entities.release_team(ctx.session, change, team_id)
        environments.release_team(ctx.session, change, team_id)

    return attempt(request, ctx, _teams_page, act, PATH, "deleted")
