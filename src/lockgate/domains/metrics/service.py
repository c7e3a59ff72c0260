"""Rules of the Metrics resource: create, read, list, patch, delete, lineage.

A custom metric is stored as its ``ExternalMetricDefinitionContractDto`` document (id
``<name>::<type>``), plus ``scheduledArchiveTime`` once an archive is scheduled: the metric is
archived (and hidden) from that moment on, the next UTC day boundary after the request.
Automatic metrics (``<event>::event_count`` and ``<event>::event_user``) exist for every logged
event name; they are derived from the events table, never stored, and cannot be changed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import METRIC
from lockgate.domains.entities.tags import checked_tags
from lockgate.domains.events import incoming
from lockgate.domains.events import repository as events_repository
from lockgate.domains.metrics import definitions, repository, warehouse_native
from lockgate.domains.metrics.definitions import (
    AUTOMATIC_TYPES,
    DEFINITION_FIELDS,
    metric_id,
    split_id,
)
from lockgate.domains.metrics.schemas import MetricCreate, MetricDefinitionFields, MetricUpdate
from lockgate.domains.metrics.sql import EventSelector, MetricSpec
from lockgate.domains.tags import repository as tags_repository
from lockgate.errors import Conflict, InvalidInput, NotFound
from lockgate.kit.actor import Change
from lockgate.storage.models import Metric

# Legacy automatic type some funnels name; it reads the event's user metric.
_AUTOMATIC_ALIASES = {
    "event_count": "event_count",
    "event_user": "event_user",
    "event_dau": "event_user",
}


# -- reading ---------------------------------------------------------------------------------


def is_archived(document: dict[str, Any], now_ms: int) -> bool:
    scheduled = document.get("scheduledArchiveTime")
    return scheduled is not None and scheduled <= now_ms


def metric_dto(document: dict[str, Any], now_ms: int) -> dict[str, Any]:
    shown = dict(document)
    archived = is_archived(document, now_ms)
    shown["isArchived"] = archived
    shown["isHidden"] = bool(document.get("isHidden")) or archived
    if shown.get("scheduledArchiveTime") is None:
        shown.pop("scheduledArchiveTime", None)
    return shown


def automatic_document(event_name: str, metric_type: str, first_seen_ms: int) -> dict[str, Any]:
    measure = "count" if metric_type == "event_count" else "count_distinct"
    return {
        "id": metric_id(event_name, metric_type),
        "name": event_name,
        "type": metric_type,
        "description": "",
        "directionality": "increase",
        "isPermanent": False,
        "isReadOnly": False,
        "isHidden": False,
        "isVerified": False,
        "tags": [],
        "unitTypes": ["userID", "stableID"],
        "metricEvents": [{"name": event_name, "type": measure, "criteria": []}],
        "createdTime": first_seen_ms,
        "lineage": {"events": [event_name], "metrics": []},
        "team": None,
    }


def _automatic(
    session: Session, project_id: str, name: str, metric_type: str
) -> dict[str, Any] | None:
    canonical = _AUTOMATIC_ALIASES.get(metric_type)
    if canonical is None:
        return None
    first = events_repository.first_seen(session, project_id, name)
    return None if first is None else automatic_document(name, canonical, first)


def find_document(session: Session, project_id: str, id_: str) -> dict[str, Any] | None:
    """The stored or automatic metric with this id (stored ones win)."""
    row = entities.find(session, METRIC, project_id, id_)
    if row is not None:
        return row.document  # type: ignore[no-any-return]
    parts = split_id(id_)
    if parts is None or parts[1] not in AUTOMATIC_TYPES:
        return None
    return _automatic(session, project_id, *parts)


def _reference(
    session: Session, project_id: str, name: str, metric_type: str
) -> dict[str, Any] | None:
    row = entities.find(session, METRIC, project_id, metric_id(name, metric_type))
    if row is not None:
        return row.document  # type: ignore[no-any-return]
    return _automatic(session, project_id, name, metric_type)


def exists(session: Session, project_id: str, name: str, metric_type: str) -> bool:
    """Whether ``{name, type}`` names a metric (stored, or an automatic one of a logged event)."""
    return _reference(session, project_id, name, metric_type) is not None


def read(session: Session, project_id: str, id_: str, now_ms: int) -> dict[str, Any]:
    incoming.settle_before(session)
    document = find_document(session, project_id, id_)
    if document is None:
        raise NotFound()
    return metric_dto(document, now_ms)


def _automatic_documents(session: Session, project_id: str) -> list[dict[str, Any]]:
    return [
        automatic_document(name, metric_type, first)
        for name, first in events_repository.event_names(session, project_id)
        for metric_type in AUTOMATIC_TYPES
    ]


def _tag_names(session: Session, project_id: str, tags: Sequence[str]) -> set[str]:
    """The list filter takes tag ids (as ``/tags`` shows them) or tag names."""
    names = set()
    for tag in tags:
        found = tags_repository.get(session, project_id, tag) or tags_repository.by_name(
            session, project_id, tag
        )
        if found is None:
            raise InvalidInput.field("tags", f"tag {tag!r} does not exist", location="query")
        names.add(found.name)
    return names


def filter_tags(raw: str | None) -> list[str]:
    """``filters`` is a JSON object; only its ``tags`` filter is known."""
    if raw is None or raw == "":
        return []
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    tags = parsed.get("tags") if isinstance(parsed, dict) and set(parsed) <= {"tags"} else None
    if isinstance(tags, str):
        return [tags]
    if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
        return tags
    raise InvalidInput.field(
        "filters",
        'must be a JSON object with a tags filter, e.g. {"tags": ["x"]}',
        location="query",
    )


def list_(
    session: Session, project_id: str, now_ms: int, *, show_hidden: bool, tags: Sequence[str]
) -> list[dict[str, Any]]:
    incoming.settle_before(session)
    wanted = _tag_names(session, project_id, tags) if tags else None
    shown = [
        metric_dto(row.document, now_ms) for row in repository.metric_rows(session, project_id)
    ]
    if wanted is None:
        shown += [metric_dto(d, now_ms) for d in _automatic_documents(session, project_id)]
    else:
        shown = [m for m in shown if wanted & set(m.get("tags") or [])]
    if not show_hidden:
        shown = [m for m in shown if not m["isHidden"]]
    return shown


def list_using_event(
    session: Session, project_id: str, event_name: str, now_ms: int
) -> list[dict[str, Any]]:
    """Automatic metrics of the event and every metric defined on it or on them."""
    incoming.settle_before(session)
    automatic = _automatic(session, project_id, event_name, "event_count")
    found = (
        [
            metric_dto(automatic_document(event_name, t, automatic["createdTime"]), now_ms)
            for t in AUTOMATIC_TYPES
        ]
        if automatic is not None
        else []
    )
    automatic_ids = {metric_id(event_name, t) for t in _AUTOMATIC_ALIASES}
    for row in repository.metric_rows(session, project_id):
        lineage = row.document.get("lineage") or {}
        if event_name in lineage.get("events", []) or automatic_ids & set(
            lineage.get("metrics", [])
        ):
            found.append(metric_dto(row.document, now_ms))
    return found


def _names_metric(refs: Any, name: str, metric_type: str) -> bool:
    return any(
        isinstance(r, dict) and r.get("name") == name and r.get("type") == metric_type
        for r in refs or []
    )


def experiments_using(
    session: Session, project_id: str, id_: str, documents: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Experiment documents whose primary or secondary metrics name the metric."""
    if find_document(session, project_id, id_) is None:
        raise NotFound()
    name, metric_type = split_id(id_) or ("", "")
    return [
        d
        for d in documents
        if _names_metric(d.get("primaryMetrics"), name, metric_type)
        or _names_metric(d.get("secondaryMetrics"), name, metric_type)
    ]


