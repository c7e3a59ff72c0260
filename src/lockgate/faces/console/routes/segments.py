"""The Segments resource: ``/console/v1/segments`` and its rule and id-list endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request

from lockgate.domains.reviews.service import with_active_review, with_active_reviews
from lockgate.domains.segments import id_lists, service
from lockgate.domains.segments.schemas import IdsBody, SegmentCreate, UserStoreIdsBody
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import Page, message_only, page_params, paginated, single

router = APIRouter(tags=["Segments"])

ADDED = "IDs successfully added to Segment ID List"
REMOVED = "IDs successfully removed from Segment ID List"


@router.get("/segments")
def list_segments(
    ctx: Console, request: Request, page: Page = Depends(page_params)
) -> dict[str, Any]:
    data, total = service.list_(ctx.session, ctx.project_id, offset=page.offset, limit=page.limit)
    data = with_active_reviews(ctx.session, ctx.project_id, "segment", data)
    return paginated("Segments listed successfully.", data, total, page, request)


@router.post("/segments", status_code=201)
def create_segment(ctx: Console, body: SegmentCreate) -> dict[str, Any]:
    row = service.create(ctx.session, ctx.change, body)
    return single("Segment created successfully.", service.segment_dto(row))


@router.get("/segments/{id}")
def read_segment(ctx: Console, id: str) -> dict[str, Any]:
    return single(
        "Segment read successfully.",
        with_active_review(
            ctx.session, ctx.project_id, "segment", service.read(ctx.session, ctx.project_id, id)
        ),
    )


@router.delete("/segments/{id}")
def delete_segment(ctx: Console, id: str) -> dict[str, Any]:
    service.delete(ctx.session, ctx.change, id)
    return message_only("Segment deleted successfully.")


@router.put("/segments/{id}/archive")
def archive_segment(ctx: Console, id: str) -> dict[str, Any]:
    row = service.archive(ctx.session, ctx.change, id)
    return single("Segment archived successfully.", service.segment_dto(row))


@router.post("/segments/{id}/conditional")
def update_segment_rules(ctx: Console, id: str, body: Annotated[Any, Body()]) -> dict[str, Any]:
    row = service.update_rules(ctx.session, ctx.change, id, body)
    return single("Rules successfully updated", service.segment_dto(row))


@router.get("/segments/{id}/id_list")
def read_id_list(
    ctx: Console, request: Request, id: str, page: Page = Depends(page_params)
) -> dict[str, Any]:
    found = id_lists.read_page(
        ctx.session, ctx.project_id, id, offset=page.offset, limit=page.limit
    )
    response = paginated("IDs read successfully", found.ids, found.count, page, request)
    # IDListDto: the page's ids inside one object, not an array of items.
    response["data"] = found.dto()
    return response


@router.patch("/segments/{id}/id_list")
def add_ids(ctx: Console, id: str, body: IdsBody) -> dict[str, Any]:
    id_lists.add_ids(ctx.session, ctx.change, id, body.ids)
    return message_only(ADDED)


@router.delete("/segments/{id}/id_list")
def remove_ids(ctx: Console, id: str, body: IdsBody | None = None) -> dict[str, Any]:
    # The spec documents no body here, but the ids to remove have to come from somewhere.
    id_lists.remove_ids(ctx.session, ctx.change, id, body.ids if body is not None else None)
    return message_only(REMOVED)


@router.post("/segments/{id}/id_list/reset")
def reset_ids(ctx: Console, id: str, body: IdsBody) -> dict[str, Any]:
    id_lists.reset_ids(ctx.session, ctx.change, id, body.ids)
    return message_only("Segment Reset reset successfully.")


@router.get("/segments/{id}/idlist_metadata")
def read_id_list_metadata(ctx: Console, id: str) -> dict[str, Any]:
    data = id_lists.metadata(ctx.session, ctx.project_id, id)
    return single("ID List metadata read successfully", data)


@router.patch("/segments/{id}/add_ids")
def add_user_store_ids(ctx: Console, id: str, body: UserStoreIdsBody) -> dict[str, Any]:
    id_lists.add_user_store_ids(ctx.session, ctx.change, id, body.ids, body.version)
    return message_only(ADDED)


@router.patch("/segments/{id}/remove_ids")
def remove_user_store_ids(ctx: Console, id: str, body: UserStoreIdsBody) -> dict[str, Any]:
    id_lists.remove_user_store_ids(ctx.session, ctx.change, id, body.ids, body.version)
    return message_only(REMOVED)
