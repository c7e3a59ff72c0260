"""What each Console operation requires of a user acting through a personal key
(docs/console.md §Who may call what).

``REQUIRED`` maps (method, route template under ``/console/v1``) to one permission key, or to
``PROJECT_ADMIN`` (the Owner or Admin role: project configuration no permission key covers).
Reads need nothing and are left out, except ``/keys``; an operation missing from the table
needs ``PROJECT_ADMIN`` (fail closed). Project console keys (``omni_*``) are not checked here.
"""

from __future__ import annotations

from typing import Final

from lockgate.domains.users.permissions import PROJECT_ADMIN_ROLES
from lockgate.errors import Forbidden
from lockgate.kit.actor import Actor

PROJECT_ADMIN: Final = "project administration (the Owner or Admin role)"
FORBIDDEN_TEXT: Final = (
    "Forbidden. The request was valid, but the server is refusing action. You might not have "
    "the necessary permissions to access the resource."
)

# The review workflow (docs/console.md §Reviews): the review rules check approvers further.
_REVIEW_ACTIONS: Final = {
    ("POST", ""): "edit_or_delete_configs",
    ("PUT", "/{reviewID}"): "edit_or_delete_configs",
    ("PUT", "/{reviewID}/approve"): "approve_reviews",
    ("PUT", "/{reviewID}/reject"): "approve_reviews",
    ("PUT", "/{reviewID}/commit"): "edit_or_delete_configs",
}
_REVIEWS: Final = {
    (method, f"/{kind}/{{id}}/reviews{suffix}"): need
    for kind in ("gates", "dynamic_configs", "segments", "experiments")
    for (method, suffix), need in _REVIEW_ACTIONS.items()
}

