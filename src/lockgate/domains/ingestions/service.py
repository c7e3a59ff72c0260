"""Ingestion sources and schedules: create, read, update and delete a source (its query
checked in the warehouse, its column mapping checked against the query's columns), and the
daily hour of each dataset (docs/warehouse.md §Ingestions)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from lockgate.domains.audit.service import record_audit
from lockgate.domains.ingestions import connections, repository
from lockgate.domains.ingestions.connections import Keys
from lockgate.domains.ingestions.schemas import (
    EventsMapping,
    MetricsMapping,
    ScheduleUpdate,
    SourceCreate,
    SourceUpdate,
)
from lockgate.domains.warehouse.adapters import Warehouse, WarehouseError
from lockgate.domains.warehouse.dialects import IDENTIFIER
from lockgate.domains.warehouse.service import scrub
from lockgate.errors import Conflict, InvalidInput, NotFound
from lockgate.kit.actor import Actor
from lockgate.kit.ids import random_id
from lockgate.storage.models import IngestionSchedule, IngestionSource

DEFAULT_HOUR_PST: Final = 10
# The datasets a source can load here; the others are Statsig exports or console-made.
MAPPINGS: Final[dict[str, type[BaseModel]]] = {"Events": EventsMapping, "Metrics": MetricsMapping}
CHANGED_MEANWHILE: Final = (
    "The ingestion source was changed by another request while this one was being checked "
    "in the warehouse; nothing was stored. Send the request again."
)
GLOB_CHARACTERS: Final = frozenset("*?[]{}")
MAPPING_FIELDS: Final = tuple(
    dict.fromkeys([*EventsMapping.model_fields, *MetricsMapping.model_fields])
)


def check_dataset(dataset: str) -> None:
    if dataset not in MAPPINGS:
        raise InvalidInput.field(
            "dataset",
            f"{dataset} sources cannot be created here; Lockgate ingests Events and Metrics",
        )


def parse_mapping(dataset: str, raw: dict[str, object] | None) -> dict[str, Any]:
    """The column mapping, checked against the dataset's shape; field errors name
    ``column_mapping.<field>``."""
    if raw is None:
        raise InvalidInput.field("column_mapping", "is required")
    try:
        mapping = MAPPINGS[dataset].model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        problem = "is required" if first["type"] == "missing" else first["msg"]
        if first["type"] == "extra_forbidden":
            problem = f"is not a column of the {dataset} mapping"
        raise InvalidInput.field(f"column_mapping.{where}", problem) from None
    parsed = mapping.model_dump(exclude_none=True)
    ratio = "numerator" in parsed and "denominator" in parsed
    if dataset == "Metrics" and "metric_value" not in parsed and not ratio:
        raise InvalidInput.field(
            "column_mapping.metric_value",
            "is required unless both numerator and denominator are mapped",
        )
    if dataset == "Events" and "unit_id" not in parsed and not parsed["ids"]:
        raise InvalidInput.field("column_mapping.ids", "must map at least one unit id column")
    for column in mapped_columns(parsed):
        if not IDENTIFIER.fullmatch(column):
            raise InvalidInput.field(
                "column_mapping",
                f"{column!r} is not a column name: letters, digits and underscores, starting "
                "with a letter or underscore, at most 63 characters",
            )
    return parsed


def mapped_columns(mapping: Mapping[str, Any]) -> list[str]:
    """Every column of the query's result the mapping names, in mapping order."""
    found: list[str] = []
    # A fixed order: PostgreSQL's JSONB does not keep the order keys were written in.
    for key in MAPPING_FIELDS:
        value = mapping.get(key)
        if key in ("ids", "metadata"):
            found.extend(sorted(value or {}))
        elif value:
            found.append(value)
    return found


def clean_query(query: str | None) -> str:
    text = (query or "").strip().rstrip(";").strip()
    if not text:
        raise InvalidInput.field("query", "is required")
    if "\x00" in text:
        raise InvalidInput.field("query", "must not contain NUL characters")
    return text


@dataclass(frozen=True)
class Reads:
    """What a source reads: a query in its warehouse, or (``parquet``) a folder's files."""

    query: str
    path: str | None = None


