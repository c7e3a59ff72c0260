"""The Dynamic Configs resource: ``/console/v1/dynamic_configs``.

Besides the 15 operations of the official spec, the five rule operations of older spec copies
(add one or several rules, update listed rules, update or delete a rule by name) are served.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from lockgate.domains.configs import service
from lockgate.domains.configs.repository import ConfigFilter
from lockgate.domains.configs.schemas import (
    ArchiveIn,
    ConfigCreate,
    ConfigFullUpdate,
    ConfigPartialUpdate,
    MultiRuleIn,
    UnarchiveIn,
)
from lockgate.domains.reviews.service import with_active_review, with_active_reviews
from lockgate.domains.rules.schemas import RuleIn
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import (
    DEFAULT_LIMIT,
    Page,
    message_only,
    multi_value,
    page_params,
    paginated,
    single,
)

router = APIRouter(prefix="/dynamic_configs", tags=["Dynamic Configs"])

READ = "Dynamic config read successfully."
UPDATED = "Dynamic config updated successfully."
RULES_READ = "Dynamic Config rules read successfully."
RULES_UPDATED = "Dynamic Config rules updated successfully."
RULES_ADDED = "Dynamic Config rules added successfully."
RULE_DELETED = "Dynamic Config rule deleted successfully."


@router.get("")
def list_configs(
    ctx: Console,
    request: Request,
    page: Page = Depends(page_params),
    releasePipelineID: str | None = None,
    creatorName: str | None = None,
    creatorID: str | None = None,
) -> dict[str, Any]:
    flt = ConfigFilter(
        creator_name=creatorName,
        creator_id=creatorID,
        release_pipeline_id=releasePipelineID,
        tags=tuple(multi_value(request, "tags")),
    )
    data, total = service.list_(
        ctx.session, ctx.project_id, flt, offset=page.offset, limit=page.limit
    )
    data = with_active_reviews(ctx.session, ctx.project_id, "dynamic_config", data)
    return paginated("Dynamic Configs listed successfully.", data, total, page, request)


@router.post("", status_code=201)
def create_config(ctx: Console, body: ConfigCreate) -> dict[str, Any]:
    data = service.create(ctx.session, ctx.change, body)
    return single("Dynamic Config created successfully.", data)


@router.get("/{id}")
def read_config(ctx: Console, id: str) -> dict[str, Any]:
    return single(
        READ,
        with_active_review(
            ctx.session,
            ctx.project_id,
            "dynamic_config",
            service.read(ctx.session, ctx.project_id, id),
        ),
    )


@router.post("/{id}")
def full_update_config(ctx: Console, id: str, body: ConfigFullUpdate) -> dict[str, Any]:
    return single(UPDATED, service.replace(ctx.session, ctx.change, id, body))


@router.patch("/{id}")
def partial_update_config(ctx: Console, id: str, body: ConfigPartialUpdate) -> dict[str, Any]:
    return single(UPDATED, service.patch(ctx.session, ctx.change, id, body))


@router.delete("/{id}")
def delete_config(ctx: Console, id: str) -> dict[str, Any]:
    service.delete(ctx.session, ctx.change, id)
    return message_only("Dynamic Config deleted successfully.")


@router.put("/{id}/enable")
def enable_config(ctx: Console, id: str) -> dict[str, Any]:
    data = service.enable(ctx.session, ctx.change, id)
    return single("Dynamic config enabled successfully.", data)


@router.put("/{id}/disable")
def disable_config(ctx: Console, id: str) -> dict[str, Any]:
    data = service.disable(ctx.session, ctx.change, id)
    return single("Dynamic config disabled successfully.", data)


@router.put("/{id}/archive")
def archive_config(ctx: Console, id: str, body: ArchiveIn | None = None) -> dict[str, Any]:
    data = service.archive(ctx.session, ctx.change, id, body or ArchiveIn())
    return single("Dynamic config archived successfully.", data)


@router.put("/{id}/unarchive")
def unarchive_config(ctx: Console, id: str, body: UnarchiveIn | None = None) -> dict[str, Any]:
    data = service.unarchive(ctx.session, ctx.change, id, body or UnarchiveIn())
    return single("Dynamic config unarchived successfully.", data)


@router.get("/{id}/versions")
def list_versions(
    ctx: Console, id: str, request: Request, page: Page = Depends(page_params)
) -> dict[str, Any]:
    data, total = service.list_versions(
        ctx.session, ctx.project_id, id, offset=page.offset, limit=page.limit
    )
    return paginated("Dynamic Config versions listed successfully.", data, total, page, request)


@router.get("/{id}/rules")
def read_rules(ctx: Console, id: str, request: Request) -> dict[str, Any]:
    rules = service.read_rules(ctx.session, ctx.project_id, id)
    # One DynamicConfigRulesDto holding every rule, in a list envelope (as Statsig answers).
    return paginated(RULES_READ, [{"rules": rules}], 1, Page(DEFAULT_LIMIT, 1), request)


@router.post("/{id}/rules")
def add_rules(ctx: Console, id: str, body: MultiRuleIn) -> dict[str, Any]:
    return single(RULES_ADDED, service.add_rules(ctx.session, ctx.change, id, body.rules))


@router.patch("/{id}/rules")
def update_rules(ctx: Console, id: str, body: MultiRuleIn) -> dict[str, Any]:
    return single(RULES_UPDATED, service.update_rules(ctx.session, ctx.change, id, body.rules))


@router.post("/{id}/rule")
def add_rule(ctx: Console, id: str, body: RuleIn) -> dict[str, Any]:
    return single(RULES_ADDED, service.add_rules(ctx.session, ctx.change, id, [body]))


@router.patch("/{id}/rule/name/{ruleName}")
def update_rule_by_name(ctx: Console, id: str, ruleName: str, body: RuleIn) -> dict[str, Any]:
    data = service.update_rule_by_name(ctx.session, ctx.change, id, ruleName, body)
    return single(RULES_UPDATED, data)


@router.delete("/{id}/rule/name/{ruleName}")
def delete_rule_by_name(ctx: Console, id: str, ruleName: str) -> dict[str, Any]:
    data = service.delete_rule_by_name(ctx.session, ctx.change, id, ruleName)
    return single(RULE_DELETED, data)


@router.get("/{id}/rule/{ruleId}")
def read_rule(ctx: Console, id: str, ruleId: str) -> dict[str, Any]:
    return single(RULES_READ, service.read_rule(ctx.session, ctx.project_id, id, ruleId))


@router.patch("/{id}/rule/{ruleId}")
def update_rule(ctx: Console, id: str, ruleId: str, body: RuleIn) -> dict[str, Any]:
    return single(RULES_UPDATED, service.update_rule(ctx.session, ctx.change, id, ruleId, body))


@router.delete("/{id}/rule/{ruleId}")
def delete_rule(ctx: Console, id: str, ruleId: str) -> dict[str, Any]:
    return single(RULE_DELETED, service.delete_rule(ctx.session, ctx.change, id, ruleId))