REQUIRED: Final[dict[tuple[str, str], str]] = {
    **_REVIEWS,
    ("POST", "/change_validation"): "edit_or_delete_configs",
    ("PATCH", "/change_validation/message"): "edit_or_delete_configs",
    ("POST", "/settings/reviews"): PROJECT_ADMIN,
    ("POST", "/autotunes"): "create_configs",
    ("DELETE", "/autotunes/{id}"): "edit_or_delete_configs",
    ("PATCH", "/autotunes/{id}"): "edit_or_delete_configs",
    ("POST", "/autotunes/{id}"): "edit_or_delete_configs",
    ("PUT", "/autotunes/{id}/make_decision"): "edit_or_delete_configs",
    ("PUT", "/autotunes/{id}/reset"): "reset_experiments",
    ("PUT", "/autotunes/{id}/start"): "start_experiments",
    ("POST", "/dynamic_configs"): "create_configs",
    ("DELETE", "/dynamic_configs/{id}"): "edit_or_delete_configs",
    ("PATCH", "/dynamic_configs/{id}"): "edit_or_delete_configs",
    ("POST", "/dynamic_configs/{id}"): "edit_or_delete_configs",
    ("PUT", "/dynamic_configs/{id}/archive"): "edit_or_delete_configs",
    ("PUT", "/dynamic_configs/{id}/disable"): "launch_or_disable_configs",
    ("PUT", "/dynamic_configs/{id}/enable"): "launch_or_disable_configs",
    ("POST", "/dynamic_configs/{id}/rule"): "edit_or_delete_configs",
    ("DELETE", "/dynamic_configs/{id}/rule/name/{ruleName}"): "edit_or_delete_configs",
    ("PATCH", "/dynamic_configs/{id}/rule/name/{ruleName}"): "edit_or_delete_configs",
    ("DELETE", "/dynamic_configs/{id}/rule/{ruleId}"): "edit_or_delete_configs",
    ("PATCH", "/dynamic_configs/{id}/rule/{ruleId}"): "edit_or_delete_configs",
    ("PATCH", "/dynamic_configs/{id}/rules"): "edit_or_delete_configs",
    ("POST", "/dynamic_configs/{id}/rules"): "edit_or_delete_configs",
    ("PUT", "/dynamic_configs/{id}/unarchive"): "edit_or_delete_configs",
    ("POST", "/environments"): PROJECT_ADMIN,
    ("POST", "/experiments"): "create_configs",
    ("DELETE", "/experiments/{id}"): "edit_or_delete_configs",
    ("PATCH", "/experiments/{id}"): "edit_or_delete_configs",
    ("POST", "/experiments/{id}"): "edit_or_delete_configs",
    ("PUT", "/experiments/{id}/abandon"): "edit_or_delete_configs",
    ("POST", "/experiments/{id}/alerts/{metricId}/resolve"): "manage_alerts",
    ("PUT", "/experiments/{id}/archive"): "edit_or_delete_configs",
    ("POST", "/experiments/{id}/disable_groups"): "edit_or_delete_configs",
    ("POST", "/experiments/{id}/enable_groups"): "edit_or_delete_configs",
    ("POST", "/experiments/{id}/load_pulse"): "edit_or_delete_configs",
    ("POST", "/experiments/{id}/pulse_load_history/{dagID}/cancel"): "edit_or_delete_configs",
    ("PUT", "/experiments/{id}/make_decision"): "edit_or_delete_configs",
    ("DELETE", "/experiments/{id}/overrides"): "edit_or_delete_configs",
    ("PATCH", "/experiments/{id}/overrides"): "edit_or_delete_configs",
    ("POST", "/experiments/{id}/overrides"): "edit_or_delete_configs",
    ("PUT", "/experiments/{id}/reset"): "reset_experiments",
    ("POST", "/experiments/{id}/restart_as_new"): "edit_or_delete_configs",
    ("POST", "/experiments/{id}/schedule_start"): "start_experiments",
    ("PUT", "/experiments/{id}/start"): "start_experiments",
    ("PUT", "/experiments/{id}/unarchive"): "edit_or_delete_configs",
    ("POST", "/gates"): "create_configs",
    ("DELETE", "/gates/{id}"): "edit_or_delete_configs",
    ("PATCH", "/gates/{id}"): "edit_or_delete_configs",
    ("POST", "/gates/{id}"): "edit_or_delete_configs",
    ("POST", "/gates/{id}/alerts/{metricId}/resolve"): "manage_alerts",
    ("PUT", "/gates/{id}/archive"): "edit_or_delete_configs",
    ("PUT", "/gates/{id}/disable"): "launch_or_disable_configs",
    ("PUT", "/gates/{id}/enable"): "launch_or_disable_configs",
    ("PUT", "/gates/{id}/launch"): "launch_or_disable_configs",
    ("POST", "/gates/{id}/load_pulse"): "edit_or_delete_configs",
    ("DELETE", "/gates/{id}/overrides"): "edit_or_delete_configs",
    ("PATCH", "/gates/{id}/overrides"): "edit_or_delete_configs",
    ("POST", "/gates/{id}/overrides"): "edit_or_delete_configs",
    ("POST", "/gates/{id}/rule"): "edit_or_delete_configs",
    ("PATCH", "/gates/{id}/rules"): "edit_or_delete_configs",
    ("POST", "/gates/{id}/rules"): "edit_or_delete_configs",
    ("DELETE", "/gates/{id}/rules/{ruleID}"): "edit_or_delete_configs",
    ("PATCH", "/gates/{id}/rules/{ruleID}"): "edit_or_delete_configs",
    ("PUT", "/gates/{id}/unarchive"): "edit_or_delete_configs",
    ("POST", "/holdouts"): "create_configs",
    ("DELETE", "/holdouts/{id}"): "edit_or_delete_configs",
    ("PATCH", "/holdouts/{id}"): "edit_or_delete_configs",
    ("POST", "/holdouts/{id}"): "edit_or_delete_configs",
    ("DELETE", "/holdouts/{id}/overrides"): "edit_or_delete_configs",
    ("PATCH", "/holdouts/{id}/overrides"): "edit_or_delete_configs",
    ("POST", "/holdouts/{id}/overrides"): "edit_or_delete_configs",
    ("GET", "/keys"): PROJECT_ADMIN,
    ("POST", "/keys"): PROJECT_ADMIN,
    ("DELETE", "/keys/{id}"): PROJECT_ADMIN,
    ("GET", "/keys/{id}"): PROJECT_ADMIN,
    ("PATCH", "/keys/{id}"): PROJECT_ADMIN,
    ("PATCH", "/keys/{id}/deactivate"): PROJECT_ADMIN,
    ("PATCH", "/keys/{id}/rotate"): PROJECT_ADMIN,
    ("POST", "/layers"): "create_configs",
    ("DELETE", "/layers/{id}"): "edit_or_delete_configs",
    ("PATCH", "/layers/{id}"): "edit_or_delete_configs",
    ("POST", "/layers/{id}"): "edit_or_delete_configs",
    ("DELETE", "/layers/{id}/overrides"): "edit_or_delete_configs",
    ("PATCH", "/layers/{id}/overrides"): "edit_or_delete_configs",
    ("POST", "/layers/{id}/overrides"): "edit_or_delete_configs",
    ("POST", "/metrics"): "metric_management",
    ("DELETE", "/metrics/{id}"): "metric_management",
    ("POST", "/metrics/{id}"): "metric_management",
    ("POST", "/metrics/{id}/reload"): "edit_or_delete_configs",
    ("PUT", "/metrics/{id}/cancel_archive"): "metric_management",
    ("PUT", "/metrics/{id}/schedule_archive"): "metric_management",
    **{
        (method, path): "data_warehouse_ingestion_and_exports_edit_access"
        for method, path in (
            ("POST", "/ingestion"),
            ("PATCH", "/ingestion"),
            ("DELETE", "/ingestion"),
            ("POST", "/ingestion/backfill"),
            ("POST", "/ingestion/connection/databricks"),
            ("POST", "/ingestion/schedule"),
        )
    },
    ("PUT", "/metrics/{id}/unarchive"): "metric_management",
    ("POST", "/param_stores"): "create_configs",
    ("DELETE", "/param_stores/{name}"): "edit_or_delete_configs",
    ("POST", "/param_stores/{name}"): "edit_or_delete_configs",
    ("POST", "/roles"): PROJECT_ADMIN,
    ("DELETE", "/roles/{id}"): PROJECT_ADMIN,
    ("PATCH", "/roles/{id}"): PROJECT_ADMIN,
    ("POST", "/segments"): "create_configs",
    ("DELETE", "/segments/{id}"): "edit_or_delete_configs",
    ("PATCH", "/segments/{id}/add_ids"): "edit_or_delete_configs",
    ("PUT", "/segments/{id}/archive"): "edit_or_delete_configs",
    ("POST", "/segments/{id}/conditional"): "edit_or_delete_configs",
    ("DELETE", "/segments/{id}/id_list"): "edit_or_delete_configs",
    ("PATCH", "/segments/{id}/id_list"): "edit_or_delete_configs",
    ("POST", "/segments/{id}/id_list/reset"): "edit_or_delete_configs",
    ("PATCH", "/segments/{id}/remove_ids"): "edit_or_delete_configs",
    ("POST", "/settings/project"): PROJECT_ADMIN,
    ("POST", "/settings/roles"): PROJECT_ADMIN,
    ("POST", "/settings/teams"): PROJECT_ADMIN,
    ("POST", "/tags"): "create_configs",
    ("PATCH", "/wh_connections"): "whn_connection",
    ("POST", "/experiments/assignment_sources"): "source_connection_and_creation",
    ("POST", "/experiments/assignment_source/{name}"): "source_connection_and_creation",
    ("PATCH", "/experiments/assignment_source/{name}"): "source_connection_and_creation",
    ("DELETE", "/experiments/assignment_source/{name}"): "source_connection_and_creation",
    ("POST", "/experiments/entity_properties"): "source_connection_and_creation",
    ("POST", "/experiments/entity_property/{name}"): "source_connection_and_creation",
    ("PATCH", "/experiments/entity_property/{name}"): "source_connection_and_creation",
    ("DELETE", "/experiments/entity_property/{name}"): "source_connection_and_creation",
    ("POST", "/experiments/qualifying_events"): "source_connection_and_creation",
    ("POST", "/experiments/qualifying_events/{name}"): "source_connection_and_creation",
    ("DELETE", "/experiments/qualifying_events/{name}"): "source_connection_and_creation",
    ("POST", "/metrics/metric_source"): "source_connection_and_creation",
    ("POST", "/metrics/metric_source/{name}"): "source_connection_and_creation",
    ("DELETE", "/metrics/metric_source/{name}"): "source_connection_and_creation",
    ("DELETE", "/tags/{id}"): "edit_or_delete_configs",
    ("PATCH", "/tags/{id}"): "edit_or_delete_configs",
    ("PATCH", "/target_app"): "edit_or_delete_configs",
    ("POST", "/target_app"): "edit_or_delete_configs",
    ("DELETE", "/target_app/{id}"): PROJECT_ADMIN,
    ("PATCH", "/target_app/{id}"): PROJECT_ADMIN,
    ("POST", "/unit_id_types"): PROJECT_ADMIN,
    ("DELETE", "/unit_id_types/{id}"): PROJECT_ADMIN,
    ("PATCH", "/unit_id_types/{id}"): PROJECT_ADMIN,
    ("POST", "/users/invite"): "invitation_access",
    ("POST", "/users/teams"): "create_teams",
    ("DELETE", "/users/teams/{id}"): "create_teams",
    ("PATCH", "/users/teams/{id}"): "create_teams",
    ("POST", "/users/{email}"): "invitation_access",
}


def requirement(method: str, template: str) -> str | None:
    """What ``method`` on ``template`` requires; None for a read open to every member."""
    found = REQUIRED.get((method, template))
    if found is not None:
        return found
    return None if method in ("GET", "HEAD", "OPTIONS") else PROJECT_ADMIN


def holds(actor: Actor, need: str) -> bool:
    if need == PROJECT_ADMIN:
        # A read-only personal key never gets this far with a mutation (context.py refuses it),
        # so the role alone decides: an Admin's read-only key still reads /keys.
        return actor.role in PROJECT_ADMIN_ROLES
    return actor.can(need)


def check(actor: Actor, method: str, template: str) -> None:
    """Refuse (403 naming what is missing) an operation the user's role does not allow."""
    if not actor.is_user:
        return
    need = requirement(method, template)
    if need is not None and not holds(actor, need):
        raise Forbidden(f"{FORBIDDEN_TEXT} Missing permission: {need} (role {actor.role}).")
