"""Queries over the entity tables, one kind at a time (the kind names the table), and the
claims on ids that several kinds share (``entity_names``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    delete,
    func,
    insert,
    literal_column,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from lockgate.domains.entities.kinds import EntityKind
from lockgate.errors import Conflict
from lockgate.kit.sqljson import json_list_overlaps
from lockgate.storage.models import EntityName, EntityReference, Environment, UnitIdType


def find(
    session: Session, kind: EntityKind, project_id: str, entity_id: str, *, lock: bool = False
) -> Any | None:
    model = kind.model
    query = select(model).where(model.project_id == project_id, model.id == entity_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def exists(session: Session, kind: EntityKind, project_id: str, entity_id: str) -> bool:
    model = kind.model
    found = session.scalar(
        select(func.count()).where(model.project_id == project_id, model.id == entity_id)
    )
    return bool(found)


def any_exists(
    session: Session, kinds: Sequence[EntityKind], project_id: str, entity_id: str
) -> bool:
    """Whether a row of any of ``kinds`` has the id: one query over their tables."""
    probes: list[Select[tuple[Any]]] = [
        select(literal_column("1")).where(
            kind.model.project_id == project_id, kind.model.id == entity_id
        )
        for kind in kinds
    ]
    if not probes:
        return False
    query = probes[0] if len(probes) == 1 else union_all(*probes)
    return session.execute(query.limit(1)).first() is not None


def creator_and_tag_conditions(
    session: Session,
    model: Any,
    *,
    creator_name: str | None,
    creator_id: str | None,
    tags: Sequence[str],
) -> list[ColumnElement[bool]]:
    """List filters every entity table answers from its columns; empty ones do not filter."""
    where: list[ColumnElement[bool]] = []
    if creator_name is not None:
        where.append(model.creator_name == creator_name)
    if creator_id is not None:
        where.append(model.creator_id == creator_id)
    if tags:
        dialect = session.get_bind().dialect.name
        where.append(json_list_overlaps(model.tags, tags, dialect))
    return where


# The orders a list can ask for: a column, a leading "-" for descending. Ties fall back to the
# id, so a page boundary never splits rows of equal keys differently between two requests.
SORT_COLUMNS: dict[str, str] = {
    "created": "created_time",
    "name": "name",
    "modified": "last_modified_time",
}
SORTS: tuple[str, ...] = tuple(k for key in SORT_COLUMNS for k in (key, f"-{key}"))


def _order(model: Any, sort: str) -> list[Any]:
    column = getattr(model, SORT_COLUMNS[sort.removeprefix("-")])
    if sort.startswith("-"):
        return [column.desc(), model.id.desc()]
    return [column, model.id]


def list_rows(
    session: Session,
    kind: EntityKind,
    project_id: str,
    conditions: Sequence[ColumnElement[bool]] = (),
    *,
    offset: int = 0,
    limit: int | None = None,
    sort: str = "created",
) -> tuple[Sequence[Any], int]:
    """A page of the project's rows of ``kind`` in ``sort`` order (one of ``SORTS``; creation
    order by default), and how many match."""
    model = kind.model
    where = [model.project_id == project_id, *conditions]
    total = session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    order = _order(model, sort)
    if limit is None:
        return session.scalars(
            select(model).where(*where).order_by(*order).offset(offset)
        ).all(), total
    # Sort the keys alone, then read the page's rows: sorting whole rows would carry every
    # document through the sorter.
    page = select(model.id).where(*where).order_by(*order).offset(offset).limit(limit)
    query = select(model).where(
        model.project_id == project_id, model.id.in_(page.scalar_subquery())
    )
    return session.scalars(query.order_by(*order)).all(), total


def name_matches(
    session: Session, kind: EntityKind, project_id: str, text: str, *, limit: int
) -> tuple[list[tuple[str, str]], int]:
    """``(id, name)`` of the first ``limit`` rows whose name contains ``text`` (any case),
    shortest name first so an exact match leads, and how many match. Only the two columns are
    read: the documents stay on disk."""
    model = kind.model
    where = [
        model.project_id == project_id,
        func.lower(model.name).contains(text.lower(), autoescape=True),
    ]
    total = session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    rows = session.execute(
        select(model.id, model.name)
        .where(*where)
        .order_by(func.length(model.name), model.name, model.id)
        .limit(limit)
    ).all()
    return [(str(i), str(n)) for i, n in rows], int(total)


def add(session: Session, kind: EntityKind, row: Any) -> None:
    """Insert ``row`` and, for a kind sharing its name space, the claim on its id.

    A name checked free by a read can be taken by a concurrent request before this insert
    commits; the primary keys then refuse the second one, here or (on PostgreSQL, where the
    insert waits for the first transaction) when it ends. Either way the caller gets
    ``Conflict``, and the savepoint leaves its transaction usable.
    """
    try:
        with session.begin_nested():
            if kind.namespace is not None:
                session.add(
                    EntityName(
                        project_id=row.project_id,
                        namespace=kind.namespace,
                        entity_id=row.id,
                        entity_type=kind.entity_type,
                    )
                )
            session.add(row)
    except IntegrityError:
        raise Conflict() from None


def remove(session: Session, kind: EntityKind, row: Any) -> None:
    if kind.namespace is not None:
        session.execute(
            delete(EntityName).where(
                EntityName.project_id == row.project_id,
                EntityName.namespace == kind.namespace,
                EntityName.entity_id == row.id,
                EntityName.entity_type == kind.entity_type,
            )
        )
    session.delete(row)
    session.flush()


def environment_names(session: Session, project_id: str) -> list[str]:
    """The project's environment names, in their order."""
    return list(
        session.scalars(
            select(Environment.name)
            .where(Environment.project_id == project_id)
            .order_by(Environment.position, Environment.id)
        )
    )


