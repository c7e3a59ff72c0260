"""Wire shapes of the Users, Roles and Settings resources (docs/console.md §Users and teams)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ChangeTeamConfigs = Literal["anyone", "team_only"]
ReviewApproval = Literal["anyone", "team_only", "admin_only"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class UserUpdate(_Body):
    role: str | None = Field(None, min_length=1, max_length=100)
    first_name: str | None = Field(None, alias="firstName", max_length=200)
    last_name: str | None = Field(None, alias="lastName", max_length=200)


class UserInvites(_Body):
    role: str = Field(min_length=1, max_length=100)
    emails: list[str] = Field(min_length=1, max_length=500)
    teams: list[str] | None = Field(None, max_length=100)


class MetricRef(_Body):
    name: str = Field(min_length=1, max_length=300)
    type: str = Field(min_length=1, max_length=100)


class TeamPatch(_Body):
    """A team's fields; lists replace what the team had (docs/console.md §Users and teams)."""

    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=1000)
    members: list[str] | None = Field(None, max_length=1000)
    admins: list[str] | None = Field(None, max_length=1000)
    default_gate_metrics: list[MetricRef] | None = Field(None, alias="defaultGateMetrics")
    default_experiment_primary_metrics: list[MetricRef] | None = Field(
        None, alias="defaultExperimentPrimaryMetrics"
    )
    default_experiment_secondary_metrics: list[MetricRef] | None = Field(
        None, alias="defaultExperimentSecondaryMetrics"
    )
    default_holdout_metrics: list[MetricRef] | None = Field(None, alias="defaultHoldoutMetrics")
    change_team_configs: ChangeTeamConfigs | None = Field(None, alias="changeTeamConfigs")
    review_approval: ReviewApproval | None = Field(None, alias="reviewApproval")
    default_target_applications: list[str] | None = Field(None, alias="defaultTargetApplications")
    default_holdout_id: str | None = Field(None, alias="defaultHoldoutID")
    require_reviews: bool | None = Field(None, alias="requireReviews")
    require_gate_templates: bool | None = Field(None, alias="requireGateTemplates")
    require_experiment_templates: bool | None = Field(None, alias="requireExperimentTemplates")
    require_dynamic_config_templates: bool | None = Field(
        None, alias="requireDynamicConfigTemplates"
    )


class TeamCreate(TeamPatch):
    name: str = Field(min_length=1, max_length=100)
    members: list[str] = Field(max_length=1000)
    admins: list[str] = Field(max_length=1000)
    default_gate_metrics: list[MetricRef] = Field(alias="defaultGateMetrics")
    default_experiment_primary_metrics: list[MetricRef] = Field(
        alias="defaultExperimentPrimaryMetrics"
    )
    default_experiment_secondary_metrics: list[MetricRef] = Field(
        alias="defaultExperimentSecondaryMetrics"
    )
    default_holdout_metrics: list[MetricRef] = Field(alias="defaultHoldoutMetrics")
    change_team_configs: ChangeTeamConfigs = Field(alias="changeTeamConfigs")
    review_approval: ReviewApproval = Field(alias="reviewApproval")
    default_target_applications: list[str] = Field(alias="defaultTargetApplications")


class RoleCreate(_Body):
    name: str = Field(min_length=1, max_length=100)
    permissions: dict[str, bool]


class RoleUpdate(_Body):
    permissions: dict[str, bool]


class ProjectSettings(_Body):
    name: str = Field(min_length=1, max_length=200)
    visibility: str
    default_unit_type: str | None = Field(None, max_length=100)


class RolesSettings(_Body):
    default_project_role: str = Field(min_length=1, max_length=100)


class TeamsSettings(_Body):
    require_teams_on_configs: bool