def clean_path(path: str | None) -> str:
    text = (path or "").strip().strip("/")
    if not text:
        raise InvalidInput.field("path", "is required: the folder of Parquet files to read")
    if "\x00" in text:
        raise InvalidInput.field("path", "must not contain NUL characters")
    if set(text) & GLOB_CHARACTERS:
        # DuckDB reads the folder through a glob pattern: these would widen it.
        raise InvalidInput.field("path", "must not contain the characters * ? [ ] { }")
    return text


def reads_of(source_type: str, query: str | None, path: str | None) -> Reads:
    """The query, or for a ``parquet`` source the folder, that a request gives; the other is
    refused."""
    if source_type in connections.FOLDER_TYPES:
        if query is not None:
            raise InvalidInput.field(
                "query", "a parquet source reads the folder named by path and takes no query"
            )
        return Reads("", clean_path(path))
    if path is not None:
        raise InvalidInput.field("path", "only parquet sources read a folder; give a query")
    return Reads(clean_query(query))


def check_folder(path: str, keys: Keys) -> str:
    """The folder exists, can be read and holds Parquet files; returns DuckDB's query over
    them."""
    where = connections.folder(keys.files_dir, path)
    if not where.exists():
        raise InvalidInput.field(
            "path", f"folder {path!r} does not exist in the server's warehouse files directory"
        )
    if not where.is_dir():
        raise InvalidInput.field("path", f"{path!r} is a file, not a folder")
    if not os.access(where, os.R_OK | os.X_OK):
        raise InvalidInput.field("path", f"folder {path!r} cannot be read by the server")
    if next(where.rglob("*.parquet"), None) is None:
        raise InvalidInput.field(
            "path", f"folder {path!r} holds no Parquet files (*.parquet, in it or below)"
        )
    return connections.parquet_query(keys.files_dir, path)


@dataclass(frozen=True)
class Plan:
    """A source's definition as a request gives it, checked against Lockgate's database; what
    its check in the warehouse needs (an adapter not yet connected, the credentials to scrub),
    read beforehand so that no transaction is held while the warehouse works (None: nothing
    to check); and, for an update, the definition the source had when it was read."""

    reads: Reads
    mapping: dict[str, Any]
    source_type: str
    warehouse: Warehouse | None = None
    secrets: tuple[str, ...] = ()
    seen: tuple[Any, ...] | None = None


def _in_warehouse(
    session: Session,
    project_id: str,
    source_type: str,
    reads: Reads,
    mapping: dict[str, Any],
    keys: Keys,
) -> Plan:
    return Plan(
        reads,
        mapping,
        source_type,
        connections.open_for(session, project_id, source_type, keys),
        tuple(connections.secret_values(session, project_id, source_type, keys)),
    )


def check_in_warehouse(plan: Plan, keys: Keys) -> None:
    """Run the query with ``LIMIT 0`` in the source's warehouse (for a ``parquet`` source,
    DuckDB reads the files' schemas); every mapped column must be among its result's
    columns. Uses no session of Lockgate's database."""
    adapter, reads = plan.warehouse, plan.reads
    if adapter is None:
        return
    query = reads.query if reads.path is None else check_folder(reads.path, keys)
    try:
        with adapter:
            columns = set(
                adapter.fetch(f"SELECT * FROM ({query}) AS lockgate_source LIMIT 0").columns
            )
    except WarehouseError as exc:
        if reads.path is not None:
            raise InvalidInput.field(
                "path", f"the Parquet files of {reads.path!r} cannot be read: {exc}"
            ) from None
        raise InvalidInput.field(
            "query",
            f"failed in the {plan.source_type} warehouse: {scrub(str(exc), plan.secrets)}",
        ) from None
    where = "the query's result" if reads.path is None else "the Parquet files"
    for column in mapped_columns(plan.mapping):
        if column not in columns:
            known = ", ".join(sorted(columns)) or "none"
            raise InvalidInput.field(
                "column_mapping",
                f"column {column!r} is not in {where} (its columns: {known})",
            )


def _refuse_delta_sharing(body: SourceCreate | SourceUpdate) -> None:
    if getattr(body, "use_delta_sharing", None) or body.share or body.schema_ or body.table:
        raise InvalidInput.field(
            "use_delta_sharing", "Delta Sharing is not supported; give a query instead"
        )


