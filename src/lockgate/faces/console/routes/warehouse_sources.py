"""Warehouse-native sources: assignment sources, entity property sources and qualifying events
under ``/console/v1/experiments/...``, metric sources under ``/console/v1/metrics/...``
(docs/warehouse.md §Sources)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from lockgate.domains.warehouse import sources
from lockgate.domains.warehouse.adapters import Warehouse
from lockgate.domains.warehouse.service import open_warehouse
from lockgate.domains.warehouse.source_schemas import (
    AssignmentSourceFields,
    EntityPropertySourceFields,
    MetricSourceFields,
)
from lockgate.domains.warehouse.sources import (
    ASSIGNMENT,
    ENTITY_PROPERTY,
    METRIC,
    QUALIFYING_EVENT,
    SourceKind,
)
from lockgate.faces.console.context import Console
from lockgate.faces.console.envelope import Page, message_only, page_params, paginated, single
from lockgate.kit.secretbox import SecretBox, load_key

router = APIRouter(tags=["Warehouse Native sources"])


def _opener(ctx: Console, session: Session) -> sources.OpenWarehouse:
    def open_() -> Warehouse:
        settings = ctx.settings
        key = load_key(settings.warehouse_secret_key.get_secret_value(), settings.data_dir)
        return open_warehouse(
            session, ctx.project_id, SecretBox(key), settings.resolved_warehouse_files_dir
        )

    return open_


# The warehouse may take seconds to answer the query's check: it runs between a read and a
# short write, holding no transaction (on SQLite one would keep every other writer waiting).


def _create(ctx: Console, kind: SourceKind, body: Any, message: str) -> dict[str, Any]:
    now_ms = ctx.now_ms()
    with ctx.database.transaction(write=False) as session:
        plan = sources.plan_create(
            session, ctx.project_id, now_ms, kind, body, _opener(ctx, session)
        )
    columns = sources.columns_in_warehouse(plan)
    created = sources.create(ctx.session, ctx.project_id, ctx.actor, now_ms, plan, columns)
    return single(message, created)


def _replace(ctx: Console, kind: SourceKind, name: str, body: Any, message: str) -> dict[str, Any]:
    now_ms = ctx.now_ms()
    with ctx.database.transaction(write=False) as session:
        opener = _opener(ctx, session)
        plan = sources.plan_replace(session, ctx.project_id, now_ms, kind, name, body, opener)
    columns = sources.columns_in_warehouse(plan)
    changed = sources.replace_query(
        ctx.session, ctx.project_id, ctx.actor, now_ms, name, plan, columns
    )
    return single(message, changed)


def _patch(ctx: Console, kind: SourceKind, name: str, body: Any, message: str) -> dict[str, Any]:
    changed = sources.patch(ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), kind, name, body)
    return single(message, changed)


def _list(
    ctx: Console, request: Request, page: Page, kind: SourceKind, message: str
) -> dict[str, Any]:
    data, total = sources.list_(
        ctx.session, ctx.project_id, kind, offset=page.offset, limit=page.limit
    )
    return paginated(message, data, total, page, request)


def _delete(ctx: Console, kind: SourceKind, name: str, message: str) -> dict[str, Any]:
    sources.delete(ctx.session, ctx.project_id, ctx.actor, ctx.now_ms(), kind, name)
    return message_only(message)


# -- assignment sources ---------------------------------------------------------------------------


@router.get("/experiments/assignment_sources")
def list_assignment_sources(
    ctx: Console, request: Request, page: Page = Depends(page_params)
) -> dict[str, Any]:
    return _list(ctx, request, page, ASSIGNMENT, "Assignment Sources listed successfully.")


@router.post("/experiments/assignment_sources", status_code=201)
def create_assignment_source(ctx: Console, body: AssignmentSourceFields) -> dict[str, Any]:
    return _create(ctx, ASSIGNMENT, body, "Assignment Source created successfully")


@router.post("/experiments/assignment_source/{name}")
def replace_assignment_source(
    ctx: Console, name: str, body: AssignmentSourceFields
) -> dict[str, Any]:
    return _replace(ctx, ASSIGNMENT, name, body, "Assignment Source updated successfully")


@router.patch("/experiments/assignment_source/{name}")
def patch_assignment_source(
    ctx: Console, name: str, body: AssignmentSourceFields
) -> dict[str, Any]:
    return _patch(ctx, ASSIGNMENT, name, body, "Assignment Source updated successfully")


@router.delete("/experiments/assignment_source/{name}")
def delete_assignment_source(ctx: Console, name: str) -> dict[str, Any]:
    return _delete(ctx, ASSIGNMENT, name, "Assignment source deleted successfully.")


# -- entity property sources ----------------------------------------------------------------------


@router.get("/experiments/entity_properties")
def list_entity_property_sources(
    ctx: Console, request: Request, page: Page = Depends(page_params)
) -> dict[str, Any]:
    return _list(
        ctx, request, page, ENTITY_PROPERTY, "Entity Property Sources listed successfully."
    )


@router.post("/experiments/entity_properties", status_code=201)
def create_entity_property_source(ctx: Console, body: EntityPropertySourceFields) -> dict[str, Any]:
    return _create(ctx, ENTITY_PROPERTY, body, "Entity Property Source created successfully")


@router.get("/experiments/entity_property/{name}")
def read_entity_property_source(ctx: Console, name: str) -> dict[str, Any]:
    found = sources.read(ctx.session, ctx.project_id, ENTITY_PROPERTY, name)
    return single("Entity Property Source read successfully.", found)


@router.post("/experiments/entity_property/{name}")
def replace_entity_property_source(
    ctx: Console, name: str, body: EntityPropertySourceFields
) -> dict[str, Any]:
    return _replace(
        ctx, ENTITY_PROPERTY, name, body, "Entity Property Sources updated successfully."
    )


@router.patch("/experiments/entity_property/{name}")
def patch_entity_property_source(
    ctx: Console, name: str, body: EntityPropertySourceFields
) -> dict[str, Any]:
    return _patch(ctx, ENTITY_PROPERTY, name, body, "Entity Property Source updated successfully")


@router.delete("/experiments/entity_property/{name}")
def delete_entity_property_source(ctx: Console, name: str) -> dict[str, Any]:
    return _delete(ctx, ENTITY_PROPERTY, name, "Entity property source deleted successfully.")


# -- qualifying events ----------------------------------------------------------------------------


@router.get("/experiments/qualifying_events")
def list_qualifying_events(
    ctx: Console, request: Request, page: Page = Depends(page_params)
) -> dict[str, Any]:
    return _list(ctx, request, page, QUALIFYING_EVENT, "Qualifying events listed successfully.")


@router.post("/experiments/qualifying_events", status_code=201)
def create_qualifying_event(ctx: Console, body: MetricSourceFields) -> dict[str, Any]:
    return _create(ctx, QUALIFYING_EVENT, body, "Qualifying event created successfully.")


@router.get("/experiments/qualifying_events/{name}")
def read_qualifying_event(ctx: Console, name: str) -> dict[str, Any]:
    found = sources.read(ctx.session, ctx.project_id, QUALIFYING_EVENT, name)
    return single("Qualifying event read successfully.", found)


@router.post("/experiments/qualifying_events/{name}")
def replace_qualifying_event(ctx: Console, name: str, body: MetricSourceFields) -> dict[str, Any]:
    return _replace(ctx, QUALIFYING_EVENT, name, body, "Qualifying event updated successfully.")


@router.delete("/experiments/qualifying_events/{name}")
def delete_qualifying_event(ctx: Console, name: str) -> dict[str, Any]:
    return _delete(ctx, QUALIFYING_EVENT, name, "Qualifying event deleted successfully.")


# -- metric sources -------------------------------------------------------------------------------


@router.post("/metrics/metric_source", status_code=201)
def create_metric_source(ctx: Console, body: MetricSourceFields) -> dict[str, Any]:
    return _create(ctx, METRIC, body, "Metric source created successfully.")


@router.get("/metrics/metric_source/list")
def list_metric_sources(
    ctx: Console, request: Request, page: Page = Depends(page_params)
) -> dict[str, Any]:
    return _list(ctx, request, page, METRIC, "Metric sources listed successfully.")


@router.get("/metrics/metric_source/{name}")
def read_metric_source(ctx: Console, name: str) -> dict[str, Any]:
    found = sources.read(ctx.session, ctx.project_id, METRIC, name)
    return single("Metric source read successfully.", found)


@router.post("/metrics/metric_source/{name}")
def replace_metric_source(ctx: Console, name: str, body: MetricSourceFields) -> dict[str, Any]:
    return _replace(ctx, METRIC, name, body, "Metric source updated successfully.")


@router.delete("/metrics/metric_source/{name}")
def delete_metric_source(ctx: Console, name: str) -> dict[str, Any]:
    return _delete(ctx, METRIC, name, "Metric source deleted successfully.")


@router.get("/metrics/metric_source/{name}/metrics")
def list_metric_source_metrics(
    ctx: Console, request: Request, name: str, page: Page = Depends(page_params)
) -> dict[str, Any]:
    data, total = sources.metrics_of(
        ctx.session, ctx.project_id, name, offset=page.offset, limit=page.limit
    )
    return paginated("Metrics listed successfully.", data, total, page, request)
