"""Project settings pages: environments (order, create, rename, delete), project switches
(name, visibility, default unit type, reviews, default role, teams required), tags and target
apps. Every change calls the domain service the Console API calls, with the same permission."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import DYNAMIC_CONFIG, EXPERIMENT, GATE, EntityKind
from lockgate.domains.environments import service as environments
from lockgate.domains.environments.schemas import EnvironmentsUpdate
from lockgate.domains.projects import settings as project_settings
from lockgate.domains.reviews import settings as review_settings
from lockgate.domains.reviews.schemas import ReviewSettingsIn
from lockgate.domains.tags import service as tags
from lockgate.domains.tags.schemas import TagCreate, TagUpdate
from lockgate.domains.targetapps import service as target_apps
from lockgate.domains.targetapps.schemas import (
    TargetAppBulkAssign,
    TargetAppCreate,
    TargetAppUpdate,
)
from lockgate.domains.users import roles
from lockgate.domains.users.permissions import ASSIGNABLE_BUILT_IN, PROJECT_ADMIN_ROLES
from lockgate.domains.users.schemas import ProjectSettings, RolesSettings, TeamsSettings
from lockgate.errors import Forbidden, InvalidInput, LockgateError
from lockgate.faces.web.forms import disabled, validated
from lockgate.faces.web.pages import WebRoute, render
from lockgate.faces.web.session import Web, WebContext

router = APIRouter(route_class=WebRoute)
MAX_SHOWN = 500
ADMINS_ONLY = "Only Owners and Admins change this"


def is_admin(ctx: WebContext) -> bool:
    """Project configuration the Console API allows to the Owner and Admin roles only."""
    return ctx.member.role in PROJECT_ADMIN_ROLES


def require_admin(ctx: WebContext) -> None:
    if not is_admin(ctx):
        raise Forbidden(f"Your role ({ctx.member.role}) does not administer the project.")


def _checked(value: str) -> bool:
    return value in ("on", "true", "1")


def settings_page(
    request: Request,
    ctx: WebContext,
    template: str,
    title: str,
    section: str,
    status_code: int,
    values: dict[str, Any],
) -> HTMLResponse:
    return render(
        request,
        template,
        ctx,
        title=title,
        section="settings",
        settings_section=section,
        status_code=status_code,
        **values,
    )


def attempt(
    request: Request,
    ctx: WebContext,
    page: Callable[..., HTMLResponse],
    action: Callable[[], object],
    redirect: str,
    done: str,
) -> Response:
    """Run ``action``; a refusal rolls everything back and shows the page with the message."""
    try:
        action()
    except Forbidden:
        raise
    except LockgateError as exc:
        ctx.session.rollback()
        return page(request, ctx, status_code=422, error=exc.message)
    return RedirectResponse(f"{redirect}?done={done}", status_code=303)


NOTICES = {
    "created": "Created.",
    "saved": "Saved.",
    "deleted": "Deleted.",
    "moved": "Moved.",
    "assigned": "Assigned.",
    "invited": "Invited.",
    "removed": "Removed.",
}


def notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("done", ""))


# Environments


def _environments_page(
    request: Request, ctx: WebContext, *, status_code: int = 200, **values: Any
) -> HTMLResponse:
    envs = environments.read(ctx.session, ctx.project_id)["environments"]
    values.setdefault("notice", notice(request))
    return settings_page(
        request,
        ctx,
        "settings_environments.html",
        "Environments",
        "environments",
        status_code,
        {
            "environments": envs,
            "can_edit": is_admin(ctx),
            "off": disabled(is_admin(ctx), ADMINS_ONLY),
            **values,
        },
    )


def _replace_environments(ctx: WebContext, envs: list[dict[str, Any]]) -> None:
    body = validated(EnvironmentsUpdate, {"environments": envs})
    environments.replace(ctx.session, ctx.project_id, ctx.member.actor(), ctx.clock.now_ms(), body)


def _current_environments(ctx: WebContext) -> list[dict[str, Any]]:
    envs: list[dict[str, Any]] = environments.read(ctx.session, ctx.project_id)["environments"]
    return envs


def _index_of(envs: list[dict[str, Any]], env_id: str) -> int:
    for index, env in enumerate(envs):
        if env["id"] == env_id:
            return index
    raise InvalidInput(f"No environment with id {env_id!r}.")


@router.get("/ui/settings/environments", include_in_schema=False)
def environments_page(request: Request, ctx: Web) -> HTMLResponse:
    return _environments_page(request, ctx)


@router.post("/ui/settings/environments", include_in_schema=False)
def create_environment(
    request: Request, ctx: Web, name: str = Form(""), requires_review: str = Form("")
) -> Response:
    require_admin(ctx)

    def act() -> None:
        added = {
            "name": name,
            "isProduction": False,
            "requiresReview": _checked(requires_review),
            "requiresReleasePipeline": False,
        }
        _replace_environments(ctx, [*_current_environments(ctx), added])

    return attempt(request, ctx, _environments_page, act, "/ui/settings/environments", "created")


@router.post("/ui/settings/environments/{env_id}", include_in_schema=False)
def edit_environment(
    request: Request,
    ctx: Web,
    env_id: str,
    name: str = Form(""),
    requires_review: str = Form(""),
) -> Response:
    require_admin(ctx)

    def act() -> None:
        envs = _current_environments(ctx)
        index = _index_of(envs, env_id)
        envs[index] = {**envs[index], "name": name, "requiresReview": _checked(requires_review)}
        _replace_environments(ctx, envs)

    return attempt(request, ctx, _environments_page, act, "/ui/settings/environments", "saved")


@router.post("/ui/settings/environments/{env_id}/move", include_in_schema=False)
def move_environment(
    request: Request, ctx: Web, env_id: str, direction: str = Form("")
) -> Response:
    require_admin(ctx)

    def act() -> None:
        envs = _current_environments(ctx)
        index = _index_of(envs, env_id)
        other = index - 1 if direction == "up" else index + 1
        if direction not in ("up", "down") or not 0 <= other < len(envs):
            raise InvalidInput(f"{envs[index]['name']} cannot move {direction or 'there'}.")
        envs[index], envs[other] = envs[other], envs[index]
        _replace_environments(ctx, envs)

    return attempt(request, ctx, _environments_page, act, "/ui/settings/environments", "moved")


@router.post("/ui/settings/environments/{env_id}/delete", include_in_schema=False)
def delete_environment(request: Request, ctx: Web, env_id: str) -> Response:
    require_admin(ctx)

    def act() -> None:
        envs = _current_environments(ctx)
        del envs[_index_of(envs, env_id)]
        _replace_environments(ctx, envs)

    return attempt(request, ctx, _environments_page, act, "/ui/settings/environments", "deleted")


# Project switches


def _project_page(
    request: Request, ctx: WebContext, *, status_code: int = 200, **values: Any
) -> HTMLResponse:
    values.setdefault("notice", notice(request))
    custom = roles.list_(ctx.session, ctx.project_id, offset=0, limit=MAX_SHOWN)[0]
    return settings_page(
        request,
        ctx,
        "settings_project.html",
        "Project settings",
        "project",
        status_code,
        {
            "project": project_settings.read_project(ctx.session, ctx.project_id),
            "reviews": review_settings.read(ctx.session, ctx.project_id),
            "default_role": project_settings.read_roles(ctx.session, ctx.project_id),
            "teams": project_settings.read_teams(ctx.session, ctx.project_id),
            "visibilities": project_settings.VISIBILITIES,
            "roles": [*ASSIGNABLE_BUILT_IN, *(r["name"] for r in custom)],
            "off": disabled(is_admin(ctx), ADMINS_ONLY),
            "can_edit": is_admin(ctx),
            **values,
        },
    )


@router.get("/ui/settings/project", include_in_schema=False)
def project_page(request: Request, ctx: Web) -> HTMLResponse:
    return _project_page(request, ctx)


@router.post("/ui/settings/project", include_in_schema=False)
def save_project(
    request: Request,
    ctx: Web,
    name: str = Form(""),
    visibility: str = Form(""),
    default_unit_type: str = Form(""),
    default_project_role: str = Form(""),
    require_teams_on_configs: str = Form(""),
) -> Response:
    require_admin(ctx)

    def act() -> None:
        body = validated(
            ProjectSettings,
            {"name": name, "visibility": visibility, "default_unit_type": default_unit_type},
        )
        project_settings.update_project(ctx.session, ctx.change, body)
        role = validated(RolesSettings, {"default_project_role": default_project_role})
        current_role = project_settings.read_roles(ctx.session, ctx.project_id)
        if role.default_project_role != current_role["default_project_role"]:
            project_settings.update_roles(ctx.session, ctx.change, role)
        teams = TeamsSettings(require_teams_on_configs=_checked(require_teams_on_configs))
        if (
            teams.require_teams_on_configs
            != project_settings.read_teams(ctx.session, ctx.project_id)["require_teams_on_configs"]
        ):
            project_settings.update_teams(ctx.session, ctx.change, teams)

    return attempt(request, ctx, _project_page, act, "/ui/settings/project", "saved")


@router.post("/ui/settings/project/reviews", include_in_schema=False)
def save_reviews(
    request: Request,
    ctx: Web,
    is_config_review_required: str = Form(""),
    is_metric_review_required: str = Form(""),
    is_metric_review_required_on_verified_only: str = Form(""),
) -> Response:
    require_admin(ctx)

    def act() -> None:
        body = ReviewSettingsIn(
            is_config_review_required=_checked(is_config_review_required),
            is_metric_review_required=_checked(is_metric_review_required),
            is_metric_review_required_on_verified_only=_checked(
                is_metric_review_required_on_verified_only
            ),
        )
        review_settings.replace(ctx.session, ctx.change, body)

    return attempt(request, ctx, _project_page, act, "/ui/settings/project", "saved")


# Tags


def _tags_page(
    request: Request, ctx: WebContext, *, status_code: int = 200, **values: Any
) -> HTMLResponse:
    values.setdefault("notice", notice(request))
    rows, total = tags.list_(ctx.session, ctx.project_id, offset=0, limit=MAX_SHOWN)
    return settings_page(
        request,
        ctx,
        "settings_tags.html",
        "Tags",
        "tags",
        status_code,
        {
            "tags": rows,
            "total": total,
            "off_create": disabled(ctx.member.can("create_configs"), _lacks(ctx, "create_configs")),
            "off_edit": disabled(
                ctx.member.can("edit_or_delete_configs"), _lacks(ctx, "edit_or_delete_configs")
            ),
            "can_edit": ctx.member.can("create_configs"),
            **values,
        },
    )


def _lacks(ctx: WebContext, permission: str) -> str:
    return f"Your role ({ctx.member.role}) lacks the {permission} permission"


@router.get("/ui/settings/tags", include_in_schema=False)
def tags_page(request: Request, ctx: Web) -> HTMLResponse:
    return _tags_page(request, ctx)


@router.post("/ui/settings/tags", include_in_schema=False)
def create_tag(
    request: Request, ctx: Web, name: str = Form(""), description: str = Form("")
) -> Response:
    ctx.require("create_configs")

    def act() -> None:
        body = validated(TagCreate, {"name": name, "description": description})
        tags.create(ctx.session, ctx.project_id, ctx.member.actor(), ctx.clock.now_ms(), body)

    return attempt(request, ctx, _tags_page, act, "/ui/settings/tags", "created")


@router.post("/ui/settings/tags/{tag_id}", include_in_schema=False)
def edit_tag(
    request: Request,
    ctx: Web,
    tag_id: str,
    name: str = Form(""),
    description: str = Form(""),
) -> Response:
    ctx.require("edit_or_delete_configs")

    def act() -> None:
        body = validated(TagUpdate, {"name": name, "description": description})
        tags.patch(
            ctx.session, ctx.project_id, ctx.member.actor(), ctx.clock.now_ms(), tag_id, body
        )

    return attempt(request, ctx, _tags_page, act, "/ui/settings/tags", "saved")


@router.post("/ui/settings/tags/{tag_id}/delete", include_in_schema=False)
def delete_tag(request: Request, ctx: Web, tag_id: str) -> Response:
    ctx.require("edit_or_delete_configs")

    def act() -> None:
        tags.delete(ctx.session, ctx.project_id, ctx.member.actor(), ctx.clock.now_ms(), tag_id)

    return attempt(request, ctx, _tags_page, act, "/ui/settings/tags", "deleted")


# Target apps


# The kinds the Target App resource assigns: (request field, label, kind).
ASSIGNABLE: tuple[tuple[str, str, EntityKind], ...] = (
    ("gates", "gate", GATE),
    ("dynamic_configs", "dynamic config", DYNAMIC_CONFIG),
    ("experiments", "experiment", EXPERIMENT),
)


def _assignable(ctx: WebContext) -> list[dict[str, Any]]:
    """Each assignable kind with the ids offered (the first ``MAX_SHOWN``; any id may be typed)."""
    return [
        {
            "field": field,
            "label": label,
            "ids": [
                str(row.id)
                for row in entities.list_rows(ctx.session, kind, ctx.project_id, limit=MAX_SHOWN)[0]
            ],
        }
        for field, label, kind in ASSIGNABLE
    ]


def _target_apps_page(
    request: Request, ctx: WebContext, *, status_code: int = 200, **values: Any
) -> HTMLResponse:
    values.setdefault("notice", notice(request))
    rows, total = target_apps.list_(ctx.session, ctx.project_id, offset=0, limit=MAX_SHOWN)
    can_assign = ctx.member.can("edit_or_delete_configs")
    return settings_page(
        request,
        ctx,
        "settings_target_apps.html",
        "Target apps",
        "target_apps",
        status_code,
        {
            "apps": rows,
            "total": total,
            "assignable": _assignable(ctx),
            "off_create": disabled(can_assign, _lacks(ctx, "edit_or_delete_configs")),
            "off_admin": disabled(is_admin(ctx), ADMINS_ONLY),
            "can_edit": can_assign,
            **values,
        },
    )


@router.get("/ui/settings/target_apps", include_in_schema=False)
def target_apps_page(request: Request, ctx: Web) -> HTMLResponse:
    return _target_apps_page(request, ctx)


@router.post("/ui/settings/target_apps", include_in_schema=False)
def create_target_app(
    request: Request, ctx: Web, name: str = Form(""), description: str = Form("")
) -> Response:
    ctx.require("edit_or_delete_configs")

    def act() -> None:
        body = validated(TargetAppCreate, {"name": name, "description": description})
        target_apps.create(ctx.session, ctx.change, body)

    return attempt(request, ctx, _target_apps_page, act, "/ui/settings/target_apps", "created")


@router.post("/ui/settings/target_apps/assign", include_in_schema=False)
def assign_target_app(
    request: Request,
    ctx: Web,
    target_app: str = Form(""),
    kind: str = Form("gates"),
    entity: str = Form(""),
) -> Response:
    ctx.require("edit_or_delete_configs")

    def act() -> None:
        if kind not in {field for field, _, _ in ASSIGNABLE}:
            raise InvalidInput(
                f"Unknown kind {kind!r}; choose gates, dynamic_configs or experiments."
            )
        if not entity.strip():
            raise InvalidInput.field(kind, "name the entity to assign")
        body = validated(TargetAppBulkAssign, {"targetApps": [target_app], kind: [entity.strip()]})
        target_apps.bulk_assign(ctx.session, ctx.change, body)

    return attempt(request, ctx, _target_apps_page, act, "/ui/settings/target_apps", "assigned")


@router.post("/ui/settings/target_apps/{app_id}", include_in_schema=False)
def edit_target_app(
    request: Request,
    ctx: Web,
    app_id: str,
    name: str = Form(""),
    description: str = Form(""),
) -> Response:
    require_admin(ctx)

    def act() -> None:
        body = validated(TargetAppUpdate, {"name": name, "description": description})
        target_apps.patch(ctx.session, ctx.change, app_id, body)

    return attempt(request, ctx, _target_apps_page, act, "/ui/settings/target_apps", "saved")


@router.post("/ui/settings/target_apps/{app_id}/delete", include_in_schema=False)
def delete_target_app(request: Request, ctx: Web, app_id: str) -> Response:
    require_admin(ctx)

    def act() -> None:
        target_apps.delete(ctx.session, ctx.change, app_id)

    return attempt(request, ctx, _target_apps_page, act, "/ui/settings/target_apps", "deleted")
