"""Rules for gates: creation, updates, the launch/disable/enable/archive lifecycle, listing.

A gate is a document (``ExternalGateDto`` without computed fields) plus a few internal keys the
API never shows: its overrides, open metric alerts and the status it had before archiving.
What a lifecycle action means for evaluation is carried by ``status`` and ``isEnabled``
(docs/compiling.md §Gate lifecycle): Launched serves true to everyone, Disabled serves false, In
Progress evaluates the rules; an archived gate keeps serving what it served before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from lockgate.documents.stored import StoredGateOverrides, StoredRule
from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import GATE, SEGMENT
from lockgate.domains.entities.namespaces import FEATURE_GATES
from lockgate.domains.entities.tags import checked_tags
from lockgate.domains.gates import references, repository
from lockgate.domains.gates.schemas import (
    ArchiveIn,
    GateCreate,
    GateFields,
    GateFullUpdate,
    GatePartialUpdate,
    UnarchiveIn,
)
from lockgate.domains.param_stores import service as param_stores
from lockgate.domains.projects import repository as projects_repository
from lockgate.domains.rules.schemas import RuleIn
from lockgate.domains.rules.validation import RuleContext, build_rules, public_rule
from lockgate.errors import InvalidInput
from lockgate.kit.actor import Change

IN_PROGRESS, LAUNCHED, DISABLED, ARCHIVED = "In Progress", "Launched", "Disabled", "Archived"
STATUSES = (IN_PROGRESS, LAUNCHED, DISABLED, ARCHIVED)
INTERNAL_FIELDS = frozenset({"overrides", "alerts", "preArchiveStatus", "archiveReason"})


def empty_overrides() -> StoredGateOverrides:
    """A new gate's (or holdout's) overrides: no id passes or fails by override."""
    return {
        "passingUserIDs": [],
        "failingUserIDs": [],
        "passingCustomIDs": [],
        "failingCustomIDs": [],
        "environmentOverrides": [],
    }


def gate_dto(document: dict[str, Any]) -> dict[str, Any]:
    """A stored gate (or version snapshot) as the API shows it."""
    shown = {k: v for k, v in document.items() if k not in INTERNAL_FIELDS}
    shown["rules"] = [public_rule(r) for r in document.get("rules") or ()]
    return shown


def rule_context(session: Session, project_id: str, gate_id: str) -> RuleContext:
    # The gate itself "exists" here so that a self-reference reaches the cycle check, which
    # explains the problem better than "does not exist" would.
    return RuleContext(
        kind="gate",
        gate_exists=lambda name: (
            name == gate_id or entities.exists(session, GATE, project_id, name)
        ),
        segment_exists=lambda name: entities.exists(session, SEGMENT, project_id, name),
    )


def checked_rules(
    session: Session,
    project_id: str,
    gate_id: str,
    incoming: Sequence[RuleIn],
    existing: Sequence[StoredRule] = (),
) -> list[StoredRule]:
    return build_rules(incoming, rule_context(session, project_id, gate_id), existing)


def store_rules(
    session: Session, project_id: str, document: dict[str, Any], rules: list[StoredRule]
) -> None:
    """Set a gate's rules after checking names are unique and no reference cycle appears."""
    seen: set[str] = set()
    for rule in rules:
        if rule["name"].lower() in seen:
            raise InvalidInput.field("rules", f"rule name {rule['name']!r} is used by another rule")
        seen.add(rule["name"].lower())
    references.check_no_cycle(session, project_id, document["id"], rules)
    document["rules"] = rules


def load(session: Session, project_id: str, gate_id: str, *, lock: bool = False) -> Any:
    return entities.load(session, GATE, project_id, gate_id, lock=lock)


def read(session: Session, project_id: str, gate_id: str) -> dict[str, Any]:
    return gate_dto(load(session, project_id, gate_id).document)


