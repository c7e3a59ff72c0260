"""Warehouse-native source definitions (docs/warehouse.md §Sources): assignment sources,
entity property sources, qualifying events and metric sources.

A source is a query (or, for metric sources and qualifying events, a table) in the team's
warehouse and the columns Lockgate reads from it. Creating one or changing its query runs the
query in the warehouse, with its date macros expanded, as ``SELECT * FROM (<query>) LIMIT 0``:
the warehouse parses and plans it, no rows are read, and every column the definition names
must be among the columns it answers. The user's SQL is embedded as a subquery, never
rewritten. ``PATCH`` cannot change the query, so it checks the columns against the ones the
query answered when it was last validated, without calling the warehouse. ``dryRun`` checks
everything and stores nothing.

A create or query change runs in three steps, so that the warehouse's answer is awaited outside
any transaction of Lockgate's database: ``plan_create``/``plan_replace`` read and check what
needs no warehouse, ``columns_in_warehouse`` asks the warehouse, and ``create``/``replace_query``
store, refusing a source that another request changed meanwhile.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lockgate.domains.audit.service import record_audit
from lockgate.domains.warehouse.adapters import Warehouse, WarehouseError
from lockgate.domains.warehouse.dialects import SqlDialect
from lockgate.domains.warehouse.source_schemas import (
    AssignmentSourceFields,
    EntityPropertySourceFields,
    MetricSourceFields,
)
from lockgate.domains.warehouse.usage import StoredSource, metrics_on, refuse_if_used
from lockgate.errors import Conflict, InvalidInput, NotFound
from lockgate.kit.actor import Actor
from lockgate.storage.models import UnitIdType, WarehouseSource
from lockgate.storage.models.core import BUILT_IN_ID_TYPES

# A name travels in the URL path: no slash, no control characters, no surrounding blanks.
_NAME = re.compile(r"^[^/\x00-\x1f\x7f]+$")
# A table source's table: one to three dotted identifiers, optionally quoted by the warehouse.
_TABLE = re.compile(
    r'^(?:[A-Za-z_][\w$-]*|"[^"]+"|`[^`]+`)(?:\.(?:[A-Za-z_][\w$-]*|"[^"]+"|`[^`]+`)){0,2}$'
)
_FIELD_KEY = re.compile(r"^[A-Za-z_]\w{0,127}$")
# What Statsig answers for fields that describe the request, never the source.
_REQUEST_ONLY = ("dryRun",)
NO_WAREHOUSE = (
    "This project has no warehouse connection to validate the source in; "
    "set one with PATCH /console/v1/wh_connections."
)


@dataclass(frozen=True)
class SourceKind:
    """One family of sources: its wire model, what each operation requires, the columns its
    definition names, and its messages."""

    kind: str
    label: str  # as in messages: "Assignment Source"
    entity_type: str  # in the audit log
    model: type[BaseModel]
    required_on_create: tuple[str, ...]
    required_on_replace: tuple[str, ...]
    column_fields: tuple[str, ...]
    answered_defaults: dict[str, Any]  # fields every answer has
    renamable: bool

    @property
    def not_found(self) -> str:
        return f"{self.label} not found."


ASSIGNMENT = SourceKind(
    kind="assignment",
    label="Assignment source",
    entity_type="assignment_source",
    model=AssignmentSourceFields,
    required_on_create=(
        "name", "sql", "timestampColumn", "experimentIDColumn", "groupIDColumn", "idTypeMapping",
    ),
    required_on_replace=(
        "sql", "timestampColumn", "experimentIDColumn", "groupIDColumn", "idTypeMapping",
    ),
    column_fields=("timestampColumn", "experimentIDColumn", "groupIDColumn"),
    answered_defaults={"description": "", "tags": []},
    renamable=True,
)  # fmt: skip
ENTITY_PROPERTY = SourceKind(
    kind="entity_property",
    label="Entity property source",
    entity_type="entity_property_source",
    model=EntityPropertySourceFields,
    required_on_create=("name", "sql", "idTypeMapping"),
    required_on_replace=("sql", "idTypeMapping"),
    column_fields=("timestampColumn",),
    answered_defaults={"description": "", "tags": []},
    renamable=True,
)
QUALIFYING_EVENT = SourceKind(
    kind="qualifying_event",
    label="Qualifying event",
    entity_type="qualifying_event",
    model=MetricSourceFields,
    required_on_create=("name", "timestampColumn", "idTypeMapping"),
    required_on_replace=("timestampColumn", "idTypeMapping"),
    column_fields=("timestampColumn", "datePartitionColumn"),
    answered_defaults={"description": "", "tags": []},
    renamable=False,
)
METRIC = SourceKind(
    kind="metric",
    label="Metric source",
    entity_type="metric_source",
    model=MetricSourceFields,
    required_on_create=QUALIFYING_EVENT.required_on_create,
    required_on_replace=QUALIFYING_EVENT.required_on_replace,
    column_fields=QUALIFYING_EVENT.column_fields,
    answered_defaults={"description": "", "tags": []},
    renamable=False,
)
KINDS = {k.kind: k for k in (ASSIGNMENT, ENTITY_PROPERTY, QUALIFYING_EVENT, METRIC)}

# Opens the project's warehouse (not yet connected); raises when the project has none.
OpenWarehouse = Callable[[], Warehouse]
CHANGED_MEANWHILE = (
    "The {label} was changed by another request while this one was being checked in the "
    "warehouse; nothing was stored. Send the request again."
)


@dataclass(frozen=True)
class Planned:
    """A source checked in all but the warehouse, not yet stored: its document, the
    warehouse to ask (not yet connected), and for a query change what was stored when it was
    read (``seen``), so that storing it can tell whether another request changed it since."""

    kind: SourceKind
    document: dict[str, Any]
    sent: dict[str, Any]
    warehouse: Warehouse
    today: dt.date
    seen: tuple[Any, ...] | None = None


def _sent(body: BaseModel) -> dict[str, Any]:
    """The body's fields as sent, by wire name (``None`` where the client sent null)."""
    return body.model_dump(by_alias=True, exclude_unset=True)