# -- computation -----------------------------------------------------------------------------


def spec_of(session: Session, project_id: str, document: dict[str, Any]) -> MetricSpec:
    """Resolve a definition's references into the ``MetricSpec`` ``sql.unit_values_query`` takes."""
    metric_type = document["type"]
    if metric_type == definitions.WAREHOUSE_TYPE:
        raise InvalidInput.because(
            f"Metric {document['id']!r} is computed in the project's warehouse, by the loads of "
            "experiments bound to an assignment source only (docs/warehouse.md)"
        )
    if metric_type == "funnel":
        steps = []
        for step in document.get("funnelEventList") or []:
            referenced = _reference(session, project_id, step["name"], step["type"])
            events = referenced["metricEvents"] if referenced else []
            steps.append(definitions.selectors(events) or (EventSelector(step["name"]),))
        return MetricSpec(
            project_id=project_id,
            metric_id=document["id"],
            type=metric_type,
            funnel_steps=tuple(steps),
            funnel_count=document.get("funnelCountDistinct") or "users",
        )
    if metric_type in ("composite", "composite_sum"):
        components = []
        for ref in document.get("metricComponentMetrics") or []:
            referenced = _reference(session, project_id, ref["name"], ref["type"])
            if referenced is None:  # deleting a component is refused; be safe anyway
                raise InvalidInput.because(
                    f"Metric {document['id']!r} uses "
                    f"{metric_id(ref['name'], ref['type'])!r}, which no longer exists"
                )
            components.append(spec_of(session, project_id, referenced))
        return MetricSpec(
            project_id=project_id,
            metric_id=document["id"],
            type=metric_type,
            components=tuple(components),
        )
    return MetricSpec(
        project_id=project_id,
        metric_id=document["id"],
        type=metric_type,
        events=definitions.selectors(document.get("metricEvents") or []),
    )


