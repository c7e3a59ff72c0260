"""Review settings (``/settings/reviews``), change validation (``/change_validation``) and the
review endpoints of gates, dynamic configs, segments and experiments (docs/console.md
§Reviews)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from lockgate.domains.reviews import service, validation
from lockgate.domains.reviews import settings as review_settings
from lockgate.domains.reviews.schemas import (
    ApproveIn,
    ChangeValidationIn,
    ChangeValidationMessageIn,
    RejectIn,
    ReviewCreate,
    ReviewSettingsIn,
    ReviewUpdate,
)
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import Page, message_only, page_params, paginated, single

router = APIRouter(tags=["Reviews"])

# Path segment → entity type.
KINDS = {
    "gates": "gate",
    "dynamic_configs": "dynamic_config",
    "segments": "segment",
    "experiments": "experiment",
}


@router.get("/settings/reviews", tags=["Settings"])
def read_review_settings(ctx: Console) -> dict[str, Any]:
    return single("Settings read successfully.", review_settings.read(ctx.session, ctx.project_id))


@router.post("/settings/reviews", tags=["Settings"])
def update_review_settings(ctx: Console, body: ReviewSettingsIn) -> dict[str, Any]:
    data = review_settings.replace(ctx.session, ctx.change, body)
    return single("Settings updated successfully.", data)


@router.post("/change_validation", tags=["Change Validation"])
def change_validation(ctx: Console, body: ChangeValidationIn) -> dict[str, Any]:
    validation.validate(ctx.session, ctx.change, body)
    return message_only("Validation status updated successfully")


@router.patch("/change_validation/message", tags=["Change Validation"])
def change_validation_message(ctx: Console, body: ChangeValidationMessageIn) -> dict[str, Any]:
    validation.update_message(ctx.session, ctx.change, body)
    return message_only("Validation message updated successfully")


def _add_review_routes(segment: str, entity_type: str) -> None:
    label = service.LABELS[entity_type]
    base = f"/{segment}/{{id}}/reviews"

    def create_review(ctx: Console, id: str, body: ReviewCreate) -> dict[str, Any]:
        review = service.create(ctx.session, ctx.change, entity_type, id, body)
        return single(f"{label} review created successfully.", service.review_dto(review))

    def list_reviews(
        ctx: Console, id: str, request: Request, page: Page = Depends(page_params)
    ) -> dict[str, Any]:
        data, total = service.list_(
            ctx.session, ctx.project_id, entity_type, id, offset=page.offset, limit=page.limit
        )
        return paginated(f"{label} reviews listed successfully.", data, total, page, request)

    def read_review(ctx: Console, id: str, reviewID: str) -> dict[str, Any]:
        review = service.load(ctx.session, ctx.project_id, entity_type, id, reviewID)
        return single(f"{label} review read successfully.", service.review_dto(review))

    def update_review(ctx: Console, id: str, reviewID: str, body: ReviewUpdate) -> dict[str, Any]:
        review = service.update(ctx.session, ctx.change, entity_type, id, reviewID, body)
        return single(f"{label} review updated successfully.", service.review_dto(review))

    def approve_review(ctx: Console, id: str, reviewID: str, body: ApproveIn) -> dict[str, Any]:
        review = service.approve(
            ctx.session, ctx.change, ctx.approver, entity_type, id, reviewID, body.reason
        )
        return single(f"{label} review approved successfully.", service.review_dto(review))

    def reject_review(ctx: Console, id: str, reviewID: str, body: RejectIn) -> dict[str, Any]:
        review = service.reject(
            ctx.session, ctx.change, ctx.approver, entity_type, id, reviewID, body.reason
        )
        return single(f"{label} review rejected successfully.", service.review_dto(review))

    def commit_review(ctx: Console, id: str, reviewID: str) -> dict[str, Any]:
        message = service.commit(
            ctx.session,
            ctx.change,
            ctx.approver,
            entity_type,
            id,
            reviewID,
            validation_timeout_ms=ctx.settings.precommit_validation_timeout_ms,
        )
        return message_only(message)

    tags: list[str | Any] = [label + "s"]
    name = entity_type
    router.add_api_route(
        base,
        create_review,
        methods=["POST"],
        status_code=201,
        tags=tags,
        name=f"create_{name}_review",
    )
    router.add_api_route(
        base, list_reviews, methods=["GET"], tags=tags, name=f"list_{name}_reviews"
    )
    router.add_api_route(
        f"{base}/{{reviewID}}", read_review, methods=["GET"], tags=tags, name=f"read_{name}_review"
    )
    router.add_api_route(
        f"{base}/{{reviewID}}",
        update_review,
        methods=["PUT"],
        tags=tags,
        name=f"update_{name}_review",
    )
    router.add_api_route(
        f"{base}/{{reviewID}}/approve",
        approve_review,
        methods=["PUT"],
        tags=tags,
        name=f"approve_{name}_review",
    )
    router.add_api_route(
        f"{base}/{{reviewID}}/reject",
        reject_review,
        methods=["PUT"],
        tags=tags,
        name=f"reject_{name}_review",
    )
    router.add_api_route(
        f"{base}/{{reviewID}}/commit",
        commit_review,
        methods=["PUT"],
        tags=tags,
        name=f"commit_{name}_review",
    )


for _segment, _entity_type in KINDS.items():
    _add_review_routes(_segment, _entity_type)
