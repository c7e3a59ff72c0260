"""The permission keys and the built-in roles' permissions (docs/console.md §Roles).

Statsig does not publish the built-in roles' bits; the table is Lockgate's choice
(docs/compatibility.md §People). Owner is Admin plus everything.
"""

from __future__ import annotations

from typing import Final

# Every permission key a role may hold: the 27 of the Console API's role schema and the two
# more that Statsig's Terraform provider sends.
PERMISSION_KEYS: Final = (
    "invitation_access",
    "create_configs",
    "edit_or_delete_configs",
    "launch_to_production",
    "launch_or_disable_configs",
    "start_experiments",
    "create_or_edit_templates",
    "create_or_edit_dashboards",
    "create_teams",
    "edit_dynamic_config_schemas",
    "create_release_pipelines",
    "approve_required_review_release_pipeline_phase",
    "self_approve_review",
    "approve_reviews",
    "bypass_reviews_for_overrides",
    "metric_management",
    "event_dimensions_access",
    "verify_metrics",
    "use_metrics_explorer",
    "local_metrics",
    "manage_alerts",
    "integrations_edit_access",
    "source_connection_and_creation",
    "data_warehouse_ingestion_and_exports_edit_access",
    "edit_and_tag_configs_with_core_tag",
    "reset_experiments",
    "manual_whn_reload",
    "bypass_precommit_webhook",
    "whn_connection",
)
PERMISSIONS: Final = frozenset(PERMISSION_KEYS)

OWNER: Final = "Owner"
ADMIN: Final = "Admin"
MEMBER: Final = "Member"
READ_ONLY: Final = "Read Only"

_MEMBER: Final = frozenset(
    {
        "create_configs",
        "edit_or_delete_configs",
        "launch_to_production",
        "launch_or_disable_configs",
        "start_experiments",
        "create_or_edit_templates",
        "create_or_edit_dashboards",
        "edit_dynamic_config_schemas",
        "approve_reviews",
        "metric_management",
        "local_metrics",
        "use_metrics_explorer",
        "manage_alerts",
    }
)
_ADMIN: Final = _MEMBER | {
    "invitation_access",
    "reset_experiments",
    "create_teams",
    "create_release_pipelines",
    "approve_required_review_release_pipeline_phase",
    "verify_metrics",
    "event_dimensions_access",
    "edit_and_tag_configs_with_core_tag",
    "integrations_edit_access",
    "source_connection_and_creation",
    "data_warehouse_ingestion_and_exports_edit_access",
    "manual_whn_reload",
    "whn_connection",
}

BUILT_IN_ROLES: Final[dict[str, frozenset[str]]] = {
    OWNER: PERMISSIONS,
    ADMIN: frozenset(_ADMIN),
    MEMBER: _MEMBER,
    READ_ONLY: frozenset(),
}
# The built-in roles that administer the project (settings, keys, environments).
PROJECT_ADMIN_ROLES: Final = frozenset({OWNER, ADMIN})
# Roles a user may be given through the API or the CLI (Owner is the project's creator only).
ASSIGNABLE_BUILT_IN: Final = (ADMIN, MEMBER, READ_ONLY)


def built_in_role(name: str) -> str | None:
    """The canonical spelling of a built-in role named in any case, or None."""
    lowered = name.strip().lower()
    return next((role for role in BUILT_IN_ROLES if role.lower() == lowered), None)