def _require(kind: SourceKind, document: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        value = document.get(name)
        if name == "sql" and _is_table(document):
            continue  # a table source's query is the table's
        if value is None or value == "" or value == []:
            raise InvalidInput.field(name, f"is required for a {kind.label.lower()}")


def _is_table(document: dict[str, Any]) -> bool:
    return document.get("sourceType") == "table"


def _check_shape(session: Session, project_id: str, kind: SourceKind, doc: dict[str, Any]) -> None:
    """Everything about a definition that needs no warehouse."""
    name = doc["name"]
    if name != name.strip() or not _NAME.match(name):
        raise InvalidInput.field(
            "name", "must not contain '/' or control characters, nor start or end with a blank"
        )
    mapping = doc.get("idTypeMapping") or []
    units = [m["statsigUnitID"] for m in mapping]
    if len({u.lower() for u in units}) != len(units):
        raise InvalidInput.field("idTypeMapping", "names a unit id type more than once")
    _check_unit_types(session, project_id, units)
    if kind.model is MetricSourceFields:
        if _is_table(doc):
            table = doc.get("tableName")
            if not table:
                raise InvalidInput.field("tableName", "is required when sourceType is 'table'")
            if not _TABLE.match(table):
                raise InvalidInput.field(
                    "tableName", "must be a table name: one to three dotted identifiers"
                )
            doc["sql"] = f"SELECT * FROM {table}"
        elif not doc.get("sql"):
            raise InvalidInput.field("sql", "is required when sourceType is not 'table'")
        for index, field in enumerate(doc.get("customFieldMapping") or []):
            if (field["key"] or field["formula"]) and not _FIELD_KEY.match(field["key"]):
                raise InvalidInput.field(
                    f"customFieldMapping[{index}].key",
                    "must be a column name (letters, digits and underscores, not first a digit)",
                )
            if field["key"] and not field["formula"].strip():
                raise InvalidInput.field(f"customFieldMapping[{index}].formula", "is required")


def _check_unit_types(session: Session, project_id: str, units: list[str]) -> None:
    """Every unit type must be built in or one the project defined (any case)."""
    known = {t.lower() for t in BUILT_IN_ID_TYPES}
    known |= {
        name.lower()
        for name in session.scalars(
            select(UnitIdType.name).where(UnitIdType.project_id == project_id)
        )
    }
    for unit in units:
        if unit.lower() not in known:
            raise InvalidInput.field(
                "idTypeMapping",
                f"unknown unit id type {unit!r}: use userID, stableID or a type created "
                "with POST /console/v1/unit_id_types",
            )


def expand_macros(sql: str, dialect: SqlDialect, start: dt.date, end: dt.date) -> str:
    """The query with Statsig's date macros replaced by literals of ``start`` to ``end``
    (docs/warehouse.md §Sources); an experiment's start outside an experiment is the epoch."""
    values = {
        "statsig_start_date": dialect.date_literal(start),
        "statsig_end_date": dialect.date_literal(end),
        "statsig_start_date_int": start.strftime("%Y%m%d"),
        "statsig_end_date_int": end.strftime("%Y%m%d"),
        "statsig_experiment_start_timestamp": dialect.date_literal(dt.date(1970, 1, 1)),
    }
    for name, literal in values.items():
        sql = sql.replace("{" + name + "}", literal)
    return sql


def source_query(
    document: dict[str, Any], dialect: SqlDialect, today: dt.date, start: dt.date | None = None
) -> str:
    """The source's rows as one query: its SQL (macros over ``start`` to ``today``, by default
    the last day) with the custom fields added as columns."""
    since = start if start is not None else today - dt.timedelta(days=1)
    sql = expand_macros(document["sql"], dialect, since, today)
    fields = [f for f in document.get("customFieldMapping") or [] if f["key"]]
    if not fields:
        return sql
    added = ", ".join(f"({f['formula']}) AS {dialect.quote(f['key'])}" for f in fields)
    return f"SELECT lockgate_source.*, {added} FROM ({sql}) lockgate_source"


def _warehouse(open_warehouse: OpenWarehouse) -> Warehouse:
    try:
        return open_warehouse()
    except NotFound:
        raise InvalidInput.because(NO_WAREHOUSE) from None


def columns_in_warehouse(plan: Planned) -> list[str]:
    """The columns the planned source's query answers, asked of the warehouse without reading
    a row, checked against the columns its definition names. It may take as long as the
    warehouse does: the caller holds no transaction of Lockgate's database meanwhile."""
    query = source_query(plan.document, plan.warehouse.dialect, plan.today)
    try:
        with plan.warehouse:
            rows = plan.warehouse.fetch(
                f"SELECT * FROM ({query}) lockgate_source LIMIT 0", max_rows=0
            )
    except WarehouseError as exc:
        raise InvalidInput.field("sql", f"the warehouse refused the query: {exc}") from None
    columns = list(rows.columns)
    _check_columns(plan.kind, plan.document, columns)
    return columns


def _check_columns(kind: SourceKind, document: dict[str, Any], columns: list[str]) -> None:
    """Every column the definition names must be one the query answers (any case)."""
    known = {c.lower() for c in columns}
    named: list[tuple[str, str]] = [
        (field, document[field]) for field in kind.column_fields if document.get(field)
    ]
    named += [
        (f"idTypeMapping[{i}].column", m["column"])
        for i, m in enumerate(document.get("idTypeMapping") or [])
    ]
    for field, column in named:
        if column.lower() not in known:
            shown = ", ".join(columns) if columns else "none"
            raise InvalidInput.field(
                field, f"column {column!r} is not among the query's columns ({shown})"
            )


def _answer(kind: SourceKind, document: dict[str, Any]) -> dict[str, Any]:
    return {**kind.answered_defaults, **document}


def _stored_document(kind: SourceKind, sent: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sent.items() if k not in _REQUEST_ONLY and v is not None}


def _load(
    session: Session, project_id: str, kind: SourceKind, name: str, *, lock: bool = False
) -> WarehouseSource:
    query = select(WarehouseSource).where(
        WarehouseSource.project_id == project_id,
        WarehouseSource.kind == kind.kind,
        WarehouseSource.name == name,
    )
    if lock:
        query = query.with_for_update()
    row = session.scalars(query).first()
    if row is None:
        raise NotFound(kind.not_found)
    return row


def _check_name_free(session: Session, project_id: str, kind: SourceKind, name: str) -> None:
    taken = session.scalar(
        select(WarehouseSource.name).where(
            WarehouseSource.project_id == project_id,
            WarehouseSource.kind == kind.kind,
            func.lower(WarehouseSource.name) == name.lower(),
        )
    )
    if taken is not None:
        raise Conflict(f"{kind.label} already exists with name {taken}.")


def stored(session: Session, project_id: str, kind: SourceKind, name: str) -> StoredSource | None:
    """The source of ``kind`` named ``name`` (exactly), or None."""
    try:
        row = _load(session, project_id, kind, name)
    except NotFound:
        return None
    return StoredSource(row.name, dict(row.document), list(row.columns or []))


def list_(
    session: Session, project_id: str, kind: SourceKind, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    where = (WarehouseSource.project_id == project_id, WarehouseSource.kind == kind.kind)
    total = session.scalar(select(func.count()).select_from(WarehouseSource).where(*where)) or 0
    rows = session.scalars(
        select(WarehouseSource)
        .where(*where)
        .order_by(WarehouseSource.name)
        .offset(offset)
        .limit(limit)
    )
    return [_answer(kind, row.document) for row in rows], int(total)


def read(session: Session, project_id: str, kind: SourceKind, name: str) -> dict[str, Any]:
    return _answer(kind, _load(session, project_id, kind, name).document)


def plan_create(
    session: Session,
    project_id: str,
    now_ms: int,
    kind: SourceKind,
    body: BaseModel,
    open_warehouse: OpenWarehouse,
) -> Planned:
    """Check a new source in all but the warehouse; reads only."""
    sent = _sent(body)
    document = _stored_document(kind, sent)
    _require(kind, document, kind.required_on_create)
    _check_shape(session, project_id, kind, document)
    _check_name_free(session, project_id, kind, document["name"])
    return Planned(kind, document, sent, _warehouse(open_warehouse), _today(now_ms))


def create(
    session: Session,
    project_id: str,
    actor: Actor,
    now_ms: int,
    plan: Planned,
    columns: list[str],
) -> dict[str, Any]:
    """Store a source planned and checked in the warehouse (unless ``dryRun``), checking again
    what another request may have changed meanwhile (its name, the unit id types)."""
    kind, document = plan.kind, plan.document
    _check_shape(session, project_id, kind, document)
    _check_name_free(session, project_id, kind, document["name"])
    if plan.sent.get("dryRun"):
        return _answer(kind, document)
    row = WarehouseSource(
        project_id=project_id,
        kind=kind.kind,
        name=document["name"],
        document=document,
        columns=columns,
        created_time=now_ms,
        updated_time=now_ms,
    )
    session.add(row)
    session.flush()
    _audit(session, row, kind, actor, now_ms, "create", None, _answer(kind, document))
    return _answer(kind, document)


def _seen(row: WarehouseSource) -> tuple[Any, ...]:
    return (row.name, dict(row.document), list(row.columns or []), row.updated_time)


def plan_replace(
    session: Session,
    project_id: str,
    now_ms: int,
    kind: SourceKind,
    name: str,
    body: BaseModel,
    open_warehouse: OpenWarehouse,
) -> Planned:
    """``POST /{name}``: a new query and its columns (the required fields), other fields sent
    replacing the stored ones, checked in all but the warehouse; reads only."""
    row = _load(session, project_id, kind, name)
    sent = _sent(body)
    _require(kind, _stored_document(kind, sent), kind.required_on_replace)
    document = _merged(kind, row, sent)
    _check_shape(session, project_id, kind, document)
    warehouse = _warehouse(open_warehouse)
    return Planned(kind, document, sent, warehouse, _today(now_ms), _seen(row))


def replace_query(
    session: Session,
    project_id: str,
    actor: Actor,
    now_ms: int,
    name: str,
    plan: Planned,
    columns: list[str],
) -> dict[str, Any]:
    """Store a query change planned and checked in the warehouse, unless another request
    changed the source meanwhile (then nothing is stored: the request is to be sent again)."""
    kind = plan.kind
    row = _load(session, project_id, kind, name, lock=True)
    if _seen(row) != plan.seen:
        raise Conflict(CHANGED_MEANWHILE.format(label=kind.label.lower()))
    _check_shape(session, project_id, kind, plan.document)
    return _store(session, row, kind, actor, now_ms, plan.document, columns, plan.sent)


def patch(
    session: Session,
    project_id: str,
    actor: Actor,
    now_ms: int,
    kind: SourceKind,
    name: str,
    body: BaseModel,
) -> dict[str, Any]:
    """``PATCH /{name}``: any field but the query; the columns it names are checked against
    those the stored query answered when it was validated."""
    row = _load(session, project_id, kind, name, lock=True)
    sent = _sent(body)
    if "sql" in sent:
        raise InvalidInput.field(
            "sql",
            "cannot change with PATCH; send the new query with POST to the same path",
        )
    document = _merged(kind, row, sent)
    _check_shape(session, project_id, kind, document)
    _check_columns(kind, document, list(row.columns))
    return _store(session, row, kind, actor, now_ms, document, list(row.columns), sent)


def delete(
    session: Session, project_id: str, actor: Actor, now_ms: int, kind: SourceKind, name: str
) -> None:
    row = _load(session, project_id, kind, name, lock=True)
    refuse_if_used(session, project_id, kind.kind, kind.label, row.name, "deleted")
    before = _answer(kind, row.document)
    session.delete(row)
    session.flush()
    _audit(session, row, kind, actor, now_ms, "delete", before, None)


def metrics_of(
    session: Session, project_id: str, name: str, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """The metrics defined on a metric source (``warehouseNative.metricSourceName``, a
    ``denominatorMetricSourceName`` or a funnel step's ``metricSourceName``)."""
    _load(session, project_id, METRIC, name)
    found = metrics_on(session, project_id, name)
    return found[offset : offset + limit], len(found)


def _merged(kind: SourceKind, row: WarehouseSource, sent: dict[str, Any]) -> dict[str, Any]:
    """The stored document with the sent fields over it (a field sent as null is removed)."""
    document = dict(row.document)
    for key, value in sent.items():
        if key in _REQUEST_ONLY:
            continue
        if value is None:
            document.pop(key, None)
        else:
            document[key] = value
    if document.get("name") != row.name and not kind.renamable:
        raise InvalidInput.field("name", f"a {kind.label.lower()}'s name cannot change")
    if not document.get("name"):
        document["name"] = row.name
    return document


def _store(
    session: Session,
    row: WarehouseSource,
    kind: SourceKind,
    actor: Actor,
    now_ms: int,
    document: dict[str, Any],
    columns: list[str],
    sent: dict[str, Any],
) -> dict[str, Any]:
    if sent.get("dryRun"):
        return _answer(kind, document)
    before = _answer(kind, row.document)
    if document["name"] != row.name:
        _check_name_free(session, row.project_id, kind, document["name"])
        refuse_if_used(session, row.project_id, kind.kind, kind.label, row.name, "renamed")
        session.delete(row)
        session.flush()
        row = WarehouseSource(
            project_id=row.project_id,
            kind=kind.kind,
            name=document["name"],
            created_time=row.created_time,
        )
        session.add(row)
    row.document = document
    row.columns = columns
    row.updated_time = now_ms
    session.flush()
    _audit(session, row, kind, actor, now_ms, "update", before, _answer(kind, document))
    return _answer(kind, document)


def _today(now_ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(now_ms / 1000, tz=dt.UTC).date()


def _audit(
    session: Session,
    row: WarehouseSource,
    kind: SourceKind,
    actor: Actor,
    now_ms: int,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    verb = {"create": "Created", "update": "Updated", "delete": "Deleted"}[action]
    record_audit(
        session,
        project_id=row.project_id,
        actor=actor,
        now_ms=now_ms,
        entity_type=kind.entity_type,
        entity_id=row.name,
        name=row.name,
        action_type=f"{kind.entity_type}_{action}",
        change_log=f"{verb} {kind.label}",
        before=before,
        after=after,
    )
