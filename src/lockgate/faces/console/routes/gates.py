"""The Gates resource: ``/console/v1/gates`` and its sub-resources (29 operations)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from lockgate.domains.gates import gate_rules, overrides, pulse, references, repository, service
from lockgate.domains.gates.schemas import (
    GATE_TYPES,
    RATE_BUCKETS,
    TYPE_REASONS,
    ArchiveIn,
    GateCreate,
    GateFullUpdate,
    GatePartialUpdate,
    LoadPulseIn,
    MultiRuleIn,
    OverridesIn,
    ResolveAlertIn,
    UnarchiveIn,
)
from lockgate.domains.reviews.service import with_active_review, with_active_reviews
from lockgate.domains.rules.schemas import RuleIn
from lockgate.errors import InvalidInput
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

router = APIRouter(tags=["Gates"])

UPDATED = "Gate updated successfully."
RULES_ADDED = "Gate rules added successfully."
MAX_REFERENCE_LIMIT = 100


def _one_of(name: str, values: list[str], allowed: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        if value not in allowed:
            raise InvalidInput.field(
                name, f"{value!r} is not one of {', '.join(allowed)}", location="query"
            )
    return tuple(values)


def reference_page(page: Page = Depends(page_params)) -> Page:
    """The references lists cap ``limit`` at 100."""
    if page.limit > MAX_REFERENCE_LIMIT:
        raise InvalidInput.field(
            "limit", f"must be at most {MAX_REFERENCE_LIMIT}, got {page.limit}", location="query"
        )
    return page


def _gate(row: Any) -> dict[str, Any]:
    return service.gate_dto(row.document)


@router.get("/gates")
def list_gates(
    ctx: Console,
    request: Request,
    page: Page = Depends(page_params),
    type: str | None = Query(None),
    release_pipeline_id: str | None = Query(None, alias="releasePipelineID"),
    creator_name: str | None = Query(None, alias="creatorName"),
    creator_id: str | None = Query(None, alias="creatorID"),
) -> dict[str, Any]:
    gate_type = _one_of("type", [type], GATE_TYPES)[0] if type else None
    columns = repository.ColumnFilter(
        id_types=tuple(multi_value(request, "idType")),
        gate_type=gate_type,
        creator_name=creator_name,
        creator_id=creator_id,
        tags=tuple(multi_value(request, "tags")),
    )
    documents = service.DocumentFilter(
        type_reasons=_one_of("typeReason", multi_value(request, "typeReason"), TYPE_REASONS),
        pass_rates=_one_of("passRate", multi_value(request, "passRate"), RATE_BUCKETS),
        rollout_rates=_one_of("rolloutRate", multi_value(request, "rolloutRate"), RATE_BUCKETS),
        release_pipeline_id=release_pipeline_id,
    )
    data, total = service.list_(
        ctx.session, ctx.project_id, columns, documents, offset=page.offset, limit=page.limit
    )
    data = with_active_reviews(ctx.session, ctx.project_id, "gate", data)
    return paginated("Gates listed successfully.", data, total, page, request)


@router.post("/gates", status_code=201)
def create_gate(ctx: Console, body: GateCreate) -> dict[str, Any]:
    row = service.create(ctx.session, ctx.change, body)
    return single("Gate created successfully.", _gate(row))


@router.get("/gates/{id}")
def read_gate(ctx: Console, id: str) -> dict[str, Any]:
    return single(
        "Gate read successfully.",
        with_active_review(
            ctx.session, ctx.project_id, "gate", service.read(ctx.session, ctx.project_id, id)
        ),
    )


@router.post("/gates/{id}")
def fully_update_gate(ctx: Console, id: str, body: GateFullUpdate) -> dict[str, Any]:
    return single(UPDATED, _gate(service.replace(ctx.session, ctx.change, id, body)))


@router.patch("/gates/{id}")
def partially_update_gate(ctx: Console, id: str, body: GatePartialUpdate) -> dict[str, Any]:
    return single(UPDATED, _gate(service.patch(ctx.session, ctx.change, id, body)))


@router.delete("/gates/{id}")
def delete_gate(ctx: Console, id: str) -> dict[str, Any]:
    service.delete(ctx.session, ctx.change, id)
    return message_only("Gate deleted successfully.")


# --- lifecycle --------------------------------------------------------------------------------


@router.put("/gates/{id}/launch")
def launch_gate(ctx: Console, id: str) -> dict[str, Any]:
    return single(UPDATED, _gate(service.launch(ctx.session, ctx.change, id)))


@router.put("/gates/{id}/disable")
def disable_gate(ctx: Console, id: str) -> dict[str, Any]:
    return single(UPDATED, _gate(service.disable(ctx.session, ctx.change, id)))


@router.put("/gates/{id}/enable")
def enable_gate(ctx: Console, id: str) -> dict[str, Any]:
    return single(UPDATED, _gate(service.enable(ctx.session, ctx.change, id)))


@router.put("/gates/{id}/archive")
def archive_gate(ctx: Console, id: str, body: ArchiveIn) -> dict[str, Any]:
    return single(UPDATED, _gate(service.archive(ctx.session, ctx.change, id, body)))


@router.put("/gates/{id}/unarchive")
def unarchive_gate(ctx: Console, id: str, body: UnarchiveIn) -> dict[str, Any]:
    return single(UPDATED, _gate(service.unarchive(ctx.session, ctx.change, id, body)))


# --- rules ------------------------------------------------------------------------------------


@router.post("/gates/{id}/rule")
def add_gate_rule(ctx: Console, id: str, body: RuleIn) -> dict[str, Any]:
    return single(RULES_ADDED, _gate(gate_rules.add_rules(ctx.session, ctx.change, id, [body])))


@router.get("/gates/{id}/rules")
def read_gate_rules(ctx: Console, id: str, request: Request) -> dict[str, Any]:
    document = service.load(ctx.session, ctx.project_id, id).document
    data = [{"rules": service.gate_dto(document)["rules"]}]
    page = Page(limit=DEFAULT_LIMIT, page=1)
    return paginated("Gate rules read successfully.", data, len(data), page, request)


@router.post("/gates/{id}/rules")
def add_gate_rules(ctx: Console, id: str, body: MultiRuleIn) -> dict[str, Any]:
    return single(RULES_ADDED, _gate(gate_rules.add_rules(ctx.session, ctx.change, id, body.rules)))


@router.patch("/gates/{id}/rules")
def update_gate_rules(ctx: Console, id: str, body: MultiRuleIn) -> dict[str, Any]:
    return single(UPDATED, _gate(gate_rules.update_rules(ctx.session, ctx.change, id, body.rules)))


@router.patch("/gates/{id}/rules/{ruleID}")
def update_gate_rule(ctx: Console, id: str, ruleID: str, body: RuleIn) -> dict[str, Any]:
    return single(UPDATED, _gate(gate_rules.update_rule(ctx.session, ctx.change, id, ruleID, body)))


@router.delete("/gates/{id}/rules/{ruleID}")
def delete_gate_rule(ctx: Console, id: str, ruleID: str) -> dict[str, Any]:
    return single(UPDATED, _gate(gate_rules.delete_rule(ctx.session, ctx.change, id, ruleID)))


# --- overrides (every answer is 201, as the spec documents) -----------------------------------


@router.get("/gates/{id}/overrides", status_code=201)
def read_gate_overrides(ctx: Console, id: str) -> dict[str, Any]:
    document = service.load(ctx.session, ctx.project_id, id).document
    return single("Gate Overrides read successfully.", overrides.overrides_of(document))


@router.post("/gates/{id}/overrides", status_code=201)
def replace_gate_overrides(ctx: Console, id: str, body: OverridesIn) -> dict[str, Any]:
    data = overrides.change_overrides(ctx.session, ctx.change, id, body, "replace")
    return single("Gate Overrides updated successfully.", data)


@router.patch("/gates/{id}/overrides", status_code=201)
def add_gate_overrides(ctx: Console, id: str, body: OverridesIn) -> dict[str, Any]:
    data = overrides.change_overrides(ctx.session, ctx.change, id, body, "add")
    return single("Gate Overrides added successfully.", data)


@router.delete("/gates/{id}/overrides", status_code=201)
def delete_gate_overrides(ctx: Console, id: str, body: OverridesIn) -> dict[str, Any]:
    data = overrides.change_overrides(ctx.session, ctx.change, id, body, "remove")
    return single("Gate Overrides deleted successfully.", data)


# --- versions and references ------------------------------------------------------------------


@router.get("/gates/{id}/versions")
def list_gate_versions(
    ctx: Console, id: str, request: Request, page: Page = Depends(page_params)
) -> dict[str, Any]:
    data, total = service.list_versions(
        ctx.session, ctx.project_id, id, offset=page.offset, limit=page.limit
    )
    return paginated("Gate versions listed successfully.", data, total, page, request)


@router.get("/gates/{id}/gate_references")
def list_gate_references(
    ctx: Console, id: str, request: Request, page: Page = Depends(reference_page)
) -> dict[str, Any]:
    service.load(ctx.session, ctx.project_id, id)
    rows = references.referencing_gates(ctx.session, ctx.project_id, id)
    data = [_gate(r) for r in rows[page.offset : page.offset + page.limit]]
    return paginated("Gates listed successfully.", data, len(rows), page, request)


@router.get("/gates/{id}/dynamic_config_references")
def list_dynamic_config_references(
    ctx: Console, id: str, request: Request, page: Page = Depends(reference_page)
) -> dict[str, Any]:
    service.load(ctx.session, ctx.project_id, id)
    rows = references.referencing_configs(ctx.session, ctx.project_id, id)
    data = [references.config_dto(r.document) for r in rows[page.offset : page.offset + page.limit]]
    return paginated("Dynamic Configs listed successfully.", data, len(rows), page, request)


@router.get("/gates/{id}/experiment_references")
def list_experiment_references(
    ctx: Console, id: str, request: Request, page: Page = Depends(reference_page)
) -> dict[str, Any]:
    service.load(ctx.session, ctx.project_id, id)
    # Experiments do not exist yet, so nothing can reference the gate through one.
    return paginated("Experiments listed successfully.", [], 0, page, request)


# --- Pulse and alerts -------------------------------------------------------------------------


@router.post("/gates/{id}/load_pulse")
def load_gate_pulse(ctx: Console, id: str, body: LoadPulseIn) -> dict[str, Any]:
    pulse.load_pulse(ctx.session, ctx.change, id, body)
    return message_only("Gate loaded successfully.")


@router.get("/gates/{id}/rules/{ruleID}/pulse_results")
def gate_pulse_results(
    ctx: Console,
    id: str,
    ruleID: str,
    cuped: str | None = Query(None),
    confidence: str | None = Query(None),
) -> dict[str, Any]:
    data = pulse.pulse_results(
        ctx.session,
        ctx.project_id,
        id,
        ruleID,
        cuped=cuped,
        confidence=confidence,
        now_ms=ctx.now_ms(),
    )
    return single("Successfully loaded Pulse Results", data)


@router.get("/gates/{id}/rules/{ruleID}/pulse_load_history")
def gate_pulse_load_history(
    ctx: Console,
    id: str,
    ruleID: str,
    request: Request,
    page: Page = Depends(page_params),
) -> dict[str, Any]:
    rows, total = pulse.pulse_load_history(
        ctx.session, ctx.project_id, id, ruleID, offset=page.offset, limit=page.limit
    )
    return paginated("Pulse load history listed successfully.", rows, total, page, request)


@router.post("/gates/{id}/alerts/{metricId}/resolve")
def resolve_gate_alert(
    ctx: Console,
    id: str,
    metricId: str,
    body: ResolveAlertIn,
) -> dict[str, Any]:
    data = pulse.resolve_alert(ctx.session, ctx.change, id, metricId, body)
    return single("Metric rollout alert resolved successfully.", data)
