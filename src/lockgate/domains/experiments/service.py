"""Rules of the Experiments resource: create, read, list, update, delete.

An experiment is stored as its ``ExternalExperimentDto`` document (health checks excluded: they
are computed from exposures when read) plus internal fields the API never shows: the ``salt``
its groups hash on, the salt of its implicit layer (``layerSalt``), the layer ``buckets`` it owns,
its inline targeting rules with their salts, its overrides, and its alerts. The document itself
is ``documents.py``; lifecycle actions live in ``lifecycle.py``, overrides in ``overrides.py``,
exposure-derived answers in ``exposures.py`` and ``health.py``.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.appids.resolve import filter_app_id
from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import EXPERIMENT, GATE, HOLDOUT, SEGMENT
from lockgate.domains.entities.namespaces import DYNAMIC_CONFIGS
from lockgate.domains.entities.tags import checked_tags
from lockgate.domains.events import incoming
from lockgate.domains.experiments import lifecycle, repository
from lockgate.domains.experiments.documents import (
    ARCHIVED,
    SETUP,
    allocate_buckets,
    build_groups,
    check_layer,
    dtos,
    find_group,
    load,
    new_document,
    percent,
)
from lockgate.domains.experiments.repository import ExperimentFilter
from lockgate.domains.experiments.schemas import (
    ExperimentCreate,
    ExperimentFields,
    ExperimentFullUpdate,
    ExperimentPartialUpdate,
)
from lockgate.domains.metrics import service as metrics
from lockgate.domains.metrics.sql import DAY_MS
from lockgate.domains.param_stores import service as param_stores
from lockgate.domains.projects import repository as projects_repository
from lockgate.domains.rules.validation import RuleContext, build_rules
from lockgate.domains.warehouse import filters, sources
from lockgate.errors import InvalidInput
from lockgate.kit.actor import Change


def read(session: Session, project_id: str, experiment_id: str) -> dict[str, Any]:
    incoming.settle_before(session)
    row = load(session, project_id, experiment_id)
    return dtos(session, project_id, [row.document])[0]


def list_(
    session: Session, project_id: str, flt: ExperimentFilter, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    incoming.settle_before(session)
    flt = dataclasses.replace(
        flt, target_app_id=filter_app_id(session, project_id, flt.target_app_id)
    )
    conditions = repository.filter_conditions(session, flt)
    rows, total = entities.list_rows(
        session, EXPERIMENT, project_id, conditions, offset=offset, limit=limit
    )
    return dtos(session, project_id, [r.document for r in rows]), total


def target_end_ms(experiment: dict[str, Any]) -> int | None:
    """When a running experiment reaches its target duration (``duration`` days after its start);
    ``None`` when it is not running or has no target."""
    start, days = experiment.get("startTime"), experiment.get("duration")
    if experiment.get("status") != "active" or not start or not days:
        return None
    return int(start) + int(days) * DAY_MS


# Running experiments looked at for the home page's list; a project rarely runs this many at once.
ATTENTION_SCAN = 500
ATTENTION_CHECKS = ("WARNING", "FAILED")


def needing_attention(session: Session, project_id: str, now_ms: int) -> list[dict[str, Any]]:
    """Running experiments whose target duration is reached or whose health checks warn or fail:
    ``{"experiment", "targetReachedMs", "checks"}`` (``targetReachedMs`` ``None`` when not yet)."""
    running, _ = list_(
        session, project_id, ExperimentFilter(statuses=("active",)), offset=0, limit=ATTENTION_SCAN
    )
    found = []
    for experiment in running:
        end = target_end_ms(experiment)
        reached = end if end is not None and end <= now_ms else None
        checks = [
            c for c in experiment.get("healthChecks") or [] if c.get("status") in ATTENTION_CHECKS
        ]
        if reached is not None or checks:
            found.append({"experiment": experiment, "targetReachedMs": reached, "checks": checks})
    return found


def list_using_metric(
    session: Session,
    project_id: str,
    metric_id: str,
    flt: ExperimentFilter,
    *,
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    """The experiments ``flt`` selects whose primary or secondary metrics name the metric."""
    incoming.settle_before(session)
    conditions = repository.filter_conditions(session, flt)
    rows, _ = entities.list_rows(session, EXPERIMENT, project_id, conditions)
    using = metrics.experiments_using(session, project_id, metric_id, [r.document for r in rows])
    return dtos(session, project_id, using[offset : offset + limit]), len(using)


def _rule_context(session: Session, project_id: str) -> RuleContext:
    return RuleContext(
        kind="gate",
        gate_exists=lambda gate_id: entities.exists(session, GATE, project_id, gate_id),
        segment_exists=lambda seg_id: entities.exists(session, SEGMENT, project_id, seg_id),
    )


def _metrics(value: Any) -> list[dict[str, Any]]:
    return [m.model_dump(by_alias=True, exclude_none=True) for m in value or []]


_SIMPLE = {
    "hypothesis": ("hypothesis", lambda v: v or ""),
    "control_group_id": None,
    "primary_metric_tags": ("primaryMetricTags", lambda v: list(v or [])),
    "secondary_metric_tags": ("secondaryMetricTags", lambda v: list(v or [])),
    "duration": ("duration", lambda v: v),
    "target_exposures": ("targetExposures", lambda v: v),
    "sequential_testing": ("sequentialTesting", bool),
    "bonferroni_correction": ("bonferroniCorrection", bool),
    "bonferroni_correction_per_metric": ("bonferroniCorrectionPerMetric", bool),
    "benjamini_hochberg_per_variant": ("benjaminiHochbergPerVariant", bool),
    "benjamini_hochberg_per_metric": ("benjaminiHochbergPerMetric", bool),
    "benjamini_primary_metrics_only": ("benjaminiPrimaryMetricsOnly", bool),
    "default_confidence_interval": ("defaultConfidenceInterval", lambda v: v or "95"),
    "team": ("team", lambda v: v),
    "team_id": ("teamID", lambda v: v),
    "analytics_type": ("analyticsType", lambda v: v),
    "secondary_id_type": ("secondaryIDType", lambda v: v),
    "allocation_duration": ("allocationDuration", lambda v: v),
    "fixed_analysis_duration": ("fixedAnalysisDuration", lambda v: v),
    "links": ("links", lambda v: [link.model_dump(exclude_none=True) for link in v or []]),
    "primary_metrics": ("primaryMetrics", _metrics),
    "secondary_metrics": ("secondaryMetrics", _metrics),
    "other_metrics": ("otherMetrics", _metrics),
}
# Targets a null clears: the API shows them as integers when present, never as null.
_CLEARED_WHEN_NULL = frozenset(
    {"duration", "targetExposures", "allocationDuration", "fixedAnalysisDuration"}
)
# Fields that change who is in which group: only editable before the experiment starts.
_SETUP_ONLY = {"id_type": "idType", "layer_id": "layerID"}


# An analysis-only experiment's binding to a warehouse assignment source (docs/warehouse.md
# §Analysis-only experiments).
_BINDING = {
    "assignment_source_name": "assignmentSourceName",
    "assignment_source_experiment_name": "assignmentSourceExperimentName",
    "is_analysis_only": "isAnalysisOnly",
}


def check_binding(session: Session, project_id: str, document: dict[str, Any]) -> None:
    """An experiment bound to an assignment source names an existing one, the value of its
    experiment column, a unit type the source maps and filters on its columns;
    ``isAnalysisOnly`` and ``assignmentSourceFilters`` need a source."""
    name = document.get("assignmentSourceName")
    if not name:
        if document.get(filters.FIELD):
            raise InvalidInput.field(filters.FIELD, "applies only with assignmentSourceName")
        if document.get("assignmentSourceExperimentName"):
            raise InvalidInput.field(
                "assignmentSourceExperimentName", "applies only with assignmentSourceName"
            )
        if document.get("isAnalysisOnly"):
            raise InvalidInput.field(
                "isAnalysisOnly",
                "needs assignmentSourceName (the warehouse source its exposures are read from)",
            )
        return
    source = sources.stored(session, project_id, sources.ASSIGNMENT, name)
    if source is None:
        raise InvalidInput.field(
            "assignmentSourceName", f"assignment source {name!r} does not exist"
        )
    document["assignmentSourceName"] = source.name
    if not document.get("assignmentSourceExperimentName"):
        raise InvalidInput.field(
            "assignmentSourceExperimentName",
            f"is required with assignmentSourceName (the value of the source's "
            f"{source.document.get('experimentIDColumn')!r} column that marks this experiment)",
        )
    id_type = document.get("idType") or "userID"
    if source.unit_column(id_type) is None:
        mapped = ", ".join(repr(u) for u in source.unit_types)
        raise InvalidInput.field(
            "idType",
            f"{id_type!r} is not mapped by assignment source {source.name!r} (it maps {mapped})",
        )
    if document.get(filters.FIELD) is not None:
        document[filters.FIELD] = filters.check_filters(document[filters.FIELD], source)


def apply_fields(
    session: Session,
    project_id: str,
    document: dict[str, Any],
    body: ExperimentFields,
    fields: set[str],
) -> dict[str, Any]:
    """Write the ``fields`` of ``body`` into ``document`` (a fresh copy) and validate it all.

    ``status``, ``launchedGroupID`` and ``decisionReason`` are lifecycle fields: the caller
    routes them through ``lifecycle.py``.
    """
    for field, (key, convert) in ((f, s) for f, s in _SIMPLE.items() if s is not None):
        if field in fields:
            document[key] = convert(getattr(body, field))
            if document[key] is None and key in _CLEARED_WHEN_NULL:
                del document[key]
    if "name" in fields:
        document["name"], _ = entities.derive_id(body.name, document["id"], "plain")
    if "description" in fields:
        document["description"] = body.description or ""
    if "tags" in fields:
        document["tags"] = checked_tags(session, project_id, body.tags)
    if "target_apps" in fields:
        document["targetApps"] = entities.target_apps(session, project_id, body.target_apps)
    started = document["status"] != SETUP
    for field, key in _SETUP_ONLY.items():
        if field in fields and (getattr(body, field) or None) != (document.get(key) or None):
            if field == "id_type" and getattr(body, field) is None:
                continue
            if started:
                raise InvalidInput.field(key, "cannot change once the experiment has started")
    if "id_type" in fields and body.id_type:
        document["idType"] = body.id_type
    bound = _BINDING.keys() & fields
    for field in bound:
        value = getattr(body, field)
        if value in (None, ""):
            document.pop(_BINDING[field], None)
        else:
            document[_BINDING[field]] = value
    if "assignment_source_filters" in fields:
        if body.assignment_source_filters is None:
            document.pop(filters.FIELD, None)
        else:
            document[filters.FIELD] = body.assignment_source_filters
    if (
        bound
        or "assignment_source_filters" in fields
        or ("id_type" in fields and document.get("assignmentSourceName"))
    ):
        check_binding(session, project_id, document)
    if not document.get("assignmentSourceName"):
        # an unbound experiment has no warehouse analysis window (docs/warehouse.md
        # §Analysis windows): unbinding it drops the one stored
        lifecycle.clear_analysis_window(document)
    if "analysis_end_time" in fields:
        lifecycle.set_analysis_window(document, {"analysisEndTime": body.analysis_end_time})
    if "layer_id" in fields:
        document["layerID"] = body.layer_id or None
        if not document["layerID"]:
            document.setdefault("layerSalt", str(uuid.uuid4()))
    if "groups" in fields:
        incoming = body.groups or []
        if started and len(incoming) != len(document["groups"]):
            raise InvalidInput.field(
                "groups", "groups cannot be added or removed once the experiment has started"
            )
        groups = build_groups(incoming, document["groups"])
        if started and [g["size"] for g in groups] != [g["size"] for g in document["groups"]]:
            raise InvalidInput.field(
                "groups",
                "group sizes cannot change once the experiment has started (it would move users "
                "between groups)",
            )
        document["groups"] = groups
    if "allocation" in fields:
        document["allocation"] = percent(body.allocation, "allocation")
    if "control_group_id" in fields or "groups" in fields:
        wanted = body.control_group_id if "control_group_id" in fields else None
        wanted = wanted or document.get("controlGroupID")
        control = find_group(document["groups"], wanted) if wanted else None
        if wanted and control is None and "control_group_id" in fields:
            raise InvalidInput.field(
                "controlGroupID", f"{wanted!r} is not a group of this experiment"
            )
        document["controlGroupID"] = (control or document["groups"][0])["id"]
    if "targeting_gate_id" in fields:
        gate = body.targeting_gate_id or ""
        if gate and not entities.exists(session, GATE, project_id, gate):
            raise InvalidInput.field("targetingGateID", f"gate {gate!r} does not exist")
        document["targetingGateID"] = gate
    if "inline_targeting_rules" in fields:
        document["inlineTargetingRules"] = build_rules(
            body.inline_targeting_rules or [],
            _rule_context(session, project_id),
            document.get("inlineTargetingRules") or [],
        )
    if "holdout_ids" in fields:
        holdouts = list(dict.fromkeys(body.holdout_ids or []))
        for holdout in holdouts:
            if not entities.exists(session, HOLDOUT, project_id, holdout):
                raise InvalidInput.field("holdoutIDs", f"holdout {holdout!r} does not exist")
        document["holdoutIDs"] = holdouts
    check_layer(session, project_id, document)
    allocate_buckets(session, project_id, document)
    return document


_LIFECYCLE_FIELDS = {"status", "launched_group_id", "decision_reason"}


def create(session: Session, change: Change, body: ExperimentCreate) -> dict[str, Any]:
    incoming.settle_before(session)
    name, experiment_id = entities.derive_id(body.name, body.id, "plain")
    entities.ensure_free(session, DYNAMIC_CONFIGS, change.project_id, experiment_id)
    document = new_document(experiment_id, name)
    default_unit = projects_repository.default_unit_type(session, change.project_id)
    if default_unit is not None:
        document["idType"] = default_unit
    fields = set(body.model_fields_set) - {"name", "id"} - _LIFECYCLE_FIELDS
    fields.add("control_group_id")
    document = apply_fields(session, change.project_id, document, body, fields)
    row = entities.insert(
        session,
        EXPERIMENT,
        change,
        document,
        action="experiment_create",
        change_log="Created Experiment",
    )
    if body.status not in (None, SETUP):
        # Terraform creates experiments straight into a status
        # (docs/console.md §Experiment lifecycle).
        lifecycle.drive_status(session, change, row, body)
    return dtos(session, change.project_id, [row.document])[0]


# A full update replaces these when omitted; ``name`` is kept (optional in the DTO).
_REPLACED = frozenset(
    {
        "description",
        "id_type",
        "hypothesis",
        "groups",
        "allocation",
        "targeting_gate_id",
        "bonferroni_correction",
        "default_confidence_interval",
        "tags",
        "target_apps",
        "primary_metrics",
        "secondary_metrics",
        "primary_metric_tags",
        "secondary_metric_tags",
        "control_group_id",
    }
)


def replace(
    session: Session, change: Change, experiment_id: str, body: ExperimentFullUpdate
) -> dict[str, Any]:
    incoming.settle_before(session)
    fields = set(_REPLACED) | set(body.model_fields_set)
    return _update(session, change, experiment_id, body, fields)


def patch(
    session: Session, change: Change, experiment_id: str, body: ExperimentPartialUpdate
) -> dict[str, Any]:
    incoming.settle_before(session)
    return _update(session, change, experiment_id, body, set(body.model_fields_set))


def _update(
    session: Session, change: Change, experiment_id: str, body: ExperimentFields, fields: set[str]
) -> dict[str, Any]:
    row = load(session, change.project_id, experiment_id, lock=True)
    if row.document["status"] == ARCHIVED:
        raise InvalidInput("Experiment is archived. Unarchive it before editing it")
    content = fields - _LIFECYCLE_FIELDS
    if content:
        document = apply_fields(session, change.project_id, entities.editable(row), body, content)
        entities.save(
            session,
            EXPERIMENT,
            change,
            row,
            document,
            action="experiment_update",
            change_log="Updated Experiment",
        )
    if body.status is not None and body.status != row.document["status"]:
        lifecycle.drive_status(session, change, row, body)
    return dtos(session, change.project_id, [row.document])[0]


def delete(session: Session, change: Change, experiment_id: str) -> dict[str, Any]:
    incoming.settle_before(session)
    row = load(session, change.project_id, experiment_id, lock=True)
    param_stores.ensure_unreferenced(session, change.project_id, "experiment", experiment_id)
    shown = dtos(session, change.project_id, [row.document])[0]
    entities.remove(
        session,
        EXPERIMENT,
        change,
        row,
        action="experiment_delete",
        change_log="Deleted Experiment",
    )
    return shown
