"""The Ingestions resource: ``/console/v1/ingestion...`` (docs/warehouse.md §Ingestions).
Sources are named by ``type``, ``dataset`` and ``source_name`` query parameters; literal paths
(``/ingestion/runs``...) are distinct routes, so their order does not matter."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from lockgate.domains.ingestions import connections, runs, service
from lockgate.domains.ingestions.connections import Keys
from lockgate.domains.ingestions.schemas import (
    Backfill,
    DatabricksConnection,
    Dataset,
    ScheduleUpdate,
    SourceCreate,
    SourceType,
    SourceUpdate,
)
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import Page, multi_value, page_params, paginated, single

router = APIRouter(tags=["Ingestions"])


def _name() -> Any:
    return Query(None, max_length=200)


def _day() -> Any:
    # A new Query per parameter: FastAPI keeps each parameter's name on its Query object.
    return Query(max_length=10, description="YYYY-MM-DD")


@router.get("/ingestion")
def read_ingestion(
    ctx: Console, type: SourceType, dataset: Dataset, source_name: str | None = _name()
) -> dict[str, Any]:
    row = service.find(ctx.session, ctx.project_id, type, dataset, source_name)
    return single("Ingestion read successfully.", service.source_dto(ctx.session, row))


@router.post("/ingestion")
def create_ingestion(ctx: Console, body: SourceCreate) -> dict[str, Any]:
    keys = Keys.from_settings(ctx.settings)
    # The check in the warehouse holds no transaction of Lockgate's (docs/warehouse.md).
    with ctx.database.transaction(write=False) as session:
        plan = service.plan_create(session, ctx.project_id, body, keys)
    service.check_in_warehouse(plan, keys)
    data = service.create(ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), body, plan)
    return single("Ingestion created successfully.", data)


@router.patch("/ingestion")
def update_ingestion(ctx: Console, body: SourceUpdate) -> dict[str, Any]:
    keys = Keys.from_settings(ctx.settings)
    with ctx.database.transaction(write=False) as session:
        plan = service.plan_update(session, ctx.project_id, body, keys)
    service.check_in_warehouse(plan, keys)
    data = service.update(ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), body, plan)
    return single("Ingestion updated successfully.", data)


@router.delete("/ingestion")
def delete_ingestion(
    ctx: Console, type: SourceType, dataset: Dataset, source_name: str | None = _name()
) -> dict[str, Any]:
    data = service.delete(
        ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), type, dataset, source_name
    )
    return single("Ingestion deleted successfully.", data)


@router.post("/ingestion/backfill")
def backfill_ingestion(ctx: Console, body: Backfill) -> dict[str, Any]:
    data = runs.backfill(ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), body)
    return single("Ingestion backfilled successfully.", data)


@router.post("/ingestion/connection/databricks")
def create_databricks_connection(ctx: Console, body: DatabricksConnection) -> dict[str, Any]:
    box = Keys.from_settings(ctx.settings).box
    data = connections.connect_databricks(
        ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), body, box
    )
    return single("Ingestion connection created successfully.", data)


@router.get("/ingestion/events/count")
def event_count(
    ctx: Console,
    start_date: str = _day(),
    end_date: str = _day(),
    source_name: str | None = _name(),
    event_name: str | None = _name(),
) -> dict[str, Any]:
    data = runs.event_counts(
        ctx.session, ctx.project_id, start_date, end_date, source_name, event_name
    )
    return single("Event count read successfully.", data)


@router.get("/ingestion/events/delta")
def event_delta(
    ctx: Console,
    start_date: str = _day(),
    end_date: str = _day(),
    source_name: str | None = _name(),
    event_name: str | None = _name(),
) -> dict[str, Any]:
    data = runs.event_deltas(
        ctx.session, ctx.project_id, start_date, end_date, source_name, event_name
    )
    return single("Event delta read successfully.", data)


@router.get("/ingestion/runs")
def list_runs(ctx: Console, request: Request, page: Page = Depends(page_params)) -> dict[str, Any]:
    data, total = runs.list_runs(ctx.session, ctx.project_id, page.offset, page.limit)
    return paginated("Ingestion Runs Listed Successfully.", data, total, page, request)


@router.get("/ingestion/runs/{id}")
def read_run(ctx: Console, id: str) -> dict[str, Any]:
    return single("Ingestion Run Read Successfully", runs.read_run(ctx.session, ctx.project_id, id))


@router.get("/ingestion/schedule")
def read_schedule(ctx: Console, dataset: Dataset) -> dict[str, Any]:
    data = service.schedule_dto(ctx.session, ctx.project_id, dataset)
    return single("Ingestion schedule read successfully.", data)


@router.post("/ingestion/schedule")
def update_schedule(ctx: Console, body: ScheduleUpdate) -> dict[str, Any]:
    data = service.set_schedule(ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), body)
    return single("Ingestion schedule updated successfully.", data)


@router.get("/ingestion/status")
def list_statuses(
    ctx: Console,
    request: Request,
    startDate: str = _day(),
    endDate: str = _day(),
    source: str | None = _name(),
    dataset: Dataset | None = None,
    status: str | None = Query(None, max_length=60),
    page: Page = Depends(page_params),
) -> dict[str, Any]:
    wanted = multi_value(request, "statuses")
    if status:
        wanted.append(status)
    data, total = runs.list_statuses(
        ctx.session,
        ctx.project_id,
        startDate,
        endDate,
        source=source,
        dataset=dataset,
        wanted=wanted,
        offset=page.offset,
        limit=page.limit,
    )
    return paginated("Ingestion statuses listed successfully.", data, total, page, request)