def list_versions(
    session: Session, project_id: str, gate_id: str, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    load(session, project_id, gate_id)
    documents, total = entities.versions(
        session, GATE, project_id, gate_id, offset=offset, limit=limit
    )
    return [gate_dto(d) for d in documents], total


def _display_name(name: str, gate_id: str) -> str:
    return entities.derive_id(name, gate_id, "dotted")[0]


def create(session: Session, change: Change, body: GateCreate) -> Any:
    name, gate_id = entities.derive_id(body.name, body.id, "dotted")
    entities.ensure_free(session, FEATURE_GATES, change.project_id, gate_id)
    enabled = True if body.is_enabled is None else body.is_enabled
    document: dict[str, Any] = {
        "id": gate_id,
        "name": name,
        "description": body.description or "",
        "idType": body.id_type
        or projects_repository.default_unit_type(session, change.project_id)
        or "userID",
        "isEnabled": enabled,
        "status": IN_PROGRESS if enabled else DISABLED,
        "type": "TEMPLATE" if body.is_template else body.type or "TEMPORARY",
        "typeReason": "NONE",
        "rules": [],
        "tags": checked_tags(session, change.project_id, body.tags),
        "targetApps": entities.target_apps(session, change.project_id, body.target_apps),
        "holdoutIDs": [],
        "team": body.team,
        "teamID": body.team_id,
        "checksPerHour": None,
        "owner": {
            "ownerID": change.actor.id,
            "ownerName": change.actor.name,
            "ownerType": "SDK_KEY",
            "ownerEmail": change.actor.email or "",
        },
        "isTemplate": bool(body.is_template),
        "measureMetricLifts": True
        if body.measure_metric_lifts is None
        else body.measure_metric_lifts,
        "monitoringMetrics": [m.model_dump() for m in body.monitoring_metrics or ()],
        "reviewSettings": {
            "requiredReview": bool(body.review_settings and body.review_settings.required_review),
            "allowedReviewers": [],
        },
        "releasePipelineID": body.release_pipeline_id,
        "overrides": empty_overrides(),
    }
    rules = checked_rules(session, change.project_id, gate_id, body.rules or ())
    store_rules(session, change.project_id, document, rules)
    return entities.insert(
        session, GATE, change, document, action="gate_create", change_log="Created Gate"
    )


def _set_enabled(document: dict[str, Any], enabled: bool) -> None:
    """``isEnabled`` written through an update acts like enable/disable when it changes.

    Sending back the value a gate already has (a read-apply_edit-write of a Launched gate)
    changes nothing.
    """
    if enabled == document.get("isEnabled"):
        return
    target = IN_PROGRESS if enabled else DISABLED
    if document["status"] == ARCHIVED:
        document["preArchiveStatus"] = target
    else:
        document["status"] = target
    document["isEnabled"] = enabled


def _apply_fields(
    session: Session, project_id: str, document: dict[str, Any], body: GateFields
) -> None:
    given = body.model_fields_set
    if body.name is not None:
        document["name"] = _display_name(body.name, document["id"])
    if body.description is not None:
        document["description"] = body.description
    if body.id_type is not None:
        document["idType"] = body.id_type
    if body.type is not None:
        document["type"] = body.type
    if body.tags is not None:
        document["tags"] = checked_tags(session, project_id, body.tags)
    if body.target_apps is not None:
        document["targetApps"] = entities.target_apps(session, project_id, body.target_apps)
    if "team" in given:
        document["team"] = body.team
    if "team_id" in given:
        document["teamID"] = body.team_id
    if body.measure_metric_lifts is not None:
        document["measureMetricLifts"] = body.measure_metric_lifts
    if body.monitoring_metrics is not None:
        document["monitoringMetrics"] = [m.model_dump() for m in body.monitoring_metrics]
    if body.review_settings is not None:
        document["reviewSettings"] = {
            **(document.get("reviewSettings") or {"allowedReviewers": []}),
            "requiredReview": body.review_settings.required_review,
        }
    if "release_pipeline_id" in given:
        document["releasePipelineID"] = body.release_pipeline_id
    if body.rules is not None:
        rules = checked_rules(session, project_id, document["id"], body.rules, document["rules"])
        store_rules(session, project_id, document, rules)
    if body.is_enabled is not None:
        _set_enabled(document, body.is_enabled)


def replace(session: Session, change: Change, gate_id: str, body: GateFullUpdate) -> Any:
    """A full update (``POST``) differs from a partial one only in the required fields its body
    enforces: its ``rules`` replace the list, as they do in a partial update."""
    return _update(session, change, gate_id, body)


def patch(session: Session, change: Change, gate_id: str, body: GatePartialUpdate) -> Any:
    return _update(session, change, gate_id, body)


def _update(session: Session, change: Change, gate_id: str, body: GateFields) -> Any:
    row = load(session, change.project_id, gate_id, lock=True)
    document = entities.editable(row)
    _apply_fields(session, change.project_id, document, body)
    return entities.save(
        session, GATE, change, row, document, action="gate_update", change_log="Updated Gate"
    )


def delete(session: Session, change: Change, gate_id: str) -> None:
    row = load(session, change.project_id, gate_id, lock=True)
    param_stores.ensure_unreferenced(session, change.project_id, "gate", gate_id)
    entities.remove(session, GATE, change, row, action="config_delete", change_log="Deleted Gate")


def apply_edit(
    session: Session,
    change: Change,
    gate_id: str,
    edit: Callable[[dict[str, Any]], None],
    *,
    action: str,
    change_log: str,
) -> Any:
    """Load a gate under lock, let ``edit`` change its document, and save a new version."""
    row = load(session, change.project_id, gate_id, lock=True)
    document = entities.editable(row)
    edit(document)
    return entities.save(session, GATE, change, row, document, action=action, change_log=change_log)


def _not_archived(document: dict[str, Any], action: str) -> None:
    if document["status"] == ARCHIVED:
        raise InvalidInput.because(
            f"Gate {document['id']!r} is archived; unarchive it before you {action} it"
        )


def launch(session: Session, change: Change, gate_id: str) -> Any:
    def edit(document: dict[str, Any]) -> None:
        _not_archived(document, "launch")
        # Rules stop being evaluated and everyone passes. Statsig's example shows isEnabled
        # false here; it stays true so that isEnabled false always means "serves false", which
        # is how the spec compiler reads a gate (docs/compiling.md §Gate lifecycle).
        document["status"], document["isEnabled"] = LAUNCHED, True

    return apply_edit(
        session, change, gate_id, edit, action="gate_update", change_log="Launched Gate"
    )


def disable(session: Session, change: Change, gate_id: str) -> Any:
    def edit(document: dict[str, Any]) -> None:
        _not_archived(document, "disable")
        document["status"], document["isEnabled"] = DISABLED, False

    return apply_edit(
        session, change, gate_id, edit, action="gate_update", change_log="Disabled Gate"
    )


def enable(session: Session, change: Change, gate_id: str) -> Any:
    def edit(document: dict[str, Any]) -> None:
        _not_archived(document, "enable")
        document["status"], document["isEnabled"] = IN_PROGRESS, True

    return apply_edit(
        session, change, gate_id, edit, action="gate_update", change_log="Enabled Gate"
    )


def archive(session: Session, change: Change, gate_id: str, body: ArchiveIn) -> Any:
    def edit(document: dict[str, Any]) -> None:
        if document["status"] == ARCHIVED:
            raise InvalidInput.because(f"Gate {gate_id!r} is already archived")
        if not body.force_archive:
            _refuse_if_referenced(session, change.project_id, gate_id)
        document["preArchiveStatus"] = document["status"]
        document["status"] = ARCHIVED
        document["archiveReason"] = body.archive_reason

    return apply_edit(
        session, change, gate_id, edit, action="gate_update", change_log="Archived Gate"
    )


def _refuse_if_referenced(session: Session, project_id: str, gate_id: str) -> None:
    gates = [row.id for row in references.referencing_gates(session, project_id, gate_id)]
    configs = [row.id for row in references.referencing_configs(session, project_id, gate_id)]
    if gates or configs:
        users = ([f"gates {gates}"] if gates else []) + (
            [f"dynamic configs {configs}"] if configs else []
        )
        raise InvalidInput.because(
            f"Gate {gate_id!r} is referenced by {' and '.join(users)}; "
            "remove those references or send forceArchive: true"
        )


def unarchive(session: Session, change: Change, gate_id: str, body: UnarchiveIn) -> Any:
    def edit(document: dict[str, Any]) -> None:
        if document["status"] != ARCHIVED:
            raise InvalidInput.because(f"Gate {gate_id!r} is not archived")
        document["status"] = document.pop("preArchiveStatus", None) or IN_PROGRESS
        document.pop("archiveReason", None)

    del body  # the reason is kept in the audit entry's change log only
    return apply_edit(
        session, change, gate_id, edit, action="gate_update", change_log="Unarchived Gate"
    )


# --- listing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentFilter:
    """List filters answered from the document rather than a column."""

    type_reasons: tuple[str, ...] = ()
    pass_rates: tuple[str, ...] = ()
    rollout_rates: tuple[str, ...] = ()
    release_pipeline_id: str | None = None


def _bucket(percentages: Sequence[float]) -> str:
    if all(p == 0 for p in percentages):
        return "0"
    if all(p == 100 for p in percentages):
        return "100"
    return "INBETWEEN"


def rollout_rate(document: dict[str, Any]) -> str:
    """0: every rule passes 0% (or there are none); 100: every rule passes 100% and one of them
    is an everyone rule; INBETWEEN: anything else."""
    rules = document.get("rules") or []
    bucket = _bucket([r["passPercentage"] for r in rules])
    if bucket == "100" and not any(_is_everyone(r) for r in rules):
        return "INBETWEEN"
    return bucket


def expected_pass_rate(document: dict[str, Any]) -> str:
    """What share of checks pass, judged from configuration until check counts are recorded."""
    status = document.get("preArchiveStatus") or document["status"]
    if status == LAUNCHED:
        return "100"
    if status == DISABLED or not document.get("isEnabled", True):
        return "0"
    rules = document.get("rules") or []
    if rules and _is_everyone(rules[0]) and rules[0]["passPercentage"] == 100:
        return "100"
    return rollout_rate(document) if rollout_rate(document) == "0" else "INBETWEEN"


def _is_everyone(rule: dict[str, Any]) -> bool:
    conditions = rule.get("conditions") or []
    return all(c.get("type") == "public" for c in conditions)


def _matches(document: dict[str, Any], flt: DocumentFilter) -> bool:
    if flt.type_reasons and document.get("typeReason", "NONE") not in flt.type_reasons:
        return False
    if flt.rollout_rates and rollout_rate(document) not in flt.rollout_rates:
        return False
    if flt.pass_rates and expected_pass_rate(document) not in flt.pass_rates:
        return False
    return not (
        flt.release_pipeline_id is not None
        and document.get("releasePipelineID") != flt.release_pipeline_id
    )


def list_(
    session: Session,
    project_id: str,
    columns: repository.ColumnFilter,
    documents: DocumentFilter,
    *,
    offset: int,
    limit: int,
    sort: str = "created",
) -> tuple[list[dict[str, Any]], int]:
    """A page of gates; the column filters and ``sort`` (one of ``entities.SORTS``) run in SQL,
    the document filters over the rows the columns select."""
    unknown = [s for s in columns.statuses if s not in STATUSES]
    if unknown:
        raise InvalidInput.field(
            "status", f"{unknown[0]!r} is not one of {', '.join(STATUSES)}", location="query"
        )
    where = repository.conditions(session, columns)
    if documents == DocumentFilter():
        rows, total = entities.list_rows(
            session, GATE, project_id, where, offset=offset, limit=limit, sort=sort
        )
        return [gate_dto(r.document) for r in rows], total
    every, _ = entities.list_rows(session, GATE, project_id, where, sort=sort)
    kept = [r.document for r in every if _matches(r.document, documents)]
    return [gate_dto(d) for d in kept[offset : offset + limit]], len(kept)