def metric_spec(session: Session, project_id: str, id_: str) -> MetricSpec:
    """The computable form of metric ``id_`` (``<name>::<type>``), for Pulse and metric values."""
    document = find_document(session, project_id, id_)
    if document is None:
        raise NotFound()
    return spec_of(session, project_id, document)


# -- writing ---------------------------------------------------------------------------------


def _preview(document: dict[str, Any], change: Change, row: Metric | None) -> dict[str, Any]:
    """What a dry run would have stored."""
    modified = {
        "lastModifierID": change.actor.id,
        "lastModifierName": change.actor.name,
        "lastModifierEmail": change.actor.email,
        "lastModifiedTime": change.now_ms,
    }
    if row is not None:
        return {**document, **modified, "version": row.version + 1}
    created = {
        "creatorID": change.actor.id,
        "creatorName": change.actor.name,
        "creatorEmail": change.actor.email,
        "createdTime": change.now_ms,
    }
    return {**document, **created, **modified, "version": 1}


def _exists_check(session: Session, project_id: str) -> definitions.Exists:
    return lambda name, metric_type: exists(session, project_id, name, metric_type)


def _tags(session: Session, project_id: str, raw: list[str] | str | None) -> list[str]:
    return checked_tags(session, project_id, [raw] if isinstance(raw, str) else raw)


def _checked_definition(
    session: Session, project_id: str, fields: MetricDefinitionFields, metric_type: str
) -> dict[str, Any]:
    """The stored definition fields: a warehouse-native metric's from its ``warehouseNative``
    object (``warehouse_native``), any other's from its events or metrics."""
    if metric_type != definitions.WAREHOUSE_TYPE:
        return definitions.check_definition(fields, metric_type, _exists_check(session, project_id))
    for key, value in (
        ("metricEvents", fields.metric_events),
        ("metricComponentMetrics", fields.metric_component_metrics),
        ("funnelEventList", fields.funnel_event_list),
        ("rollupTimeWindow", fields.rollup_time_window),
    ):
        if value:
            raise InvalidInput.field(
                key, f"does not apply to a {metric_type!r} metric (see warehouseNative)"
            )
    return warehouse_native.check_warehouse_native(
        session, project_id, fields.warehouse_native, fields.unit_types
    )


def create(session: Session, change: Change, body: MetricCreate) -> dict[str, Any]:
    incoming.settle_before(session)
    name = definitions.check_name(body.name)
    metric_type = definitions.check_type(body.type)
    id_ = metric_id(name, metric_type)
    if find_document(session, change.project_id, id_) is not None:
        raise Conflict()
    definition = _checked_definition(session, change.project_id, body, metric_type)
    document: dict[str, Any] = {
        "id": id_,
        "name": name,
        "type": metric_type,
        "description": definitions.check_description(body.description),
        "directionality": definitions.check_directionality(body.directionality),
        "isPermanent": bool(body.is_permanent),
        "isReadOnly": bool(body.is_read_only),
        "isHidden": False,
        "isVerified": bool(body.is_verified),
        "tags": _tags(session, change.project_id, body.tags),
        **definition,
        "team": body.team,
        "teamID": body.team_id,
    }
    if body.dry_run:
        return metric_dto(_preview(document, change, None), change.now_ms)
    row = entities.insert(
        session,
        METRIC,
        change,
        document,
        action="custom_metric_definition_create",
        change_log="Created Metric",
    )
    return metric_dto(row.document, change.now_ms)


def _automatic_refusal(id_: str, what: str) -> InvalidInput:
    name = (split_id(id_) or (id_, ""))[0]
    return InvalidInput.because(
        f"{id_!r} is an automatic metric of event {name!r}; automatic metrics "
        f"exist for every logged event and cannot be {what}"
    )


def load_custom(
    session: Session, project_id: str, id_: str, what: str, now_ms: int, *, live: bool = True
) -> Metric:
    """Lock a stored metric about to change; automatic and (when ``live``) archived ones refuse."""
    row: Metric | None = entities.find(session, METRIC, project_id, id_, lock=True)
    if row is None:
        if find_document(session, project_id, id_) is not None:
            raise _automatic_refusal(id_, what)
        raise NotFound()
    if live and is_archived(row.document, now_ms):
        raise InvalidInput.because(
            f"Metric {id_!r} is archived; unarchive it before it can be {what}"
        )
    return row