def dto(row: IngestionSource, schedule_hour: int) -> dict[str, Any]:
    """``IngestionDto``: the source, its mapping and its dataset's schedule in ``data``; a
    ``parquet`` source shows its ``path`` instead of a query."""
    folder = {"path": row.path} if row.type in connections.FOLDER_TYPES else {}
    return {
        "id": row.id,
        "type": row.type,
        "enabled": row.enabled,
        "data": {
            "name": row.name,
            "dataset": row.dataset,
            "query": None if folder else row.query,
            **folder,
            "columnMappings": row.column_mapping,
            "knownColumns": mapped_columns(row.column_mapping),
            "scheduled_hour_pst": schedule_hour,
            "enabled": row.enabled,
            "creator": row.creator,
            "creation_time": row.created_time,
            "last_modifier": row.last_modifier,
            "last_modified_time": row.updated_time,
            "is_delta_sharing": False,
        },
    }


def source_dto(session: Session, row: IngestionSource) -> dict[str, Any]:
    return dto(row, schedule_hour(session, row.project_id, row.dataset))


def _audit(
    session: Session,
    row: IngestionSource,
    actor: Actor,
    now_ms: int,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    record_audit(
        session,
        project_id=row.project_id,
        actor=actor,
        now_ms=now_ms,
        entity_type="ingestion_source",
        entity_id=row.id,
        name=row.name,
        action_type=f"ingestion_source_{action}",
        change_log=f"{action.capitalize()}d Ingestion Source",
        before=before,
        after=after,
    )


def _shown(row: IngestionSource) -> dict[str, Any]:
    return {
        "type": row.type,
        "dataset": row.dataset,
        "name": row.name,
        "query": row.query,
        "path": row.path,
        "column_mapping": row.column_mapping,
        "enabled": row.enabled,
    }


def plan_create(session: Session, project_id: str, body: SourceCreate, keys: Keys) -> Plan:
    """Every check of a new source but the one in the warehouse; reads only."""
    check_dataset(body.dataset)
    _refuse_delta_sharing(body)
    mapping = parse_mapping(body.dataset, body.column_mapping)
    reads = reads_of(body.type, body.query, body.path)
    if not connections.has_connection(session, project_id, body.type):
        raise connections.not_found(body.type)
    _refuse_taken(session, project_id, body)
    return _in_warehouse(session, project_id, body.type, reads, mapping, keys)


def _refuse_taken(session: Session, project_id: str, body: SourceCreate) -> None:
    if repository.source(session, project_id, body.type, body.dataset, body.source_name):
        raise InvalidInput(f"Ingestion source already exists with name {body.source_name}")


def create(
    session: Session, project_id: str, actor: Actor, now_ms: int, body: SourceCreate, plan: Plan
) -> dict[str, Any]:
    """Store a source planned (``plan_create``) and checked in the warehouse
    (``check_in_warehouse``); its name is checked again, another request may have taken it."""
    _refuse_taken(session, project_id, body)
    who = actor.email or actor.name
    row = IngestionSource(
        id=random_id(),
        project_id=project_id,
        type=body.type,
        dataset=body.dataset,
        name=body.source_name,
        query=plan.reads.query,
        path=plan.reads.path,
        column_mapping=plan.mapping,
        enabled=bool(body.enabled),
        creator=who,
        created_time=now_ms,
        last_modifier=who,
        updated_time=now_ms,
    )
    repository.add(session, row)
    _audit(session, row, actor, now_ms, "create", None, _shown(row))
    return source_dto(session, row)


def find(
    session: Session, project_id: str, source_type: str, dataset: str, name: str | None
) -> IngestionSource:
    """The source a request names by type, dataset and (when there are several) name."""
    if not connections.has_connection(session, project_id, source_type) and not repository.sources(
        session, project_id, source_type, dataset
    ):
        raise connections.not_found(source_type)
    if name is not None:
        row = repository.source(session, project_id, source_type, dataset, name)
        if row is None:
            raise NotFound(f"Ingestion source {name} of type {source_type} not found.")
        return row
    rows = repository.sources(session, project_id, source_type, dataset)
    if not rows:
        raise NotFound(f"No {dataset} ingestion source of type {source_type} exists.")
    if len(rows) > 1:
        raise InvalidInput.field(
            "source_name",
            f"is required: {len(rows)} {dataset} sources of type {source_type} exist",
            location="query",
        )
    return rows[0]


def _definition(row: IngestionSource) -> tuple[Any, ...]:
    return (row.id, row.query, row.path, dict(row.column_mapping))


def plan_update(session: Session, project_id: str, body: SourceUpdate, keys: Keys) -> Plan:
    """Every check of a source's change but the one in the warehouse; reads only."""
    check_dataset(body.dataset)
    _refuse_delta_sharing(body)
    row = find(session, project_id, body.type, body.dataset, body.source_name)
    fields = body.model_fields_set
    sent = bool(fields & {"query", "path"})
    reads = reads_of(row.type, body.query, body.path) if sent else Reads(row.query, row.path)
    mapping = (
        parse_mapping(body.dataset, body.column_mapping)
        if "column_mapping" in fields
        else row.column_mapping
    )
    if reads != Reads(row.query, row.path) or mapping != row.column_mapping:
        plan = _in_warehouse(session, project_id, row.type, reads, mapping, keys)
    else:
        plan = Plan(reads, mapping, row.type)
    return dataclasses.replace(plan, seen=_definition(row))


def update(
    session: Session, project_id: str, actor: Actor, now_ms: int, body: SourceUpdate, plan: Plan
) -> dict[str, Any]:
    """Store a change planned (``plan_update``) and checked in the warehouse; refused when
    another request changed the source's definition meanwhile."""
    row = find(session, project_id, body.type, body.dataset, body.source_name)
    if _definition(row) != plan.seen:
        raise Conflict(CHANGED_MEANWHILE)
    before = _shown(row)
    row.query, row.path, row.column_mapping = plan.reads.query, plan.reads.path, plan.mapping
    if body.enabled is not None:
        row.enabled = body.enabled
    row.last_modifier, row.updated_time = actor.email or actor.name, now_ms
    session.flush()
    _audit(session, row, actor, now_ms, "update", before, _shown(row))
    return source_dto(session, row)


def delete(
    session: Session,
    project_id: str,
    actor: Actor,
    now_ms: int,
    source_type: str,
    dataset: str,
    name: str | None,
) -> dict[str, Any]:
    """Delete the source; the events it loaded stay (their day can no longer be reloaded)."""
    row = find(session, project_id, source_type, dataset, name)
    shown = source_dto(session, row)
    _audit(session, row, actor, now_ms, "delete", _shown(row), None)
    session.delete(row)
    session.flush()
    return shown


def schedule_hour(session: Session, project_id: str, dataset: str) -> int:
    row = session.get(IngestionSchedule, (project_id, dataset))
    return DEFAULT_HOUR_PST if row is None else row.scheduled_hour_pst


def schedule_dto(session: Session, project_id: str, dataset: str) -> dict[str, Any]:
    return {"dataset": dataset, "scheduled_hour_pst": schedule_hour(session, project_id, dataset)}


def set_schedule(
    session: Session, project_id: str, actor: Actor, now_ms: int, body: ScheduleUpdate
) -> dict[str, Any]:
    if body.scheduled_hour_pst != int(body.scheduled_hour_pst):
        raise InvalidInput.field("scheduled_hour_pst", "must be a whole hour from 0 to 23")
    hour = int(body.scheduled_hour_pst)
    row = session.get(IngestionSchedule, (project_id, body.dataset))
    before = schedule_dto(session, project_id, body.dataset)
    if row is None:
        row = IngestionSchedule(
            project_id=project_id,
            dataset=body.dataset,
            scheduled_hour_pst=hour,
            updated_time=now_ms,
        )
        session.add(row)
    else:
        row.scheduled_hour_pst, row.updated_time = hour, now_ms
    session.flush()
    after = schedule_dto(session, project_id, body.dataset)
    record_audit(
        session,
        project_id=project_id,
        actor=actor,
        now_ms=now_ms,
        entity_type="ingestion_schedule",
        entity_id=body.dataset,
        name=body.dataset,
        action_type="ingestion_schedule_update",
        change_log="Updated Ingestion Schedule",
        before=before,
        after=after,
    )
    return after