def unit_id_type_names(session: Session, project_id: str) -> list[str]:
    """The project's custom unit id type names."""
    return list(session.scalars(select(UnitIdType.name).where(UnitIdType.project_id == project_id)))


def replace_edges(
    session: Session,
    project_id: str,
    entity_type: str,
    entity_id: str,
    removed: set[tuple[str, str]],
    added: set[tuple[str, str]],
) -> None:
    """Drop ``removed`` and add ``added`` to an entity's reference edges."""
    source = (
        EntityReference.project_id == project_id,
        EntityReference.entity_type == entity_type,
        EntityReference.entity_id == entity_id,
    )
    if removed:
        session.execute(
            delete(EntityReference).where(
                *source,
                tuple_(EntityReference.target_type, EntityReference.target_id).in_(sorted(removed)),
            )
        )
    if added:
        session.execute(
            insert(EntityReference),
            [
                {
                    "project_id": project_id,
                    "entity_type": entity_type,
                    "entity_id": entity_id,
                    "target_type": target_type,
                    "target_id": target_id,
                }
                for target_type, target_id in sorted(added)
            ],
        )


def delete_edges(session: Session, project_id: str, entity_type: str, entity_id: str) -> None:
    session.execute(
        delete(EntityReference).where(
            EntityReference.project_id == project_id,
            EntityReference.entity_type == entity_type,
            EntityReference.entity_id == entity_id,
        )
    )


def reachable_edges(
    session: Session, project_id: str, kind: str, start: Iterable[str], without: str
) -> list[tuple[str, str]]:
    """Every (source, target) edge between entities of ``kind`` that a walk from ``start``
    reaches, not walking out of ``without``: one recursive query, whose ``UNION`` ends the
    walk at edges already found."""
    first = sorted(set(start) - {without})
    if not first:
        return []
    ref = EntityReference
    same_kind = (ref.project_id == project_id, ref.entity_type == kind, ref.target_type == kind)
    walk = (
        select(ref.entity_id.label("source"), ref.target_id.label("target"))
        .where(*same_kind, ref.entity_id.in_(first))
        .cte("walk", recursive=True)
    )
    step = aliased(EntityReference)
    walk = walk.union(
        select(step.entity_id, step.target_id)
        .join(walk, step.entity_id == walk.c.target)
        .where(
            step.project_id == project_id,
            step.entity_type == kind,
            step.target_type == kind,
            step.entity_id != without,
        )
    )
    rows = session.execute(select(walk.c.source, walk.c.target))
    return [(row.source, row.target) for row in rows]


def referrers(
    session: Session,
    project_id: str,
    target_type: str,
    target_id: str,
    source_types: Sequence[str],
) -> list[tuple[str, str]]:
    rows = session.execute(
        select(EntityReference.entity_type, EntityReference.entity_id)
        .where(
            EntityReference.project_id == project_id,
            EntityReference.target_type == target_type,
            EntityReference.target_id == target_id,
            EntityReference.entity_type.in_(source_types),
        )
        .order_by(EntityReference.entity_type, EntityReference.entity_id)
    )
    return [(row.entity_type, row.entity_id) for row in rows]