def _users(session: Session, project_id: str, id_: str) -> list[str]:
    """Ids of the metrics whose definitions reference metric ``id_``."""
    return [
        row.id
        for row in repository.metric_rows(session, project_id)
        if id_ in (row.document.get("lineage") or {}).get("metrics", [])
    ]


def _refuse_if_used(session: Session, project_id: str, id_: str, what: str) -> None:
    users = _users(session, project_id, id_)
    if users:
        names = ", ".join(repr(u) for u in users)
        raise InvalidInput.because(
            f"Metric {id_!r} is used by {names}; it cannot be {what} until "
            "those metrics stop using it"
        )


def _merged_definition(document: dict[str, Any], body: MetricUpdate) -> MetricDefinitionFields:
    current = {k: document[k] for k in DEFINITION_FIELDS if k in document}
    given = body.model_dump(by_alias=True, exclude_unset=True)
    current.update({k: v for k, v in given.items() if k in DEFINITION_FIELDS})
    return MetricDefinitionFields.model_validate(current)


def patch(session: Session, change: Change, id_: str, body: MetricUpdate) -> dict[str, Any]:
    incoming.settle_before(session)
    row = load_custom(session, change.project_id, id_, "changed", change.now_ms)
    document = entities.editable(row)
    metric_type = document["type"]
    given = body.model_fields_set
    if "type" in given and body.type != metric_type:
        raise InvalidInput.field(
            "type", f"a metric's type is part of its id and cannot change (it is {metric_type!r})"
        )
    definition = _checked_definition(
        session, change.project_id, _merged_definition(document, body), metric_type
    )
    for key in DEFINITION_FIELDS:
        document.pop(key, None)
    document.update(definition)
    if "description" in given:
        document["description"] = definitions.check_description(body.description)
    if "directionality" in given:
        document["directionality"] = definitions.check_directionality(body.directionality)
    for attribute, key in (
        ("is_permanent", "isPermanent"),
        ("is_read_only", "isReadOnly"),
        ("is_verified", "isVerified"),
    ):
        value = getattr(body, attribute)
        if attribute in given and value is not None:
            document[key] = value
    if "team" in given:
        document["team"] = body.team
    if "team_id" in given:
        document["teamID"] = body.team_id
    if "tags" in given:
        document["tags"] = _tags(session, change.project_id, body.tags)
    if body.owner is not None:
        document["owner"] = _owner(body.owner.email, body.owner.owner_id)
    action, change_log = "custom_metric_definition_edit", "Edited Metric"
    if body.name is not None and body.name.strip() != document["name"]:
        name = definitions.check_name(body.name)
        new_id = metric_id(name, metric_type)
        if find_document(session, change.project_id, new_id) is not None:
            raise Conflict()
        _refuse_if_used(session, change.project_id, id_, "renamed")
        document |= {"id": new_id, "name": name}
        action, change_log = "custom_metric_name_edit", f"Renamed Metric from {id_}"
    if body.dry_run:
        return metric_dto(_preview(document, change, row), change.now_ms)
    if document["id"] != row.id:
        repository.move_versions(session, change.project_id, row.id, document["id"])
        row.id = document["id"]
    saved = entities.save(
        session, METRIC, change, row, document, action=action, change_log=change_log
    )
    return metric_dto(saved.document, change.now_ms)


def _owner(email: str | None, owner_id: str | None) -> dict[str, Any]:
    if not email and not owner_id:
        raise InvalidInput.field("owner", "give the owner's email or ownerID")
    label = email or owner_id or ""
    owner: dict[str, Any] = {"name": label, "ownerType": "USER", "ownerName": label}
    if owner_id:
        owner["ownerID"] = owner_id
    if email:
        owner["ownerEmail"] = email
    return owner


def delete(session: Session, change: Change, id_: str) -> None:
    incoming.settle_before(session)
    row = load_custom(session, change.project_id, id_, "deleted", change.now_ms, live=False)
    if row.document.get("isPermanent"):
        raise InvalidInput.because(
            f"Metric {id_!r} is permanent; set isPermanent to false before deleting it"
        )
    _refuse_if_used(session, change.project_id, id_, "deleted")
    entities.remove(
        session,
        METRIC,
        change,
        row,
        action="custom_metric_definition_delete",
        change_log="Deleted Metric",
    )
